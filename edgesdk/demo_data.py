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
    n_per_class: int = 100,
    size: int = 32,
    seed: int = 0,
    *,
    classes: tuple[str, ...] = CLASSES,
    grayscale: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (N x size x size x 3 uint8 raw pixels; x 1 when ``grayscale``) and ``y``
    (int64 indices into ``classes``, a subset of :data:`CLASSES`)."""
    unknown = [c for c in classes if c not in CLASSES]
    if unknown:
        raise ValueError(f"unknown shape classes {unknown}; known: {CLASSES}")
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, kind in enumerate(classes):
        for _ in range(n_per_class):
            xs.append(_draw(kind, size, rng))
            ys.append(label)
    order = rng.permutation(len(xs))
    x = np.stack(xs)[order]
    if grayscale:  # ITU-R 601-2 luma, as PIL's convert("L")
        luma = x.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        x = np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None]
    return x, np.asarray(ys, dtype=np.int64)[order]


def write_shapes_folder(
    root: Path,
    n_per_class: int = 100,
    size: int = 32,
    seed: int = 0,
    *,
    classes: tuple[str, ...] = CLASSES,
    grayscale: bool = False,
) -> Path:
    """Write the images as ``root/<class>/<i>.png`` (RGB, or 8-bit gray); returns ``root``."""
    from PIL import Image

    x, y = make_shapes(n_per_class, size, seed, classes=classes, grayscale=grayscale)
    counters = dict.fromkeys(classes, 0)
    for img, label in zip(x, y, strict=True):
        kind = classes[int(label)]
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img[..., 0] if grayscale else img).save(
            folder / f"{counters[kind]:04d}.png"
        )
        counters[kind] += 1
    return root


def write_shapes_npz(path: Path, n_per_class: int = 100, size: int = 32, seed: int = 0) -> Path:
    """Write the demo images as an ``.npz`` with ``x``, ``y`` and ``class_names``."""
    x, y = make_shapes(n_per_class, size, seed)
    np.savez(path, x=x, y=y, class_names=np.array(CLASSES))
    return path
