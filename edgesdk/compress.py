"""Compress a tf_keras classifier: distillation, pruning, clustering, quantization-aware training.

``compress(model, data, output, prune=..., cluster=..., qat=..., distill_from=...)``
runs the requested methods in a fixed order, each fine-tuned on the training part of
``data`` (the same seeded, stratified split ``edgesdk train`` uses, so the held-out
samples stay held out):

1. **distill** (``distill_from=TEACHER``): the student -- ``model`` itself, or a fresh
   ``arch`` (``alpha`` width) with ``model``'s input shape -- learns from the teacher's
   soft targets at ``temperature`` mixed with the hard labels
   (``loss = distill_alpha * CE(y, s) + (1 - distill_alpha) * T^2 * KL(t_T || s_T)``).
   The teacher is only run for inference, so it may be a tf_keras or a Keras 3 model.
2. **prune** (``prune=SPARSITY``): TF-MOT magnitude pruning of every conv / dense
   kernel, polynomial decay to the target at two thirds of the fine-tuning steps, then
   ``strip_pruning``.
3. **cluster** (``cluster=N``): TF-MOT weight clustering to ``N`` centroids per kernel
   (sparsity-preserving after pruning), then ``strip_clustering``.
4. **qat**: TF-MOT quantization-aware training (pruning-preserving after pruning).
   A QAT model is saved as ``.h5`` only and must be loaded inside
   ``tfmot.quantization.keras.quantize_scope()`` -- :func:`load_model` does that -- before
   ``tf.lite.TFLiteConverter.from_keras_model`` with ``optimizations=[DEFAULT]`` and a
   representative dataset converts it to int8.

``--cluster`` with ``--qat`` is refused: TF-MOT's cluster-preserving QAT model does not
reload from a saved file. Every method needs a tf_keras model (TF-MOT accepts nothing
else); a Keras 3 model is refused with a :class:`ConfigError` naming what works instead.

Accuracy before and after (on the held-out split), file and gzip sizes (model file and
its float TFLite conversion), sparsity and unique values per kernel go into a
:class:`CompressResult` and ``<stem>.compress.json`` beside the output.
"""

from __future__ import annotations

import gzip
import math
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from . import architectures
from ._tf import tf, tf_keras
from .errors import ConfigError, ConversionError, DataError, ModelLoadError
from .models import is_keras3, keras_version, load_keras3, load_tf_keras
from .train import (
    H5_SUFFIXES,
    MODEL_SUFFIXES,
    EpochLog,
    LabeledData,
    check_learning_rate,
    check_output,
    check_positive_int,
    check_val_split,
    load_labeled,
    make_dataset,
    progress_callback,
    read_class_names,
    read_model_info,
    save_model,
    sidecar_path,
    stratified_split,
    write_json,
)
from .train import _jsonable as jsonable

#: Fine-tuning epochs / learning rate per method when not given.
DEFAULT_EPOCHS = 3
DEFAULT_DISTILL_EPOCHS = 10
DEFAULT_LEARNING_RATE = 1e-4
DEFAULT_DISTILL_LEARNING_RATE = 1e-3
DEFAULT_TEMPERATURE = 4.0
DEFAULT_DISTILL_ALPHA = 0.1

_KERAS3_FIX = (
    "Post-training quantization works for every model: edgesdk package MODEL "
    "--quantize dynamic|float16|int8 (or auto with --eval-data). To prune, cluster, run "
    "QAT or distill into it, retrain it with edgesdk train, which saves a tf_keras model"
)


