"""Compress a tf_keras classifier: distillation, pruning, clustering, quantization-aware training.

``compress(model, data, output, prune=..., cluster=..., qat=..., distill_from=...)``
runs the requested methods in a fixed order, each fine-tuned on the training part of
``data`` (the same seeded, stratified split ``edgesdk train`` uses, so the held-out
samples stay held out) for a budget derived from its size
(:mod:`edgesdk.training.finetune`; ``--epochs`` fixes it instead):

1. **distill** (``distill_from=TEACHER``): the student -- ``model`` itself, or a fresh
   ``arch`` (``alpha`` width) with ``model``'s input shape -- learns from the teacher's
   soft targets at ``temperature`` mixed with the hard labels
   (``loss = distill_alpha * CE(y, s) + (1 - distill_alpha) * T^2 * KL(t_T || s_T)``).
   The teacher is only run for inference, so it may be a tf_keras or a Keras 3 model.
2. **prune** (``prune=SPARSITY``): TF-MOT magnitude pruning of every conv / dense
   kernel, polynomial decay to the target over the first half of the fine-tuning steps,
   then ``strip_pruning``.
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

Accuracy before and after (on the held-out split), file and gzip sizes (model file, its
float TFLite conversion, and that conversion with TFLite's sparsity encoding), sparsity
and unique values per kernel go into a :class:`CompressResult` and
``<stem>.compress.json`` beside the output. When the held-out accuracy drops by more
than :data:`ACCURACY_BUDGET` points, the result says so (``warnings``).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from .._tf import tf, tf_keras
from ..errors import ConfigError, DataError
from . import architectures
from .checks import check_learning_rate, check_positive_int, check_val_split
from .clustering import cluster as _cluster
from .data import LabeledData, load_labeled, stratified_split
from .distillation import distill as _distill
from .files import (
    H5_SUFFIXES,
    check_output,
    check_tf_keras_model,
    load_model,
    load_teacher,
    read_class_names,
    read_model_info,
    require_file,
    save_model,
    sidecar_path,
)
from .finetune import FineTune, History
from .pruning import prune as _prune
from .qat import quantization_aware as _qat
from .reports import EpochLog, jsonable, write_json
from .stats import ModelStats, model_stats, outputs_probabilities

#: Held-out accuracy points a compression may cost before the result warns.
ACCURACY_BUDGET = 1.0
#: Peak learning rates (warm-up + cosine) when ``--learning-rate`` is not given.
DEFAULT_LEARNING_RATE = 5e-4
DEFAULT_DISTILL_LEARNING_RATE = 2e-3
DEFAULT_TEMPERATURE = 4.0
DEFAULT_DISTILL_ALPHA = 0.1


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
    #: Accuracy lost beyond :data:`ACCURACY_BUDGET`, sizes that did not shrink.
    warnings: tuple[str, ...] = ()

    @property
    def accuracy_drop_points(self) -> float:
        """Held-out accuracy lost, in percentage points."""
        return (self.before.accuracy - self.after.accuracy) * 100

    @property
    def within_budget(self) -> bool:
        return self.accuracy_drop_points <= ACCURACY_BUDGET

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
        d["accuracy_budget_points"] = ACCURACY_BUDGET
        d["within_budget"] = self.within_budget
        d["tflite_sparse_encoding_saves"] = self.after.sparse_encoding_saves
        d["sparsity"] = self.after.sparsity
        d["unique_weights"] = self.after.unique_weights
        d["max_unique_weights"] = self.after.max_unique_weights
        return d


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
    model: Any, suffix: str, fit: FineTune, from_logits: bool, names: Sequence[str]
) -> ModelStats:
    with tempfile.TemporaryDirectory(prefix="edgesdk-compress-") as tmp:
        saved = save_model(model, Path(tmp) / f"before{suffix}", class_names=names)
        return model_stats(model, saved, fit.val, fit.batch_size, from_logits)


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
    teacher = load_teacher(path, trust_model)
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
    logits = np.log(np.clip(out, 1e-12, 1.0)) if outputs_probabilities(teacher, x) else out
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
    Each fine-tune runs a step budget derived from the data size (``epochs`` fixes the
    epochs instead); ``learning_rate`` is the peak of a warm-up + cosine schedule
    (default 5e-4 for fine-tuning, 2e-3 for distillation). Writes ``output`` (class
    names inside) and ``<stem>.compress.json``; everything is validated first, and on an
    error nothing is written.
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
        require_file(config.distill_from, "teacher") if config.distill_from is not None else None
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
    ctx = FineTune(
        train=(labeled.x[train_idx], labeled.y[train_idx]),
        val=(labeled.x[val_idx], labeled.y[val_idx]),
        batch_size=config.batch_size,
        seed=config.seed,
        on_epoch=on_epoch,
        epochs=config.epochs,
    )
    probs = outputs_probabilities(source, labeled.x)
    before = _saved_copy_stats(source, out.suffix, ctx, not probs, class_names)

    current = source
    history: dict[str, History] = {}
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
        probs = outputs_probabilities(current, labeled.x)
        settings = config.to_dict()
        history["distill"], budget = _distill(
            current,
            teacher_logits[train_idx],
            ctx,
            learning_rate=config.learning_rate_for(Method.distill),
            temperature=float(settings["temperature"]),
            alpha=float(settings["distill_alpha"]),
            student_probs=probs,
        )
        records.append(
            {
                "method": "distill",
                "teacher": str(teacher_path),
                "temperature": settings["temperature"],
                "distill_alpha": settings["distill_alpha"],
                **_budget_record(budget),
            }
        )
    lr = config.learning_rate_for(Method.prune)
    if config.prune is not None:
        current, history["prune"], budget = _prune(
            current, config.prune, ctx, learning_rate=lr, from_logits=not probs
        )
        records.append({"method": "prune", "sparsity": config.prune, **_budget_record(budget)})
    preserve_sparsity = config.prune is not None
    if config.cluster is not None:
        current, history["cluster"], budget = _cluster(
            current,
            config.cluster,
            ctx,
            learning_rate=lr,
            from_logits=not probs,
            preserve_sparsity=preserve_sparsity,
        )
        records.append(
            {"method": "cluster", "clusters": config.cluster, **_budget_record(budget)}
        )
    if config.qat:
        current, history["qat"], budget = _qat(
            current,
            ctx,
            learning_rate=lr,
            from_logits=not probs,
            preserve_sparsity=preserve_sparsity,
        )
        records.append(
            {
                "method": "qat",
                "load": "in tfmot.quantization.keras.quantize_scope()",
                **_budget_record(budget),
            }
        )

    info["compression"] = [*info.get("compression", []), *records]
    info["qat"] = bool(config.qat) or bool(info.get("qat"))
    save_model(current, out, class_names=class_names, info=info)
    try:
        after = model_stats(current, out, ctx.val, config.batch_size, not probs)
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
            warnings=tuple(accuracy_warnings(before, after, [m.value for m in config.methods])),
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


def _budget_record(budget: Any) -> dict[str, Any]:
    return {
        "epochs": budget.epochs,
        "steps": budget.total_steps,
        "steps_per_epoch": budget.steps_per_epoch,
    }


def accuracy_warnings(before: ModelStats, after: ModelStats, methods: Sequence[str]) -> list[str]:
    """What a reader must know: an accuracy drop over budget, sizes that did not shrink."""
    out: list[str] = []
    drop = (before.accuracy - after.accuracy) * 100
    if drop > ACCURACY_BUDGET:
        out.append(
            f"{' + '.join(methods)} cost {drop:.1f} points of held-out accuracy "
            f"({before.accuracy * 100:.1f}% -> {after.accuracy * 100:.1f}%), more than "
            f"{ACCURACY_BUDGET:g}: fine-tune longer (--epochs), prune less, or use more "
            "clusters"
        )
    if after.sparsity > 0.05 and not after.sparse_encoding_saves:
        out.append(
            f"the float .tflite is no smaller for the {after.sparsity:.0%} sparsity: TFLite's "
            "sparsity encoding could not shrink these weights; only compression (gzip) sees "
            "the zeros"
        )
    return out


def _tfmot_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tensorflow-model-optimization")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


__all__ = [
    "ACCURACY_BUDGET",
    "CompressConfig",
    "CompressResult",
    "Method",
    "accuracy_warnings",
    "compress",
]
