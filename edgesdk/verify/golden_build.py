"""Golden vectors, the building: samples from data or generated, their stored sizes, the
tolerance per output type, and the reference outputs from LiteRT on the host."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import preprocess
from ..errors import DataError
from .golden_format import MAX_PIXELS, GoldenCase, GoldenSet, RawSample, TensorSpec, _le
from .tolerance import case_tolerance, tolerance_basis


def _fit(h: int, w: int, max_pixels: int) -> tuple[int, int]:
    if h * w <= max_pixels:
        return h, w
    s = math.sqrt(max_pixels / (h * w))
    return max(1, int(h * s)), max(1, int(w * s))


def _other_size(i: int, height: int, width: int) -> tuple[int, int]:
    """A non-square size unlike the model input's, varied with ``i``: larger than the model
    input for even ``i`` (the device downscales), smaller for odd ``i`` (it upscales)."""
    k = i // 2
    if i % 2 == 0:
        h = height + max(1, height // 2) + k % 4
        w = width + max(3, width // 4) + (3 * k) % 5
    else:
        h = max(1, height * 2 // 3 - k % 3)
        w = max(2, width * 3 // 5 + 2 + k % 4)
    if h == w:
        w += 1
    return h, w


def stored_size(
    i: int, src: tuple[int, int], model: tuple[int, int], max_pixels: int = MAX_PIXELS
) -> tuple[int, int]:
    """The ``(height, width)`` case ``i`` is stored at, for a sample of size ``src``."""
    h, w = _fit(src[0], src[1], max_pixels)
    if (h, w) == tuple(model) and i % 2 == 1:
        h, w = _fit(*_other_size(i // 2, *model), max_pixels)
        if (h, w) == tuple(model):
            h = h - 1 if h > 1 else h + 1
    return h, w


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(np.asarray(values, np.float32) + np.float32(0.5)), 0, 255).astype(
        np.uint8
    )


def _resized(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if pixels.shape[:2] == tuple(size):
        return pixels
    out = preprocess.resize_bilinear(pixels, size[0], size[1])
    return _to_uint8(out.reshape(size[0], size[1], pixels.shape[2]))


def _spread(total: int, n: int) -> list[int]:
    """``n`` indices spread evenly over ``range(total)`` (all of them when ``total <= n``)."""
    if total <= n:
        return list(range(total))
    return sorted({int(round(v)) for v in np.linspace(0, total - 1, n)})


def samples_from_data(path: Path, model_channels: int, n: int) -> list[RawSample]:
    """Up to ``n`` samples spread over a data set, at their ORIGINAL size, as uint8.

    Image folders are read as RGB (also for gray models: the device then runs the gray
    formula); an ``.npz`` gives its ``x`` as stored (values rounded to 0..255).
    """
    from ..data import IMAGE_SUFFIXES, read_image

    path = Path(path)
    if path.is_dir():
        files: list[tuple[int, Path]] = []
        folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
        for label, folder in enumerate(folders):
            files += [
                (label, f)
                for f in sorted(folder.iterdir())
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
            ]
        out = []
        for i in _spread(len(files), n):
            label, f = files[i]
            try:
                pixels = read_image(f, 3)
            except DataError:  # not a usable image: the data's loader skipped or refused it
                continue
            out.append(RawSample(pixels, label, f"{path.name}/{f.relative_to(path).as_posix()}"))
        return out
    try:
        with np.load(path, allow_pickle=False) as data:
            x = np.asarray(data["x"])
            y = np.asarray(data["y"]).reshape(-1) if "y" in data.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"could not read golden samples from {path}",
            received=f"{type(exc).__name__}: {exc}",
            supported="an .npz with x (raw pixel values) and optionally y",
        ) from None
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise DataError(
            f"the images in {path} cannot make golden vectors",
            received=f"x.shape={x.shape}",
            supported="x of shape (N, H, W), (N, H, W, 1) or (N, H, W, 3)",
        )
    if x.shape[-1] == 1 and model_channels == 3:
        x = np.repeat(x, 3, axis=-1)
    return [
        RawSample(
            _to_uint8(x[i]),
            None if y is None or len(y) != len(x) else int(y[i]),
            f"{path.name}:x[{i}]",
        )
        for i in _spread(len(x), n)
    ]


def generated_samples(n: int, height: int, width: int, seed: int = 0) -> list[RawSample]:
    """``n`` seeded synthetic RGB images (gradients, discs, noise) of sizes unlike the model's."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        h, w = _fit(*_other_size(i, height, width), MAX_PIXELS)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.empty((h, w, 3), np.float32)
        for c in range(3):
            gx, gy, base = rng.uniform(-1.0, 1.0, 3)
            img[..., c] = 127.5 + 60.0 * (gx * xx / max(w - 1, 1) + gy * yy / max(h - 1, 1))
            img[..., c] += 40.0 * base
        for _ in range(3):
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            r = rng.uniform(0.15, 0.45) * min(h, w) + 1.0
            img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = rng.uniform(0, 255, 3)
        img += rng.normal(0.0, 8.0, img.shape).astype(np.float32)
        out.append(RawSample(_to_uint8(img), None, f"generated[seed={seed}, {i}]"))
    return out