class Method(str, Enum):
    """A compression method, in the order the pipeline applies them."""

    distill = "distill"
    prune = "prune"
    cluster = "cluster"
    qat = "qat"


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class CompressConfig:
    """Which methods to apply and how to fine-tune (validated at construction)."""

    prune: float | None = None
    cluster: int | None = None
    qat: bool = False
    distill_from: str | None = None
    arch: str | None = None
    alpha: float | None = None
    temperature: float | None = None
    distill_alpha: float | None = None
    epochs: int | None = None
    batch_size: int = 32
    learning_rate: float | None = None
    val_split: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.prune is not None and not (0.0 <= self.prune < 1.0):
            raise ConfigError(
                "the pruning sparsity must be a fraction in [0, 1)",
                received=f"prune={self.prune}",
                supported="--prune 0.5 removes half of every kernel's weights; 0 <= SPARSITY < 1",
                fix="Pass e.g. --prune 0.5",
            )
        if self.cluster is not None and (int(self.cluster) != self.cluster or self.cluster < 2):
            raise ConfigError(
                "weight clustering needs at least 2 clusters",
                received=f"cluster={self.cluster}",
                supported="--cluster N with an integer N >= 2 (e.g. 8, 16 or 32)",
                fix="Pass e.g. --cluster 16",
            )
        if not self.methods:
            raise ConfigError(
                "no compression method was chosen",
                received="none of --prune, --cluster, --qat, --distill-from",
                supported="--prune SPARSITY, --cluster N, --qat, --distill-from TEACHER, "
                "and the combinations listed in edgesdk compress --help",
                fix="Pass at least one of them",
            )
        if self.cluster is not None and self.qat:
            raise ConfigError(
                "--cluster cannot be combined with --qat",
                received=f"cluster={self.cluster}, qat=True",
                supported="--qat alone, with --prune, and/or with --distill-from; --cluster "
                "alone, with --prune, and/or with --distill-from. TF-MOT's cluster-preserving "
                "QAT model cannot be saved and reloaded for conversion",
                fix="Cluster without --qat, then quantize after training: edgesdk package "
                "MODEL --quantize int8 keeps at most N distinct values per kernel",
            )
        distill_only = {
            "arch": self.arch,
            "alpha": self.alpha,
            "temperature": self.temperature,
            "distill_alpha": self.distill_alpha,
        }
        given = [k for k, v in distill_only.items() if v is not None]
        if self.distill_from is None and given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise ConfigError(
                f"{flags} apply only to distillation",
                received=", ".join(f"{k}={distill_only[k]!r}" for k in given),
                supported="--arch, --alpha, --temperature and --distill-alpha together with "
                "--distill-from TEACHER",
                fix="Add --distill-from TEACHER, or drop those options",
            )
        if self.alpha is not None and self.arch is None:
            raise ConfigError(
                "--alpha sets the width of a fresh student and needs --arch",
                received=f"alpha={self.alpha}",
                supported="--distill-from TEACHER --arch small_cnn --alpha 0.25",
                fix="Add --arch, or drop --alpha to distill into MODEL as it is",
            )
        if self.arch is not None:
            architectures.get(self.arch)
        if self.alpha is not None and not (math.isfinite(self.alpha) and self.alpha > 0):
            raise ConfigError(
                "the width multiplier must be positive",
                received=f"alpha={self.alpha}",
                supported="--alpha > 0",
                fix="Pass e.g. --alpha 0.25",
            )
        if self.temperature is not None and not (
            math.isfinite(self.temperature) and self.temperature > 0
        ):
            raise ConfigError(
                "the distillation temperature must be positive",
                received=f"temperature={self.temperature}",
                supported="--temperature > 0 (typically 2 to 10)",
                fix="Pass e.g. --temperature 4",
            )
        if self.distill_alpha is not None and not (0.0 <= self.distill_alpha <= 1.0):
            raise ConfigError(
                "the hard-label weight must be in [0, 1]",
                received=f"distill_alpha={self.distill_alpha}",
                supported="--distill-alpha between 0 (teacher only) and 1 (labels only)",
                fix="Pass e.g. --distill-alpha 0.1",
            )
        if self.epochs is not None:
            check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        if self.learning_rate is not None:
            check_learning_rate(self.learning_rate)
        check_val_split(self.val_split)

    @property
    def methods(self) -> tuple[Method, ...]:
        """The chosen methods in pipeline order."""
        chosen = {
            Method.distill: self.distill_from is not None,
            Method.prune: self.prune is not None,
            Method.cluster: self.cluster is not None,
            Method.qat: self.qat,
        }
        return tuple(m for m in Method if chosen[m])

    def epochs_for(self, method: Method) -> int:
        if self.epochs is not None:
            return self.epochs
        return DEFAULT_DISTILL_EPOCHS if method is Method.distill else DEFAULT_EPOCHS

    def learning_rate_for(self, method: Method) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        if method is Method.distill:
            return DEFAULT_DISTILL_LEARNING_RATE
        return DEFAULT_LEARNING_RATE

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["methods"] = [m.value for m in self.methods]
        if self.distill_from is not None:
            d["temperature"] = self.temperature or DEFAULT_TEMPERATURE
            d["distill_alpha"] = (
                DEFAULT_DISTILL_ALPHA if self.distill_alpha is None else self.distill_alpha
            )
        return d


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class KernelStats:
    """One kernel (conv / dense weight matrix): size, fraction of zeros, distinct values."""

    name: str
    size: int
    sparsity: float
    unique: int


