"""What training and compression report: per-epoch progress, JSON reports, curves (PNG)."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from .._tf import tf_keras


@dataclass(frozen=True)
class EpochLog:
    """One finished epoch, as passed to ``on_epoch`` callbacks."""

    stage: str
    epoch: int
    epochs: int
    metrics: Mapping[str, float]
    seconds: float
    #: Optimizer updates done so far in this stage, and scheduled (0: not counted).
    step: int = 0
    steps: int = 0


def jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: Path, obj: Mapping[str, Any]) -> Path:
    """Write ``obj`` as JSON atomically."""
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.write_text(json.dumps(jsonable(obj), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def progress_callback(
    on_epoch: Callable[[EpochLog], None] | None,
    stage: str,
    epochs: int,
    steps_per_epoch: int = 0,
) -> list[Any]:
    """A Keras callback list reporting each finished epoch (and the steps) to ``on_epoch``."""
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
            report(
                EpochLog(
                    stage,
                    epoch + 1,
                    epochs,
                    metrics,
                    seconds,
                    step=(epoch + 1) * steps_per_epoch,
                    steps=epochs * steps_per_epoch,
                )
            )

    return [_Progress()]


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
