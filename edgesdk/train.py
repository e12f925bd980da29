"""Train an image classifier that carries its own preprocessing and class names.

``train(data, output)`` loads a folder of class sub-folders (or an ``.npz`` with raw
pixels ``x`` and labels ``y``), holds out a seeded, stratified validation split, builds
an architecture from :mod:`edgesdk.architectures` (whose first layer after ``Input`` is
a ``Rescaling``, so the model takes raw pixels 0..255), trains it with tf_keras and
saves it as ``.h5`` (legacy HDF5) or ``.keras`` (both loadable by tf_keras, so TF-MOT
accepts them).

Class names travel **inside the model file**: an HDF5 root attribute
``edgesdk_class_names`` (a JSON list) for ``.h5``, or a zip entry
``edgesdk_class_names.json`` for ``.keras``. :func:`read_class_names` reads them back
(falling back to a sidecar ``<model file>.labels.txt``, one name per line, for models
from elsewhere). Next to the model go ``<stem>.training.json`` (config, per-epoch
history, final metrics, time) and ``<stem>.training.png`` (loss and accuracy curves).

The helpers for labelled data, the split, saving and progress are shared with
:mod:`edgesdk.compress`.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from . import architectures
from ._tf import tf, tf_keras
from .data import load_dataset
from .errors import (
    ConfigError,
    DataError,
    EdgeSdkError,
    EnvironmentMissingError,
    ModelLoadError,
    OutputError,
)

#: Model file suffixes train and compress write (tf_keras picks the format by suffix).
MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")
H5_SUFFIXES = (".h5", ".hdf5")
#: HDF5 root attribute / ``.keras`` zip entry holding the class names (a JSON list).
CLASS_NAMES_ATTR = "edgesdk_class_names"
CLASS_NAMES_ENTRY = "edgesdk_class_names.json"
#: HDF5 root attribute / ``.keras`` zip entry with what edgesdk knows about the model.
INFO_ATTR = "edgesdk_info"
INFO_ENTRY = "edgesdk_info.json"
#: Sidecar read by :func:`read_class_names` when the file itself carries no names.
LABELS_SIDECAR_SUFFIX = ".labels.txt"


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
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    val_split: float = 0.2
    seed: int = 0
    alpha: float = 1.0
    weights: str = "none"
    augment: bool = True
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
        check_positive_int("batch_size", self.batch_size)
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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["distribute"] = self.distribute.value
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


def check_positive_int(name: str, value: int) -> None:
    if int(value) != value or value < 1:
        flag = "--" + name.replace("_", "-")
        raise ConfigError(
            f"{name} must be a positive integer",
            received=f"{name}={value!r}",
            supported=f"{flag} >= 1",
            fix=f"Pass a positive {flag}",
        )


def check_learning_rate(value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(
            "the learning rate must be positive",
            received=f"learning_rate={value}",
            supported="--learning-rate > 0 (typically 1e-4 to 1e-2)",
            fix="Pass a positive --learning-rate",
        )


def check_val_split(value: float) -> None:
    if not (0.0 < value < 1.0):
        raise ConfigError(
            "the validation split must be a fraction strictly between 0 and 1",
            received=f"val_split={value}",
            supported="0 < --val-split < 1 (default 0.2)",
            fix="Pass e.g. --val-split 0.2",
        )


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


@dataclass(frozen=True)
class EpochLog:
    """One finished epoch, as passed to ``on_epoch`` callbacks."""

    stage: str
    epoch: int
    epochs: int
    metrics: Mapping[str, float]
    seconds: float


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
    epochs: int
    seconds: float
    history: Mapping[str, tuple[float, ...]]
    num_train: int
    num_val: int
    params: int
    report_path: Path
    plot_path: Path
    config: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings, tuples as lists)."""
        return _jsonable(asdict(self))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class LabeledData:
    """Raw pixels ``N x H x W x C`` (float32, 0..255), int64 labels and class names."""

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    #: Whether the class names came from the data (folder names / npz ``class_names``).
    named: bool
    source: str

    @property
    def input_shape(self) -> tuple[int, int, int]:
        h, w, c = self.x.shape[1:]
        return int(h), int(w), int(c)