@dataclass(frozen=True)
class ModelStats:
    """Accuracy on the held-out split, sizes and weight statistics of one model."""

    accuracy: float
    loss: float
    params: int
    #: The model saved in the output's format (``.h5`` / ``.keras``), and gzipped.
    file_bytes: int
    file_gzip_bytes: int
    #: Its float TFLite conversion (``TFLiteConverter.from_keras_model``), and gzipped.
    tflite_bytes: int
    tflite_gzip_bytes: int
    #: Fraction of exact zeros over all kernels.
    sparsity: float
    kernels: tuple[KernelStats, ...] = ()

    @property
    def unique_weights(self) -> dict[str, int]:
        """Distinct values per kernel."""
        return {k.name: k.unique for k in self.kernels}

    @property
    def max_unique_weights(self) -> int:
        return max((k.unique for k in self.kernels), default=0)


@dataclass(frozen=True)
class CompressResult:
    """What :func:`compress` produced."""

    model_path: Path
    methods: tuple[str, ...]
    class_names: tuple[str, ...]
    before: ModelStats
    after: ModelStats
    #: The teacher's accuracy on the held-out split (distillation only).
    teacher_accuracy: float | None
    seconds: float
    num_train: int
    num_val: int
    report_path: Path
    #: Per method, the per-epoch fine-tuning history.
    history: Mapping[str, Mapping[str, tuple[float, ...]]] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def accuracy_before(self) -> float:
        return self.before.accuracy

    @property
    def accuracy_after(self) -> float:
        return self.after.accuracy

    @property
    def sparsity(self) -> float:
        return self.after.sparsity

    @property
    def unique_weights(self) -> dict[str, int]:
        return self.after.unique_weights

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with a few headline numbers at the top level."""
        d: dict[str, Any] = jsonable(asdict(self))
        d["accuracy_before"] = self.before.accuracy
        d["accuracy_after"] = self.after.accuracy
        d["accuracy_drop"] = self.before.accuracy - self.after.accuracy
        d["sparsity"] = self.after.sparsity
        d["unique_weights"] = self.after.unique_weights
        d["max_unique_weights"] = self.after.max_unique_weights
        return d


# --------------------------------------------------------------------------- loading


def _require_file(path: str | Path, role: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(
            f"the {role} {p} does not exist",
            received=str(path),
            supported="a Keras model: .h5, .keras or a SavedModel folder",
            fix="Check the path",
        )
    if p.is_file() and p.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelLoadError(
            f"the {role} {p} is not a Keras model file",
            received=p.name,
            supported="a Keras model: .h5, .keras or a SavedModel folder",
            fix="Pass the Keras model (a .tflite cannot be fine-tuned)",
        )
    return p


def check_tf_keras_model(path: str | Path, *, role: str = "model") -> Path:
    """Refuse missing files and Keras 3 models (TF-MOT accepts tf_keras models only)."""
    p = _require_file(path, role)
    version = keras_version(p)
    if is_keras3(version):
        raise ConfigError(
            f"the {role} {p} was saved by Keras {version}; pruning, clustering, QAT and "
            "distillation fine-tune it with TF-MOT (tensorflow-model-optimization), which "
            "accepts only tf_keras (Keras 2) models",
            received=f"{p.name} with keras_version {version}",
            supported="models saved by tf_keras, such as the ones edgesdk train writes",
            fix=_KERAS3_FIX,
        )
    return p


def load_model(path: str | Path, *, trust_model: bool = False) -> Any:
    """Load a tf_keras model edgesdk (or anyone) saved, including QAT models.

    QAT models contain TF-MOT layers that only load inside
    ``tfmot.quantization.keras.quantize_scope()``; :func:`edgesdk.models.load_tf_keras`
    handles that. Models load uncompiled. Keras 3 files are refused with a
    :class:`ConfigError`.
    """
    p = check_tf_keras_model(path)
    try:
        return load_tf_keras(p, trust_model=trust_model)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(
            f"tf_keras could not load {p}",
            received=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
            supported="Keras models saved by tf_keras (.h5, .keras, SavedModel)",
            fix="Re-save the model with tf_keras, or retrain it with edgesdk train",
        ) from None


def _load_teacher(path: Path, trust_model: bool = False) -> Any:
    """The teacher is only run for inference: tf_keras or Keras 3 both work."""
    if is_keras3(keras_version(path)):
        try:
            return load_keras3(path, trust_model=trust_model)
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"Keras 3 could not load the teacher {path}",
                received=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
                fix="Check the file",
            ) from None
    return load_model(path, trust_model=trust_model)


# --------------------------------------------------------------------------- statistics


_KERNEL_NAMES = ("kernel", "depthwise_kernel", "pointwise_kernel")


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def _inner_layers(model: Any) -> list[Any]:
    out: list[Any] = []
    for layer in model.layers:
        sub = getattr(layer, "layers", None)
        if sub and hasattr(layer, "inputs"):  # a nested model
            out.extend(_inner_layers(layer))
        else:
            out.append(layer)
    return out


def kernel_stats(model: Any) -> tuple[KernelStats, ...]:
    """Zeros and distinct values of every conv / dense kernel (TF-MOT wrappers included)."""
    stats = []
    for layer in _inner_layers(model):
        for var in layer.weights:
            kind = var.name.split("/")[-1].split(":")[0]
            if kind not in _KERNEL_NAMES:
                continue
            w = np.asarray(var.numpy())
            name = layer.name if kind == "kernel" else f"{layer.name}/{kind}"
            stats.append(
                KernelStats(name, int(w.size), float(np.mean(w == 0)), int(np.unique(w).size))
            )
    return tuple(stats)


def tflite_float_bytes(model: Any) -> bytes:
    """The float TFLite conversion of a tf_keras model (no optimizations)."""
    try:
        converter = tf().lite.TFLiteConverter.from_keras_model(model)
        return bytes(converter.convert())
    except Exception as exc:
        raise ConversionError(
            "the TFLite converter could not convert the model",
            received=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
            fix="Check that the model uses TFLite-supported layers",
        ) from None


def _model_stats(
    model: Any, saved: Path, val: tuple[np.ndarray, np.ndarray], batch_size: int, from_logits: bool
) -> ModelStats:
    keras = tf_keras()
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
        metrics=["accuracy"],
    )
    loss, acc = (float(v) for v in model.evaluate(val[0], val[1], batch_size=batch_size, verbose=0))
    raw = saved.read_bytes()
    lite = tflite_float_bytes(model)
    kernels = kernel_stats(model)
    total = sum(k.size for k in kernels)
    zeros = sum(k.sparsity * k.size for k in kernels)
    return ModelStats(
        accuracy=acc,
        loss=loss,
        params=int(model.count_params()),
        file_bytes=len(raw),
        file_gzip_bytes=_gzip_size(raw),
        tflite_bytes=len(lite),
        tflite_gzip_bytes=_gzip_size(lite),
        sparsity=float(zeros / total) if total else 0.0,
        kernels=kernels,
    )


def _outputs_probabilities(model: Any, x: np.ndarray) -> bool:
    """Whether the model ends in a softmax (rows >= 0 summing to 1) rather than logits."""
    p = np.asarray(model(x[:32], training=False))
    return bool(np.all(p >= -1e-6) and np.allclose(p.sum(axis=-1), 1.0, atol=1e-3))


# --------------------------------------------------------------------------- methods


def _has_kernel(layer: Any) -> bool:
    layers = tf_keras().layers
    return isinstance(layer, (layers.Conv1D, layers.Conv2D, layers.DepthwiseConv2D, layers.Dense))


def _tfmot_error(method: Method, exc: Exception) -> ConfigError:
    return ConfigError(
        f"TF-MOT could not apply {method.value} to this model",
        received=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
        supported="functional or Sequential tf_keras models built from standard layers "
        "(Conv, DepthwiseConv, Dense, BatchNormalization, pooling, activations)",
        fix="Compress a model built by edgesdk train, or quantize after training with "
        "edgesdk package --quantize int8",
    )


def _pruning_schedule(target: float, total_steps: int) -> Any:
    sp = _tfmot().sparsity.keras
    if total_steps < 10:
        return sp.ConstantSparsity(target, begin_step=0, frequency=1)
    end = max(1, (2 * total_steps) // 3)
    freq = max(1, min(100, end // 10))
    end = max(freq, (end // freq) * freq)
    return sp.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=target, begin_step=0, end_step=end, frequency=freq
    )


def _tfmot() -> Any:
    tf()
    import tensorflow_model_optimization as tfmot

    return tfmot


@dataclass
class _Fit:
    """The training context shared by every fine-tuning stage."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    batch_size: int
    seed: int
    on_epoch: Callable[[EpochLog], None] | None

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.train[0]) / self.batch_size))

    def fit(
        self,
        model: Any,
        method: Method,
        *,
        epochs: int,
        learning_rate: float,
        from_logits: bool,
        callbacks: Sequence[Any] = (),
    ) -> dict[str, tuple[float, ...]]:
        keras = tf_keras()
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
            metrics=["accuracy"],
        )
        hist = model.fit(
            make_dataset(*self.train, batch_size=self.batch_size, shuffle=True, seed=self.seed),
            validation_data=make_dataset(*self.val, batch_size=self.batch_size, shuffle=False),
            epochs=epochs,
            verbose=0,
            callbacks=[*callbacks, *progress_callback(self.on_epoch, method.value, epochs)],
        )
        return {k: tuple(float(v) for v in vs) for k, vs in hist.history.items()}


