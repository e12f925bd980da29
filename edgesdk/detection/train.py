"""``edgesdk train DATA --task object_detector``: train the SSD-style detector on boxes."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, OutputError
from .anchors import AnchorSpec, generate, targets
from .data import DetectionData, load_detection_data
from .metrics import mean_average_precision
from .postprocess import Detections, PostProcessOptions, detect

_MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")


@dataclass(frozen=True)
class DetectorTrainConfig:
    """Options of detector training; validated on construction."""

    image_size: int = 128
    alpha: float = 0.35
    epochs: int = 20
    batch_size: int = 16
    learning_rate: float = 2e-3
    val_split: float = 0.2
    seed: int = 0
    weights: str = "none"
    augment: bool = True

    def __post_init__(self) -> None:
        if self.image_size < 64 or self.image_size % 32:
            raise ConfigError(
                "the detector's --image-size must be a multiple of 32, at least 64",
                received=f"image_size={self.image_size}",
                supported="64, 96, 128, 160, 192, 224, ...",
                fix="Pass e.g. --image-size 128",
            )
        if self.alpha not in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
            raise ConfigError(
                "MobileNetV2's --alpha must be one of its widths",
                received=f"alpha={self.alpha}",
                supported="0.35, 0.5, 0.75, 1.0, 1.3, 1.4",
                fix="Pass e.g. --alpha 0.35",
            )
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(
                    f"--{name.replace('_', '-')} must be >= 1", received=getattr(self, name)
                )
        if not 0.0 < self.val_split < 1.0:
            raise ConfigError("--val-split must be between 0 and 1", received=self.val_split)
        if self.weights == "imagenet":
            raise ConfigError(
                "the detector cannot start from --weights imagenet",
                received="weights='imagenet'",
                supported="none, or PATH to a MobileNetV2 weights file of the same --alpha",
                fix="Train from scratch (--weights none) or pass a weights file",
            )
        if self.weights != "none" and not Path(self.weights).is_file():
            raise ConfigError(
                "the --weights file does not exist",
                received=self.weights,
                fix="Pass a MobileNetV2 (include_top=False) weights file, or none",
            )


@dataclass(frozen=True)
class DetectorTrainResult:
    model_path: Path
    class_names: tuple[str, ...]
    num_anchors: int
    train_samples: int
    val_samples: int
    map50: float
    map: float
    train_seconds: float
    history: dict[str, list[float]]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["model_path"] = str(self.model_path)
        d["class_names"] = list(self.class_names)
        return d


def _targets(
    anchors: np.ndarray, boxes: list[np.ndarray], classes: list[np.ndarray], c: int
) -> tuple[np.ndarray, np.ndarray]:
    pairs = [targets(anchors, b, k, c) for b, k in zip(boxes, classes, strict=True)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def _flip(x: np.ndarray, boxes: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    flipped = [b[:, [0, 3, 2, 1]] * [1, -1, 1, -1] + [0, 1, 0, 1] for b in boxes]
    return x[:, :, ::-1, :], [f.astype(np.float32) for f in flipped]


def predict(
    model: Any, x: np.ndarray, anchors: np.ndarray, opts: PostProcessOptions, batch_size: int = 32
) -> list[Detections]:
    """Keras model on raw pixels -> detections per image (numpy post-processing)."""
    enc, scores = model.predict(x, batch_size=batch_size, verbose=0)
    return [detect(enc[i], scores[i], anchors, opts) for i in range(len(x))]


def evaluate(
    model: Any,
    data: DetectionData,
    anchors: np.ndarray,
    size: int,
    opts: PostProcessOptions | None = None,
) -> dict[str, float]:
    x, boxes, classes = data.resized(size)
    dets = predict(model, x, anchors, opts or PostProcessOptions(score_threshold=0.01))
    return mean_average_precision(dets, boxes, classes, len(data.class_names))


def train_detector(
    data: str | Path | DetectionData,
    output: str | Path,
    config: DetectorTrainConfig | None = None,
    *,
    force: bool = False,
    on_epoch: Any = None,
) -> DetectorTrainResult:
    """Train on a COCO/VOC folder (or loaded data) and save a detector carrying its anchors
    and class names; ``<stem>.training.json`` goes beside it."""
    from .._io import stdout_to_stderr
    from .._tf import tf, tf_keras
    from .model import box_loss, build, detector_info, focal_loss, save

    cfg = config or DetectorTrainConfig()
    out = Path(output)
    if out.suffix.lower() not in _MODEL_SUFFIXES:
        raise ConfigError(
            "the output model must end in .h5 or .keras",
            received=str(out),
            fix="Pass e.g. -o detector.h5",
        )
    if out.exists() and not force:
        raise OutputError(
            "the output model already exists",
            received=str(out),
            fix="Pass --force to overwrite it, or choose another path",
        )
    ds = data if isinstance(data, DetectionData) else load_detection_data(data)
    if len(ds) < 2:
        raise ConfigError(
            "detector training needs at least 2 images",
            received=len(ds),
            fix="Add annotated images",
        )
    train_set, val_set = ds.split(cfg.val_split, cfg.seed)
    spec = AnchorSpec(cfg.image_size)
    anchors = generate(spec)
    c = len(ds.class_names)
    x, boxes, classes = train_set.resized(cfg.image_size)
    if cfg.augment:
        fx, fb = _flip(x, boxes)
        x = np.concatenate([x, fx])
        boxes, classes = boxes + fb, classes + classes
    box_t, cls_t = _targets(anchors, boxes, classes, c)

    t0 = time.perf_counter()
    tf().random.set_seed(cfg.seed)
    tf_keras().utils.set_random_seed(cfg.seed)
    model = build(spec, c, cfg.alpha, cfg.weights)
    keras = tf_keras()
    model.compile(
        optimizer=keras.optimizers.Adam(cfg.learning_rate),
        loss={"boxes": box_loss, "scores": focal_loss},
    )
    callbacks = []
    if on_epoch is not None:

        class _Cb(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                on_epoch(epoch + 1, cfg.epochs, dict(logs or {}))

        callbacks.append(_Cb())
    with stdout_to_stderr():
        hist = model.fit(
            x,
            {"boxes": box_t, "scores": cls_t},
            batch_size=cfg.batch_size,
            epochs=cfg.epochs,
            shuffle=True,
            verbose=0,
            callbacks=callbacks,
        )
        seconds = time.perf_counter() - t0
        scores = evaluate(model, val_set, anchors, cfg.image_size)
    info = detector_info(
        ds.class_names,
        anchors,
        spec,
        image_size=cfg.image_size,
        alpha=cfg.alpha,
        trained_on=ds.source,
        val_map50=round(scores["map50"], 4),
        val_map=round(scores["map"], 4),
    )
    save(model, out, info)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    result = DetectorTrainResult(
        out,
        ds.class_names,
        len(anchors),
        len(train_set),
        len(val_set),
        scores["map50"],
        scores["map"],
        seconds,
        history,
    )
    sidecar = out.with_name(f"{out.stem}.training.json")
    sidecar.write_text(
        json.dumps({"task": "object_detector", "config": asdict(cfg), **result.to_dict()}, indent=2)
        + "\n",
        encoding="utf-8",
    )
    return result
