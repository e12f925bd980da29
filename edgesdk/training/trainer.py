"""Train an image classifier that carries its own preprocessing and class names.

``train(data, output)`` loads a folder of class sub-folders (or an ``.npz`` with raw
pixels ``x`` and labels ``y``), holds out a seeded, stratified validation split, builds
an architecture from :mod:`edgesdk.training.architectures` (whose first layer after
``Input`` is a ``Rescaling``, so the model takes raw pixels 0..255), trains it with
tf_keras and saves it as ``.h5`` (legacy HDF5) or ``.keras`` (both loadable by tf_keras,
so TF-MOT accepts them), class names inside (:mod:`edgesdk.training.files`).

The defaults are made for small data sets: a step budget rather than a fixed number of
epochs (``--epochs`` only caps it), warm-up and cosine learning rate, early stopping on
the validation loss with the best weights restored (:mod:`edgesdk.training.schedules`),
augmentation in the model. With ``--weights imagenet|PATH`` the backbone is pretrained
and training runs in two phases (:mod:`edgesdk.training.transfer`).

Next to the model go ``<stem>.training.json`` (config, plan, per-epoch history, final
metrics, time) and ``<stem>.training.png`` (loss and accuracy curves).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from .._tf import tf, tf_keras
from ..errors import ConfigError, EdgeSdkError, EnvironmentMissingError
from . import architectures, schedules, transfer
from .checks import check_learning_rate, check_positive_int, check_val_split
from .data import load_labeled, make_dataset, stratified_split
from .files import check_output, save_model, sidecar_path
from .reports import EpochLog, jsonable, plot_history, progress_callback, write_json

#: Peak learning rate (Adam) from scratch, and for the head phase with pretrained weights.
DEFAULT_LEARNING_RATE = 2e-3
DEFAULT_TRANSFER_LEARNING_RATE = 1e-3


class Distribute(str, Enum):
    """``--distribute``: the tf.distribute strategy the model is built and trained under."""

    none = "none"
    mirrored = "mirrored"
    multiworker = "multiworker"


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a model is trained (validated at construction)."""

    arch: str = "small_cnn"
    image_size: int | None = None
    #: A cap: the step budget (``steps`` or the rule in :mod:`.schedules`) decides.
    epochs: int = schedules.DEFAULT_EPOCHS_CAP
    #: Optimizer updates to schedule; ``None``: derived from the data size.
    steps: int | None = None
    batch_size: int = 32
    #: Peak learning rate; ``None``: 2e-3 from scratch, 1e-3 with pretrained weights.
    learning_rate: float | None = None
    val_split: float = 0.2
    seed: int = 0
    alpha: float = 1.0
    weights: str = "none"
    augment: bool = True
    early_stopping: bool = True
    distribute: Distribute = Distribute.none

    def __post_init__(self) -> None:
        arch = architectures.get(self.arch)
        object.__setattr__(self, "distribute", as_distribute(self.distribute))
        if self.image_size is not None and self.image_size < arch.min_image_size:
            raise ConfigError(
                f"the image size is too small for {arch.name}",
                received=f"image_size={self.image_size}",
                supported=f"--image-size >= {arch.min_image_size} for {arch.name}",
                fix="Pass a larger --image-size",
            )
        check_positive_int("epochs", self.epochs)
        if self.steps is not None:
            check_positive_int("steps", self.steps)
        check_positive_int("batch_size", self.batch_size)
        if self.learning_rate is not None:
            check_learning_rate(self.learning_rate)
        check_val_split(self.val_split)
        if not (math.isfinite(self.alpha) and self.alpha > 0):
            raise ConfigError(
                "the width multiplier must be positive",
                received=f"alpha={self.alpha}",
                supported="--alpha > 0 (e.g. 0.35, 0.5, 0.75, 1.0)",
                fix="Pass a positive --alpha",
            )
        _check_weights(arch, self.weights)

    @property
    def pretrained(self) -> bool:
        return self.weights != "none"

    @property
    def peak_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return DEFAULT_TRANSFER_LEARNING_RATE if self.pretrained else DEFAULT_LEARNING_RATE

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["distribute"] = self.distribute.value
        d["learning_rate"] = self.peak_learning_rate
        return d


def as_distribute(value: Distribute | str) -> Distribute:
    """``value`` as a :class:`Distribute`; a :class:`ConfigError` for unknown names."""
    try:
        return Distribute(value)
    except ValueError:
        raise ConfigError(
            "unknown distribution strategy",
            received=f"distribute={value!r}",
            supported=", ".join(d.value for d in Distribute),
            fix="Pass --distribute none, mirrored or multiworker",
        ) from None