_History = dict[str, tuple[float, ...]]


def _prune(
    model: Any, target: float, ctx: _Fit, config: CompressConfig, from_logits: bool
) -> tuple[Any, _History]:
    sp = _tfmot().sparsity.keras
    keras = tf_keras()
    epochs = config.epochs_for(Method.prune)
    schedule = _pruning_schedule(target, ctx.steps_per_epoch * epochs)

    def wrap(layer: Any) -> Any:
        if not _has_kernel(layer):
            return layer
        return sp.prune_low_magnitude(layer, pruning_schedule=schedule)

    try:
        pruned = keras.models.clone_model(model, clone_function=wrap)
    except (ValueError, TypeError) as exc:
        raise _tfmot_error(Method.prune, exc) from None
    history = ctx.fit(
        pruned,
        Method.prune,
        epochs=epochs,
        learning_rate=config.learning_rate_for(Method.prune),
        from_logits=from_logits,
        callbacks=[sp.UpdatePruningStep()],
    )
    return sp.strip_pruning(pruned), history


def _cluster(
    model: Any,
    n: int,
    ctx: _Fit,
    config: CompressConfig,
    from_logits: bool,
    preserve_sparsity: bool,
) -> tuple[Any, _History]:
    cl = _tfmot().clustering.keras
    keras = tf_keras()

    def wrap(layer: Any) -> Any:
        if not _has_kernel(layer) or int(np.prod(layer.kernel.shape)) <= n:
            return layer
        return cl.cluster_weights(
            layer,
            number_of_clusters=n,
            cluster_centroids_init=cl.CentroidInitialization.KMEANS_PLUS_PLUS,
            preserve_sparsity=preserve_sparsity,
        )

    try:
        clustered = keras.models.clone_model(model, clone_function=wrap)
    except (ValueError, TypeError) as exc:
        raise _tfmot_error(Method.cluster, exc) from None
    history = ctx.fit(
        clustered,
        Method.cluster,
        epochs=config.epochs_for(Method.cluster),
        learning_rate=config.learning_rate_for(Method.cluster),
        from_logits=from_logits,
    )
    return cl.strip_clustering(clustered), history


