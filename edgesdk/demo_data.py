"""The built-in demo data: small RGB images of shapes, drawn here, no download.

Four classes (circle, cross, square, triangle) with random colours, sizes,
positions and backgrounds, plus pixel noise: easy enough to train in seconds on a
CPU, varied enough that quantization effects are visible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ("circle", "cross", "square", "triangle")  # alphabetical: folder order == index order


def _draw(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image, ImageDraw

    bg = tuple(int(v) for v in rng.integers(0, 90, 3))
    fg = tuple(int(v) for v in rng.integers(140, 256, 3))
    img = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(img)
    r = rng.uniform(0.22, 0.4) * size
    cx, cy = rng.uniform(r, size - r, 2)
    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
    elif kind == "square":
        d.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fg)
    elif kind == "triangle":
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fg)
    else:
        w = max(1.0, r / 3)
        d.rectangle([cx - r, cy - w, cx + r, cy + w], fill=fg)
        d.rectangle([cx - w, cy - r, cx + w, cy + r], fill=fg)
    arr = np.asarray(img, dtype=np.int16) + rng.integers(-12, 13, (size, size, 3))
    return np.clip(arr, 0, 255).astype(np.uint8)


def make_shapes(
    n_per_class: int = 100, size: int = 32, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (N x size x size x 3 uint8 raw pixels) and ``y`` (int64 class indices)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, kind in enumerate(CLASSES):
        for _ in range(n_per_class):
            xs.append(_draw(kind, size, rng))
            ys.append(label)
    order = rng.permutation(len(xs))
    return np.stack(xs)[order], np.asarray(ys, dtype=np.int64)[order]


def write_shapes_folder(root: Path, n_per_class: int = 100, size: int = 32, seed: int = 0) -> Path:
    """Write the demo images as ``root/<class>/<i>.png``; returns ``root``."""
    from PIL import Image

    x, y = make_shapes(n_per_class, size, seed)
    counters = dict.fromkeys(CLASSES, 0)
    for img, label in zip(x, y, strict=True):
        kind = CLASSES[int(label)]
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{counters[kind]:04d}.png")
        counters[kind] += 1
    return root


def write_shapes_npz(path: Path, n_per_class: int = 100, size: int = 32, seed: int = 0) -> Path:
    """Write the demo images as an ``.npz`` with ``x``, ``y`` and ``class_names``."""
    x, y = make_shapes(n_per_class, size, seed)
    np.savez(path, x=x, y=y, class_names=np.array(CLASSES))
    return path