def _check_weights(arch: architectures.Architecture, weights: str) -> None:
    if weights == "none" or weights in arch.named_weights:
        return
    if not arch.named_weights:
        raise ConfigError(
            f"{arch.name} has no pretrained weights",
            received=f"weights={weights!r}",
            supported=f"--weights none for {arch.name}",
            fix="Train from scratch (--weights none), or use --arch mobilenet_v2",
        )
    if not Path(weights).is_file():
        raise ConfigError(
            "the weights file does not exist",
            received=f"weights={weights!r}",
            supported="--weights none, " + ", ".join(arch.named_weights) + ", or a weights file",
            fix="Check the path (a notop weights .h5 for the backbone)",
        )


# --------------------------------------------------------------------------- results


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Phase:
    """One ``fit``: from scratch (``train``), or ``head`` then ``fine-tune`` when pretrained."""

    name: str
    epochs_planned: int
    epochs_run: int
    steps_per_epoch: int
    learning_rate: float
    #: The epoch (1-based, within the phase) whose weights were kept.
    best_epoch: int
    stopped_early: bool
    trainable_params: int

    @property
    def steps_run(self) -> int:
        return self.epochs_run * self.steps_per_epoch


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` produced."""

    model_path: Path
    class_names: tuple[str, ...]
    arch: str
    input_shape: tuple[int, int, int]
    val_accuracy: float
    val_loss: float
    train_accuracy: float
    train_loss: float
    #: Epochs run, over all phases (early stopping may end a phase before its plan).
    epochs: int
    seconds: float
    history: Mapping[str, tuple[float, ...]]
    num_train: int
    num_val: int
    params: int
    report_path: Path
    plot_path: Path
    config: Mapping[str, Any] = field(default_factory=dict)
    #: Optimizer updates run, over all phases.
    steps: int = 0
    phases: tuple[Phase, ...] = ()
    #: Whether this process wrote the model (the chief, under ``multiworker``).
    chief: bool = True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings, tuples as lists)."""
        return jsonable(asdict(self))


# --------------------------------------------------------------------------- training


def _strategy(distribute: Distribute) -> Any:
    tfm = tf()
    if distribute is Distribute.mirrored:
        return tfm.distribute.MirroredStrategy()
    if distribute is Distribute.multiworker:
        # Without TF_CONFIG this is a single worker; with it, every worker runs the
        # same command and the chief's model is the one to keep.
        return tfm.distribute.MultiWorkerMirroredStrategy()
    return tfm.distribute.get_strategy()


def _build(config: TrainConfig, input_shape: tuple[int, int, int], num_classes: int) -> Any:
    opts = architectures.BuildOptions(
        input_shape=input_shape,
        num_classes=num_classes,
        alpha=config.alpha,
        weights=config.weights,
        augment=config.augment,
        seed=config.seed,
    )
    try:
        model = architectures.build(config.arch, opts)
        if config.pretrained:
            transfer.load_backbone_weights(
                model, config.weights, architectures.get(config.arch), opts
            )
        return model
    except EdgeSdkError:
        raise
    except ValueError as exc:
        raise ConfigError(
            f"{config.arch} cannot be built with these options",
            received=f"{exc}".splitlines()[0][:300],
            supported=architectures.get(config.arch).description,
            fix="Change --alpha, --image-size or --weights",
        ) from None
    except Exception as exc:  # e.g. the ImageNet weights download failed
        if config.weights in architectures.get(config.arch).named_weights:
            raise EnvironmentMissingError(
                f"could not fetch the {config.weights} weights for {config.arch}",
                received=f"{type(exc).__name__}: {exc}"[:300],
                fix="Download the notop weights file yourself and pass --weights PATH, "
                "or train from scratch with --weights none",
            ) from None
        raise


def is_chief() -> bool:
    """Whether this process writes files under ``multiworker`` (TF_CONFIG's chief).

    The chief is the task of type ``chief``, else worker 0; without TF_CONFIG, this process.
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return True
    try:
        cfg = json.loads(raw)
        task = cfg.get("task", {})
        kind, index = task.get("type", "worker"), int(task.get("index", 0))
        has_chief = bool(cfg.get("cluster", {}).get("chief"))
    except (ValueError, AttributeError, TypeError):
        raise ConfigError(
            "TF_CONFIG is not valid JSON for a cluster",
            received=f"TF_CONFIG={raw[:120]!r}",
            supported='{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
            '"index": 0}}',
            fix="Fix or unset TF_CONFIG",
        ) from None
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and not has_chief


def _fit_phase(
    model: Any,
    name: str,
    *,
    strategy: Any,
    budget: schedules.StepPlan,
    peak_lr: float,
    train_ds: Any,
    val_ds: Any,
    early_stopping: bool,
    on_epoch: Callable[[EpochLog], None] | None,
) -> tuple[Phase, dict[str, list[float]]]:
    keras = tf_keras()
    with strategy.scope():
        model.compile(
            optimizer=keras.optimizers.Adam(schedules.learning_rate(peak_lr, budget)),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
    stopper = schedules.early_stopping(budget) if early_stopping else []
    hist = model.fit(
        train_ds.repeat(),
        steps_per_epoch=budget.steps_per_epoch,
        validation_data=val_ds,
        epochs=budget.epochs,
        verbose=0,
        callbacks=[
            *stopper,
            *progress_callback(on_epoch, name, budget.epochs, budget.steps_per_epoch),
        ],
    )
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
    run = len(history.get("loss", []))
    val = history.get("val_loss", [])
    best = (min(range(len(val)), key=val.__getitem__) + 1) if stopper and val else run
    trainable = sum(int(math.prod(w.shape)) for w in model.trainable_weights)
    phase = Phase(
        name=name,
        epochs_planned=budget.epochs,
        epochs_run=run,
        steps_per_epoch=budget.steps_per_epoch,
        learning_rate=peak_lr,
        best_epoch=best,
        stopped_early=run < budget.epochs,
        trainable_params=trainable,
    )
    return phase, history


def train(
    data: str | Path,
    output: str | Path = "model.h5",
    *,
    arch: str = "small_cnn",
    image_size: int | None = None,
    epochs: int = schedules.DEFAULT_EPOCHS_CAP,
    steps: int | None = None,
    batch_size: int = 32,
    learning_rate: float | None = None,
    val_split: float = 0.2,
    seed: int = 0,
    alpha: float = 1.0,
    weights: str = "none",
    augment: bool = True,
    early_stopping: bool = True,
    distribute: Distribute | str = Distribute.none,
    force: bool = False,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainResult:
    """Train a classifier on ``data`` and save it to ``output`` (``.h5`` or ``.keras``).

    ``steps`` optimizer updates are scheduled (default: derived from the data size, see
    :mod:`edgesdk.training.schedules`), at most ``epochs`` epochs; early stopping keeps
    the best weights. With ``weights`` (``imagenet`` or a file) the backbone is
    pretrained and trained in two phases. Writes ``output`` with class names inside,
    ``<stem>.training.json`` and ``<stem>.training.png`` beside it (under
    ``multiworker``, only the chief writes). Everything is validated before training
    starts; on an error nothing is written. ``on_epoch`` receives an
    :class:`EpochLog` per epoch.
    """
    config = TrainConfig(
        arch=arch,
        image_size=image_size,
        epochs=epochs,
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        val_split=val_split,
        seed=seed,
        alpha=alpha,
        weights=weights,
        augment=augment,
        early_stopping=early_stopping,
        distribute=as_distribute(distribute),
    )
    out = check_output(output, force=force)
    chief = is_chief() if config.distribute is Distribute.multiworker else True
    spec = architectures.get(config.arch)
    side = config.image_size or spec.default_image_size
    labeled = load_labeled(data, size=(side, side) if side else None)
    h, w, c = labeled.input_shape
    if min(h, w) < spec.min_image_size:
        raise ConfigError(
            f"the images are too small for {spec.name}",
            received=f"{h}x{w} images",
            supported=f"images of at least {spec.min_image_size}x{spec.min_image_size}",
            fix="Pass a larger --image-size, or use --arch small_cnn",
        )
    if config.pretrained and c != 3:
        raise ConfigError(
            "pretrained weights need RGB images",
            received=f"{c}-channel images with weights={config.weights!r}",
            supported="3-channel (RGB) data with pretrained weights",
            fix="Use RGB images, or --weights none",
        )
    train_idx, val_idx = stratified_split(labeled.y, config.val_split, config.seed)

    keras = tf_keras()
    strategy = _strategy(config.distribute)
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        model = _build(config, labeled.input_shape, len(labeled.class_names))
    train_ds = make_dataset(
        labeled.x[train_idx],
        labeled.y[train_idx],
        batch_size=config.batch_size,
        shuffle=True,
        seed=config.seed,
    )
    val_ds = make_dataset(
        labeled.x[val_idx], labeled.y[val_idx], batch_size=config.batch_size, shuffle=False
    )
    budget = schedules.plan(
        int(train_idx.size),
        config.batch_size,
        epochs_cap=config.epochs,
        steps=config.steps,
        early_stopping=config.early_stopping,
    )
    fit = dict(
        strategy=strategy,
        train_ds=train_ds,
        val_ds=val_ds,
        early_stopping=config.early_stopping,
        on_epoch=on_epoch,
    )
    start = time.perf_counter()
    phases: list[Phase] = []
    history: dict[str, list[float]] = {}
    if not config.pretrained:
        phase, hist = _fit_phase(
            model, "train", budget=budget, peak_lr=config.peak_learning_rate, **fit
        )
        phases.append(phase)
        _extend(history, hist)
    else:
        head_budget, tune_budget = _split_budget(budget, int(train_idx.size), config)
        with strategy.scope():
            transfer.freeze_backbone(model)
        phase, hist = _fit_phase(
            model, "head", budget=head_budget, peak_lr=config.peak_learning_rate, **fit
        )
        phases.append(phase)
        _extend(history, hist)
        with strategy.scope():
            transfer.unfreeze_top(model, spec)
        phase, hist = _fit_phase(
            model,
            "fine-tune",
            budget=tune_budget,
            peak_lr=config.peak_learning_rate * transfer.FINETUNE_LR_FACTOR,
            **fit,
        )
        phases.append(phase)
        _extend(history, hist)
    seconds = time.perf_counter() - start
    val_loss, val_acc = (float(v) for v in model.evaluate(val_ds, verbose=0))
    final_history = {k: tuple(v) for k, v in history.items()}

    info = {
        **spec.describe(config.alpha),
        "compression": [],
        "tf_keras_version": keras.__version__,
    }
    if config.pretrained:
        info["weights"] = config.weights if config.weights == "imagenet" else "file"
    # Under multiworker every worker saves (the formats may need all of them), but only
    # the chief into the requested path; the others into a folder that is removed.
    scratch = None if chief else Path(tempfile.mkdtemp(prefix="edgesdk-worker-"))
    target = out if scratch is None else scratch / out.name
    try:
        save_model(model, target, class_names=labeled.class_names, info=info)
        report_path = sidecar_path(target, "training", ".json")
        plot_path = sidecar_path(target, "training", ".png")
        result = TrainResult(
            model_path=target,
            class_names=labeled.class_names,
            arch=spec.name,
            input_shape=labeled.input_shape,
            val_accuracy=val_acc,
            val_loss=val_loss,
            train_accuracy=final_history.get("accuracy", (math.nan,))[-1],
            train_loss=final_history.get("loss", (math.nan,))[-1],
            epochs=sum(p.epochs_run for p in phases),
            seconds=seconds,
            history=final_history,
            num_train=int(train_idx.size),
            num_val=int(val_idx.size),
            params=int(model.count_params()),
            report_path=report_path,
            plot_path=plot_path,
            config={**config.to_dict(), "data": str(data), "plan": budget.to_dict()},
            steps=sum(p.steps_run for p in phases),
            phases=tuple(phases),
            chief=chief,
        )
        if chief:
            write_json(report_path, {**result.to_dict(), "versions": _versions()})
            plot_history(
                final_history, plot_path, title=f"{spec.name} on {Path(str(data)).name}"
            )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return result


def _split_budget(
    budget: schedules.StepPlan, num_train: int, config: TrainConfig
) -> tuple[schedules.StepPlan, schedules.StepPlan]:
    """The head phase gets ``HEAD_FRACTION`` of the steps, the fine-tune phase the rest."""
    head_epochs = max(1, round(budget.epochs * transfer.HEAD_FRACTION))
    tune_epochs = max(1, budget.epochs - head_epochs)
    spe = budget.steps_per_epoch

    def part(epochs: int) -> schedules.StepPlan:
        return schedules.plan(
            num_train,
            config.batch_size,
            epochs_cap=epochs,
            steps=epochs * spe,
            early_stopping=config.early_stopping,
        )

    return part(head_epochs), part(tune_epochs)


def _extend(history: dict[str, list[float]], more: Mapping[str, list[float]]) -> None:
    for k, v in more.items():
        history.setdefault(k, []).extend(v)


def _versions() -> dict[str, str]:
    return {"tensorflow": tf().__version__, "tf_keras": tf_keras().__version__}


__all__ = [
    "Distribute",
    "Phase",
    "TrainConfig",
    "TrainResult",
    "is_chief",
    "train",
]