def model_pixels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """Stored pixels -> what the model's preprocessing starts from (the Kotlin twin's rule:
    gray pixels become R = G = B, RGB pixels become Pillow's gray for 1-channel models)."""
    if pixels.shape[-1] == channels:
        return pixels
    if channels == 1:
        return preprocess.rgb_to_gray(pixels)
    return np.repeat(pixels, 3, axis=-1)


def top1_of(scores: np.ndarray) -> tuple[int, float]:
    """Top-1 index (ties: lower index) and its margin over the runner-up; -1 if not finite."""
    s = np.asarray(scores, np.float32).reshape(-1)
    if s.size == 0 or not np.isfinite(s).all():
        return -1, 0.0
    ranked = preprocess.top_k(s, 2)
    margin = ranked[0][1] - ranked[1][1] if len(ranked) > 1 else math.inf
    return ranked[0][0], float(margin)


def build_golden(
    model_bytes: bytes,
    samples: Sequence[RawSample],
    *,
    mean: Sequence[float],
    std: Sequence[float],
    quantization: str,
    source: str,
    runner: Any = None,
    max_pixels: int = MAX_PIXELS,
) -> GoldenSet:
    """Run ``samples`` through the Python preprocessing and LiteRT: the golden set.

    ``runner`` is an :class:`edgesdk.verify.host.TFLiteRunner` of ``model_bytes`` (one is
    made when omitted).
    """
    from .host import TFLiteRunner

    runner = runner or TFLiteRunner(model_bytes)
    if len(runner.input.shape) != 4:
        raise DataError(
            "golden vectors need an image model",
            received=f"input shape {runner.input.shape}",
            supported="(1, H, W, 1) or (1, H, W, 3) inputs",
        )
    _, height, width, channels = runner.input.shape
    inp = TensorSpec(
        runner.input.dtype, runner.input.shape, runner.input.scale, runner.input.zero_point
    )
    out = TensorSpec(
        runner.output.dtype, runner.output.shape, runner.output.scale, runner.output.zero_point
    )
    mean_t = tuple(float(np.float32(m)) for m in mean)
    std_t = tuple(float(np.float32(s)) for s in std)
    cases = []
    for i, sample in enumerate(samples):
        src = np.asarray(sample.pixels, np.uint8)
        if src.ndim == 2:
            src = src[..., None]
        h, w = stored_size(i, src.shape[:2], (height, width), max_pixels)
        stored = _resized(src, (h, w))
        tensor = runner.prepare(model_pixels(stored, channels), mean_t, std_t)
        raw = runner.run_tensor(tensor)
        scores = runner.dequantized(raw).reshape(-1).astype(np.float32)
        top1, margin = top1_of(scores)
        cases.append(
            GoldenCase(
                index=i,
                width=w,
                height=h,
                channels=int(stored.shape[2]),
                pixels=stored.tobytes(),
                input_sha256=hashlib.sha256(_le(tensor, inp.dtype)).hexdigest(),
                output=_le(raw.reshape(-1), out.dtype),
                scores=tuple(float(v) for v in scores),
                top1=top1,
                top1_margin=margin,
                tolerance=case_tolerance(out, quantization, scores),
                label=sample.label,
                origin=sample.origin,
            )
        )
    return GoldenSet(
        model_sha256=hashlib.sha256(model_bytes).hexdigest(),
        quantization=quantization,
        input=inp,
        output=out,
        mean=mean_t,
        std=std_t,
        num_classes=int(np.prod(out.shape[1:])) if len(out.shape) > 1 else int(out.shape[0]),
        source=source,
        tolerance_basis=tolerance_basis(out, quantization),
        cases=tuple(cases),
    )