def _qat(
    model: Any, ctx: _Fit, config: CompressConfig, from_logits: bool, preserve_sparsity: bool
) -> tuple[Any, dict[str, tuple[float, ...]]]:
    tfmot = _tfmot()
    q = tfmot.quantization.keras
    keras = tf_keras()
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_configs as configs,
    )

    registry = q.default_8bit.Default8BitQuantizeRegistry()

    def annotate(layer: Any) -> Any:
        # The in-model preprocessing gets an output quantizer (it produces the first
        # quantized tensor); weightless layers TF-MOT does not know (augmentation) pass
        # values through. Both configs are in quantize_scope(), so the file reloads.
        if isinstance(layer, keras.layers.Rescaling):
            return q.quantize_annotate_layer(layer, configs.Default8BitOutputQuantizeConfig())
        if registry.supports(layer):
            return q.quantize_annotate_layer(layer)
        if not layer.weights and not isinstance(layer, keras.layers.InputLayer):
            return q.quantize_annotate_layer(layer, configs.NoOpQuantizeConfig())
        return layer

    scheme = (
        tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme()
        if preserve_sparsity
        else q.default_8bit.Default8BitQuantizeScheme()
    )
    try:
        annotated = keras.models.clone_model(model, clone_function=annotate)
        with q.quantize_scope():
            quantized = q.quantize_apply(annotated, scheme)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise _tfmot_error(Method.qat, exc) from None
    history = ctx.fit(
        quantized,
        Method.qat,
        epochs=config.epochs_for(Method.qat),
        learning_rate=config.learning_rate_for(Method.qat),
        from_logits=from_logits,
    )
    return quantized, history


def _logits_fn(student: Any, student_probs: bool) -> Callable[[Any, bool], Any]:
    """The student's pre-softmax logits (read before a final softmax layer if there is one)."""
    keras = tf_keras()
    tfm = tf()
    last = student.layers[-1]
    is_softmax = isinstance(last, keras.layers.Softmax) or (
        isinstance(last, keras.layers.Activation)
        and getattr(last.activation, "__name__", "") == "softmax"
    )
    if is_softmax:
        logits_model = keras.Model(student.inputs, last.input)
        return lambda x, training: logits_model(x, training=training)
    if student_probs:  # log-probabilities are logits up to a per-row constant
        return lambda x, training: tfm.math.log(
            tfm.clip_by_value(student(x, training=training), 1e-7, 1.0)
        )
    return lambda x, training: student(x, training=training)