def load_labeled(
    data: str | Path, *, size: tuple[int, int] | None = None, channels: int | None = None
) -> LabeledData:
    """Load labelled images for training or evaluation; at least two classes."""
    try:
        ds = load_dataset(data, size=size, channels=channels)
    except EdgeSdkError:
        raise
    except (ValueError, TypeError, OSError) as exc:
        raise DataError(
            f"could not read the data {data}",
            received=f"{type(exc).__name__}: {exc}",
            supported="a folder with one sub-folder per class of images, or an .npz with "
            "x (raw pixels) and y (integer labels)",
            fix="Check the file",
        ) from None
    x = ds.x
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DataError(
            f"the data in {data} are not images",
            received=f"x.shape={tuple(ds.x.shape)}",
            supported="x of shape (N, H, W) or (N, H, W, C) with raw pixel values 0..255",
            fix="Reshape x to images before saving the .npz",
        )
    if ds.y is None:
        raise DataError(
            f"the data in {data} have no labels",
            received=f"{data} without y",
            supported="an .npz with x and y, or a folder with one sub-folder per class",
            fix="Save the labels as y: numpy.savez(path, x=images, y=labels)",
        )
    y = np.asarray(ds.y, dtype=np.int64)
    if y.size and int(y.min()) < 0:
        raise DataError(
            f"the labels in {data} must be class indices",
            received=f"min(y)={int(y.min())}",
            supported="integer labels 0..K-1",
            fix="Map the labels to 0..K-1",
        )
    num_classes = int(y.max()) + 1 if y.size else 0
    if ds.class_names is not None:
        names = tuple(ds.class_names)
        if num_classes > len(names):
            raise DataError(
                f"the labels in {data} exceed the class names",
                received=f"max(y)={num_classes - 1} with {len(names)} class names",
                supported="labels 0..len(class_names)-1",
                fix="Fix y or class_names in the .npz",
            )
    else:
        names = tuple(str(i) for i in range(num_classes))
    present = np.unique(y)
    if present.size < 2:
        only = names[int(present[0])] if present.size else "none"
        raise DataError(
            f"training a classifier needs at least 2 classes, but {data} has {present.size}",
            received=f"class {only!r} with {y.size} samples",
            supported="a folder with one sub-folder per class (two or more), or an .npz "
            "whose y holds at least two labels",
            fix="Add images of at least one more class",
        )
    if float(np.max(x)) <= 1.0:
        raise DataError(
            f"the images in {data} look normalized already (all values in [0, 1])",
            received=f"x.min()={float(np.min(x)):g}, x.max()={float(np.max(x)):g}",
            supported="raw pixel values 0..255: the model normalizes them itself",
            fix="Save the raw pixels, e.g. x * 255",
        )
    return LabeledData(
        x.astype(np.float32, copy=False), y, names, ds.class_names is not None, str(data)
    )