def _distill(
    student: Any,
    teacher_logits: np.ndarray,
    ctx: _Fit,
    config: CompressConfig,
    student_probs: bool,
) -> dict[str, tuple[float, ...]]:
    keras = tf_keras()
    tfm = tf()
    temperature = float(config.temperature or DEFAULT_TEMPERATURE)
    alpha = float(DEFAULT_DISTILL_ALPHA if config.distill_alpha is None else config.distill_alpha)
    logits_of = _logits_fn(student, student_probs)

    class Distiller(keras.Model):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__(name="distiller")
            self.student = student
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

        @property
        def metrics(self) -> list[Any]:
            return [self.loss_tracker, self.accuracy]

        def call(self, x: Any, training: bool = False) -> Any:
            return self.student(x, training=training)

        def train_step(self, data: Any) -> dict[str, Any]:
            x, (y, t_logits) = data
            with tfm.GradientTape() as tape:
                s_logits = logits_of(x, True)
                hard = tfm.reduce_mean(
                    keras.losses.sparse_categorical_crossentropy(y, s_logits, from_logits=True)
                )
                t_soft = tfm.nn.softmax(t_logits / temperature)
                s_log_soft = tfm.nn.log_softmax(s_logits / temperature)
                kl = tfm.reduce_mean(
                    tfm.reduce_sum(t_soft * (tfm.math.log(t_soft + 1e-8) - s_log_soft), axis=-1)
                )
                loss = alpha * hard + (1.0 - alpha) * temperature**2 * kl
            variables = self.student.trainable_variables
            self.optimizer.apply_gradients(
                zip(tape.gradient(loss, variables), variables, strict=True)
            )
            self.loss_tracker.update_state(loss)
            self.accuracy.update_state(y, s_logits)
            return {m.name: m.result() for m in self.metrics}

        def test_step(self, data: Any) -> dict[str, Any]:
            x, y = data
            out = self.student(x, training=False)
            loss = keras.losses.sparse_categorical_crossentropy(
                y, out, from_logits=not student_probs
            )
            self.loss_tracker.update_state(tfm.reduce_mean(loss))
            self.accuracy.update_state(y, out)
            return {m.name: m.result() for m in self.metrics}

    epochs = config.epochs_for(Method.distill)
    distiller = Distiller()
    distiller.compile(optimizer=keras.optimizers.Adam(config.learning_rate_for(Method.distill)))
    x_train, y_train = ctx.train
    train_ds = make_dataset(
        x_train,
        (y_train, teacher_logits.astype(np.float32)),
        batch_size=ctx.batch_size,
        shuffle=True,
        seed=ctx.seed,
    )
    hist = distiller.fit(
        train_ds,
        validation_data=make_dataset(*ctx.val, batch_size=ctx.batch_size, shuffle=False),
        epochs=epochs,
        verbose=0,
        callbacks=progress_callback(ctx.on_epoch, Method.distill.value, epochs),
    )
    return {k: tuple(float(v) for v in vs) for k, vs in hist.history.items()}


# --------------------------------------------------------------------------- pipeline


def _input_spec(model: Any, role: str, path: Path) -> tuple[tuple[int, int] | None, int]:
    shapes = model.inputs
    out_shapes = model.outputs
    if len(shapes) != 1 or len(out_shapes) != 1:
        raise ConfigError(
            f"the {role} {path} is not a single-input, single-output classifier",
            received=f"{len(shapes)} inputs, {len(out_shapes)} outputs",
            supported="an image classifier: one (N, H, W, C) input, one (N, classes) output",
            fix="Compress a model built by edgesdk train",
        )
    in_shape = tuple(shapes[0].shape)
    out_shape = tuple(out_shapes[0].shape)
    if len(in_shape) != 4 or in_shape[3] is None or len(out_shape) != 2:
        raise ConfigError(
            f"the {role} {path} is not an image classifier",
            received=f"input shape {in_shape}, output shape {out_shape}",
            supported="one (N, H, W, C) image input and one (N, classes) output",
            fix="Compress a model built by edgesdk train",
        )
    h, w, c = in_shape[1], in_shape[2], int(in_shape[3])
    return ((int(h), int(w)) if h and w else None), c


def _check_classes(
    labeled: LabeledData, num_outputs: int, model_names: tuple[str, ...] | None, path: Path
) -> tuple[str, ...]:
    if labeled.named and len(labeled.class_names) != num_outputs:
        raise DataError(
            f"the data have {len(labeled.class_names)} classes but {path} outputs {num_outputs}",
            received=f"classes {list(labeled.class_names)[:8]}",
            supported="data with the model's classes, one sub-folder per class",
            fix="Use the data the model was trained on",
        )
    if int(labeled.y.max()) >= num_outputs:
        raise DataError(
            f"the labels go up to {int(labeled.y.max())} but {path} outputs {num_outputs} classes",
            received=f"max(y)={int(labeled.y.max())}",
            supported=f"labels 0..{num_outputs - 1}",
            fix="Use the data the model was trained on",
        )
    if model_names is not None and labeled.named and tuple(model_names) != labeled.class_names:
        raise DataError(
            f"the data's classes differ from the classes stored in {path}",
            received=f"data {list(labeled.class_names)[:8]}, model {list(model_names)[:8]}",
            supported="the same class names in the same (sorted sub-folder) order",
            fix="Use the data the model was trained on",
        )
    if model_names is not None and len(model_names) == num_outputs:
        return tuple(model_names)
    if labeled.named:
        return labeled.class_names
    return tuple(str(i) for i in range(num_outputs))


def _saved_copy_stats(
    model: Any, suffix: str, fit: _Fit, from_logits: bool, names: Sequence[str]
) -> ModelStats:
    with tempfile.TemporaryDirectory(prefix="edgesdk-compress-") as tmp:
        saved = save_model(model, Path(tmp) / f"before{suffix}", class_names=names)
        return _model_stats(model, saved, fit.val, fit.batch_size, from_logits)


def _refuse_qat_model(model: Any, path: Path) -> None:
    if any("Quantize" in type(layer).__name__ for layer in model.layers):
        raise ConfigError(
            f"{path} is already quantization-aware (a QAT model)",
            received=f"{path.name} with TF-MOT quantize layers",
            supported="float tf_keras models",
            fix="Compress the float model the QAT model came from, with --qat last",
        )


def _teacher_logits(
    path: Path,
    data: str | Path,
    labeled: LabeledData,
    student_input: tuple[tuple[int, int] | None, int],
    num_outputs: int,
    val_idx: np.ndarray,
    batch_size: int,
    trust_model: bool = False,
) -> tuple[np.ndarray, float]:
    """The teacher's logits for every sample (its own input size) and its held-out accuracy."""
    teacher = _load_teacher(path, trust_model)
    t_input = _input_spec(teacher, "teacher", path)
    t_classes = int(teacher.outputs[0].shape[-1])
    if t_classes != num_outputs:
        raise ConfigError(
            "the teacher and the student predict different numbers of classes",
            received=f"teacher {t_classes}, student {num_outputs}",
            supported="a teacher trained on the same classes",
            fix="Pass the teacher trained on this data",
        )
    x = labeled.x
    if t_input != student_input:
        x = load_labeled(data, size=t_input[0], channels=t_input[1]).x
    out = np.asarray(teacher.predict(x, batch_size=batch_size, verbose=0))
    logits = np.log(np.clip(out, 1e-12, 1.0)) if _outputs_probabilities(teacher, x) else out
    accuracy = float(np.mean(np.argmax(out[val_idx], axis=-1) == labeled.y[val_idx]))
    return logits, accuracy


def _fresh_student(
    config: CompressConfig, size: tuple[int, int], channels: int, num_outputs: int
) -> Any:
    assert config.arch is not None
    opts = architectures.BuildOptions(
        input_shape=(size[0], size[1], channels),
        num_classes=num_outputs,
        alpha=config.alpha or 1.0,
        augment=True,
        seed=config.seed,
    )
    return architectures.build(config.arch, opts)