def stratified_split(y: np.ndarray, val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, stratified ``(train_indices, val_indices)``, each sorted.

    Every class with at least two samples gives ``round(n * val_split)`` samples
    (at least one, at most ``n - 1``) to the validation split. The split depends only
    on ``y``, ``val_split`` and ``seed``, so ``train`` and ``compress`` hold out the
    same samples of the same data.
    """
    check_val_split(val_split)
    rng = np.random.default_rng(seed)
    val: list[np.ndarray] = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n = idx.size
        k = min(max(int(round(n * val_split)), 1), n - 1) if n >= 2 else 0
        val.append(idx[:k])
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    train_idx = np.setdiff1d(np.arange(y.size), val_idx)
    if val_idx.size == 0 or train_idx.size == 0:
        raise DataError(
            "too few samples for a training and a validation split",
            received=f"{y.size} samples",
            supported="at least two samples in some class",
            fix="Add more data",
        )
    return train_idx, val_idx


def make_dataset(x: np.ndarray, y: Any, *, batch_size: int, shuffle: bool, seed: int = 0) -> Any:
    """A batched ``tf.data.Dataset`` (seeded shuffle), sharded by data under a strategy."""
    tfm = tf()
    ds = tfm.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    options = tfm.data.Options()
    options.experimental_distribute.auto_shard_policy = tfm.data.experimental.AutoShardPolicy.DATA
    return ds.batch(batch_size).with_options(options)


# --------------------------------------------------------------------------- model files


def check_output(
    output: str | Path, *, force: bool, suffixes: Sequence[str] = MODEL_SUFFIXES
) -> Path:
    """Validate a model output path before any work is done."""
    out = Path(output)
    if out.suffix.lower() not in suffixes:
        raise ConfigError(
            "unsupported model file type for the output",
            received=f"output={str(output)!r}",
            supported=" or ".join(suffixes),
            fix="Name the output e.g. model.h5 or model.keras",
        )
    if out.is_dir():
        raise OutputError(
            "the output path is a folder",
            received=str(out),
            fix="Pass a file name such as model.h5",
        )
    if out.exists() and not force:
        raise OutputError(
            f"the output {out} already exists",
            received=str(out),
            fix="Pass --force to overwrite it, or choose another -o",
        )
    return out


def save_model(
    model: Any,
    path: str | Path,
    *,
    class_names: Sequence[str],
    info: Mapping[str, Any] | None = None,
) -> Path:
    """Save ``model`` with tf_keras (format by suffix), class names and info inside; atomic."""
    keras = tf_keras()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}{out.suffix}")
    # A fresh functional view over the same layers: no optimizer state is saved, so
    # the file holds exactly the weights (and compares across methods by size).
    view = keras.Model(model.inputs, model.outputs, name=model.name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if out.suffix.lower() in H5_SUFFIXES:
                view.save(tmp, include_optimizer=False, save_format="h5")
            else:
                view.save(tmp)
        _embed(tmp, class_names=list(class_names), info=dict(info or {}))
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def _embed(path: Path, *, class_names: list[str], info: dict[str, Any]) -> None:
    if path.suffix.lower() in H5_SUFFIXES:
        import h5py

        with h5py.File(path, "a") as f:
            f.attrs[CLASS_NAMES_ATTR] = json.dumps(class_names)
            f.attrs[INFO_ATTR] = json.dumps(_jsonable(info), sort_keys=True)
    else:
        with zipfile.ZipFile(path, "a") as z:
            z.writestr(CLASS_NAMES_ENTRY, json.dumps(class_names))
            z.writestr(INFO_ENTRY, json.dumps(_jsonable(info), sort_keys=True))


def _read_embedded(path: Path, attr: str, entry: str) -> Any | None:
    if not path.is_file():
        return None
    raw: Any = None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if entry in z.namelist():
                raw = z.read(entry).decode("utf-8")
    else:
        import h5py

        if h5py.is_hdf5(path):
            with h5py.File(path, "r") as f:
                raw = f.attrs.get(attr)
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        return json.loads(str(raw))
    except json.JSONDecodeError:
        raise ModelLoadError(
            f"the {attr} stored in {path} is not valid JSON",
            received=str(raw)[:80],
            fix="Re-save the model with edgesdk train or compress",
        ) from None


def read_class_names(model_path: str | Path) -> tuple[str, ...] | None:
    """The class names stored with a model, or ``None`` if it carries none.

    Looks, in order, at the HDF5 root attribute ``edgesdk_class_names`` (``.h5``), the
    zip entry ``edgesdk_class_names.json`` (``.keras``), and a sidecar text file
    ``<model file>.labels.txt`` (one name per line) for models from elsewhere.
    """
    p = Path(model_path)
    if not p.exists():
        raise ModelLoadError(
            f"the model file {p} does not exist",
            received=str(model_path),
            fix="Check the path",
        )
    names = _read_embedded(p, CLASS_NAMES_ATTR, CLASS_NAMES_ENTRY)
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ModelLoadError(
                f"the class names stored in {p} are not a list of strings",
                received=repr(names)[:80],
                fix="Re-save the model with edgesdk train or compress",
            )
        return tuple(names)
    sidecar = p.with_name(p.name + LABELS_SIDECAR_SUFFIX)
    if sidecar.is_file():
        lines = sidecar.read_text(encoding="utf-8").splitlines()
        return tuple(line.strip() for line in lines if line.strip())
    return None


def read_model_info(model_path: str | Path) -> dict[str, Any] | None:
    """What edgesdk stored about a model it saved (arch, preprocessing, compression)."""
    info = _read_embedded(Path(model_path), INFO_ATTR, INFO_ENTRY)
    return info if isinstance(info, dict) else None


def write_json(path: Path, obj: Mapping[str, Any]) -> Path:
    """Write ``obj`` as JSON atomically."""
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.write_text(json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def sidecar_path(model_path: Path, kind: str, suffix: str) -> Path:
    """``dir/model.h5`` -> ``dir/model.<kind><suffix>`` (e.g. ``model.training.json``)."""
    return model_path.with_name(f"{model_path.stem}.{kind}{suffix}")


# --------------------------------------------------------------------------- training


def progress_callback(
    on_epoch: Callable[[EpochLog], None] | None, stage: str, epochs: int
) -> list[Any]:
    """A Keras callback list reporting each finished epoch to ``on_epoch``."""
    if on_epoch is None:
        return []
    report = on_epoch
    keras = tf_keras()

    class _Progress(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            metrics = {k: float(v) for k, v in (logs or {}).items()}
            seconds = time.perf_counter() - self._start
            report(EpochLog(stage, epoch + 1, epochs, metrics, seconds))

    return [_Progress()]


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
        return architectures.build(config.arch, opts)
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


def train(
    data: str | Path,
    output: str | Path = "model.h5",
    *,
    arch: str = "small_cnn",
    image_size: int | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    val_split: float = 0.2,
    seed: int = 0,
    alpha: float = 1.0,
    weights: str = "none",
    augment: bool = True,
    distribute: Distribute | str = Distribute.none,
    force: bool = False,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainResult:
    """Train a classifier on ``data`` and save it to ``output`` (``.h5`` or ``.keras``).

    Writes ``output`` with class names inside, ``<stem>.training.json`` and
    ``<stem>.training.png`` beside it. Everything is validated before training starts;
    on an error nothing is written. ``on_epoch`` receives an :class:`EpochLog` per epoch.
    """
    config = TrainConfig(
        arch=arch,
        image_size=image_size,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        val_split=val_split,
        seed=seed,
        alpha=alpha,
        weights=weights,
        augment=augment,
        distribute=as_distribute(distribute),
    )
    out = check_output(output, force=force)
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
    if config.weights != "none" and c != 3:
        raise ConfigError(
            "pretrained weights need RGB images",
            received=f"{c}-channel images with weights={config.weights!r}",
            supported="3-channel (RGB) data with pretrained weights",
            fix="Use RGB images, or --weights none",
        )
    train_idx, val_idx = stratified_split(labeled.y, config.val_split, config.seed)

    keras = tf_keras()
    keras.utils.set_random_seed(config.seed)
    strategy = _strategy(config.distribute)
    with strategy.scope():
        model = _build(config, labeled.input_shape, len(labeled.class_names))
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
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
    start = time.perf_counter()
    hist = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        verbose=0,
        callbacks=progress_callback(on_epoch, "train", config.epochs),
    )
    seconds = time.perf_counter() - start
    val_loss, val_acc = (float(v) for v in model.evaluate(val_ds, verbose=0))
    history = {k: tuple(float(v) for v in vs) for k, vs in hist.history.items()}

    info = {
        **spec.describe(config.alpha),
        "compression": [],
        "tf_keras_version": keras.__version__,
    }
    save_model(model, out, class_names=labeled.class_names, info=info)
    report_path = sidecar_path(out, "training", ".json")
    plot_path = sidecar_path(out, "training", ".png")
    result = TrainResult(
        model_path=out,
        class_names=labeled.class_names,
        arch=spec.name,
        input_shape=labeled.input_shape,
        val_accuracy=val_acc,
        val_loss=val_loss,
        train_accuracy=history.get("accuracy", (math.nan,))[-1],
        train_loss=history.get("loss", (math.nan,))[-1],
        epochs=config.epochs,
        seconds=seconds,
        history=history,
        num_train=int(train_idx.size),
        num_val=int(val_idx.size),
        params=int(model.count_params()),
        report_path=report_path,
        plot_path=plot_path,
        config={**config.to_dict(), "data": str(data)},
    )
    write_json(report_path, {**result.to_dict(), "versions": _versions()})
    plot_history(history, plot_path, title=f"{spec.name} on {Path(str(data)).name}")
    return result


def _versions() -> dict[str, str]:
    return {"tensorflow": tf().__version__, "tf_keras": tf_keras().__version__}


# --------------------------------------------------------------------------- plot


def plot_history(history: Mapping[str, Sequence[float]], path: Path, *, title: str = "") -> Path:
    """Draw loss and accuracy per epoch (train and validation) to a PNG with PIL."""
    from PIL import Image, ImageDraw, ImageFont

    width, height, pad = 960, 400, 56
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    draw.text((pad, 10), title, fill="black", font=font)
    colours = {"train": (31, 119, 180), "val": (255, 127, 14)}
    panels = (("loss", "loss", "val_loss"), ("accuracy", "accuracy", "val_accuracy"))
    panel_w = (width - 3 * pad) // 2
    for i, (name, train_key, val_key) in enumerate(panels):
        x0, y0 = pad + i * (panel_w + pad), 40
        x1, y1 = x0 + panel_w, height - pad
        draw.rectangle((x0, y0, x1, y1), outline="black")
        draw.text((x0, y1 + 24), f"{name} per epoch", fill="black", font=font)
        series = {
            k: list(history.get(key, ())) for k, key in (("train", train_key), ("val", val_key))
        }
        values = [v for s in series.values() for v in s if math.isfinite(v)]
        if not values:
            continue
        lo, hi = min(values), max(values)
        if name == "accuracy":
            lo, hi = min(lo, 0.0), max(hi, 1.0)
        if hi - lo < 1e-9:
            hi = lo + 1.0
        n = max(len(s) for s in series.values())
        for frac in (0.0, 0.5, 1.0):
            yy = y1 - frac * (y1 - y0)
            draw.line((x0 - 4, yy, x0, yy), fill="black")
            label = f"{lo + frac * (hi - lo):.3g}"
            draw.text((x0 - pad + 4, yy - 6), label, fill="black", font=font)
        for e in range(n):
            xx = x0 + (e + 0.5) * (x1 - x0) / n
            if n <= 20 or e % max(1, n // 10) == 0:
                draw.line((xx, y1, xx, y1 + 4), fill="black")
                draw.text((xx - 3, y1 + 6), str(e + 1), fill="black", font=font)
        for k, s in series.items():
            pts = [
                (x0 + (e + 0.5) * (x1 - x0) / n, y1 - (v - lo) / (hi - lo) * (y1 - y0))
                for e, v in enumerate(s)
                if math.isfinite(v)
            ]
            if len(pts) > 1:
                draw.line(pts, fill=colours[k], width=2)
            for px, py in pts:
                draw.ellipse((px - 3, py - 3, px + 3, py + 3), fill=colours[k])
        for j, k in enumerate(series):
            lx, ly = x1 - 90, y0 + 8 + 16 * j
            draw.line((lx, ly + 6, lx + 20, ly + 6), fill=colours[k], width=3)
            legend = "validation" if k == "val" else "training"
            draw.text((lx + 26, ly), legend, fill="black", font=font)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}.png")
    img.save(tmp, format="PNG")
    os.replace(tmp, path)
    return path


__all__ = [
    "Distribute",
    "EpochLog",
    "LabeledData",
    "TrainConfig",
    "TrainResult",
    "load_labeled",
    "read_class_names",
    "read_model_info",
    "save_model",
    "stratified_split",
    "train",
]