def compress(
    model: str | Path,
    data: str | Path,
    output: str | Path,
    *,
    prune: float | None = None,
    cluster: int | None = None,
    qat: bool = False,
    distill_from: str | Path | None = None,
    arch: str | None = None,
    alpha: float | None = None,
    temperature: float | None = None,
    distill_alpha: float | None = None,
    epochs: int | None = None,
    batch_size: int = 32,
    learning_rate: float | None = None,
    val_split: float = 0.2,
    seed: int = 0,
    force: bool = False,
    trust_model: bool = False,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> CompressResult:
    """Compress the tf_keras classifier ``model`` with the chosen methods; save to ``output``.

    See the module docstring for the methods, their order and their combinations.
    ``epochs`` / ``learning_rate`` default to 3 / 1e-4 per fine-tuning method and
    10 / 1e-3 for distillation. Writes ``output`` (class names inside) and
    ``<stem>.compress.json``; everything is validated first, and on an error nothing
    is written.
    """
    config = CompressConfig(
        prune=prune,
        cluster=cluster,
        qat=qat,
        distill_from=None if distill_from is None else str(distill_from),
        arch=arch,
        alpha=alpha,
        temperature=temperature,
        distill_alpha=distill_alpha,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        val_split=val_split,
        seed=seed,
    )
    if qat and Path(output).suffix.lower() not in H5_SUFFIXES:
        raise ConfigError(
            "a QAT model must be saved as .h5: tf_keras cannot reload a quantization-aware "
            ".keras file (its quantizer variables do not match on loading)",
            received=f"output={str(output)!r}",
            supported="-o MODEL.h5 with --qat",
            fix="Name the output e.g. model_qat.h5",
        )
    out = check_output(output, force=force)
    src = check_tf_keras_model(model)
    teacher_path = (
        _require_file(config.distill_from, "teacher") if config.distill_from is not None else None
    )
    start = time.perf_counter()
    keras = tf_keras()
    keras.utils.set_random_seed(config.seed)
    source = load_model(src, trust_model=trust_model)
    _refuse_qat_model(source, src)
    size, channels = _input_spec(source, "model", src)
    num_outputs = int(source.outputs[0].shape[-1])
    labeled = load_labeled(data, size=size, channels=channels)
    class_names = _check_classes(labeled, num_outputs, read_class_names(src), src)
    train_idx, val_idx = stratified_split(labeled.y, config.val_split, config.seed)
    ctx = _Fit(
        train=(labeled.x[train_idx], labeled.y[train_idx]),
        val=(labeled.x[val_idx], labeled.y[val_idx]),
        batch_size=config.batch_size,
        seed=config.seed,
        on_epoch=on_epoch,
    )
    probs = _outputs_probabilities(source, labeled.x)
    before = _saved_copy_stats(source, out.suffix, ctx, not probs, class_names)

    current = source
    history: dict[str, _History] = {}
    records: list[dict[str, Any]] = []
    teacher_accuracy: float | None = None
    info = dict(read_model_info(src) or {})
    if teacher_path is not None:
        teacher_logits, teacher_accuracy = _teacher_logits(
            teacher_path,
            data,
            labeled,
            (size, channels),
            num_outputs,
            val_idx,
            config.batch_size,
            trust_model,
        )
        if config.arch is not None:
            side = size or labeled.input_shape[:2]
            current = _fresh_student(config, side, channels, num_outputs)
            info.update(architectures.get(config.arch).describe(config.alpha or 1.0))
        probs = _outputs_probabilities(current, labeled.x)
        history["distill"] = _distill(current, teacher_logits[train_idx], ctx, config, probs)
        settings = config.to_dict()
        records.append(
            {
                "method": "distill",
                "teacher": str(teacher_path),
                "temperature": settings["temperature"],
                "distill_alpha": settings["distill_alpha"],
            }
        )
    if config.prune is not None:
        current, history["prune"] = _prune(current, config.prune, ctx, config, not probs)
        records.append({"method": "prune", "sparsity": config.prune})
    preserve_sparsity = config.prune is not None
    if config.cluster is not None:
        current, history["cluster"] = _cluster(
            current, config.cluster, ctx, config, not probs, preserve_sparsity
        )
        records.append({"method": "cluster", "clusters": config.cluster})
    if config.qat:
        current, history["qat"] = _qat(current, ctx, config, not probs, preserve_sparsity)
        records.append({"method": "qat", "load": "in tfmot.quantization.keras.quantize_scope()"})

    info["compression"] = [*info.get("compression", []), *records]
    info["qat"] = bool(config.qat) or bool(info.get("qat"))
    save_model(current, out, class_names=class_names, info=info)
    try:
        after = _model_stats(current, out, ctx.val, config.batch_size, not probs)
        report_path = sidecar_path(out, "compress", ".json")
        result = CompressResult(
            model_path=out,
            methods=tuple(m.value for m in config.methods),
            class_names=class_names,
            before=before,
            after=after,
            teacher_accuracy=teacher_accuracy,
            seconds=time.perf_counter() - start,
            num_train=int(train_idx.size),
            num_val=int(val_idx.size),
            report_path=report_path,
            history=history,
            config={**config.to_dict(), "model": str(model), "data": str(data)},
        )
        versions = {
            "tensorflow": tf().__version__,
            "tf_keras": keras.__version__,
            "tensorflow_model_optimization": _tfmot_version(),
        }
        write_json(report_path, {**result.to_dict(), "versions": versions})
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return result


def _tfmot_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tensorflow-model-optimization")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


__all__ = [
    "CompressConfig",
    "CompressResult",
    "KernelStats",
    "Method",
    "ModelStats",
    "compress",
    "kernel_stats",
    "load_model",
    "tflite_float_bytes",
]
