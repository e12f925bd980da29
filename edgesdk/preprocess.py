"""The preprocessing contract shared by Python and the generated Kotlin.

Every step here has a twin in the generated Kotlin wrapper (``Preprocessing``),
written with the same arithmetic in the same order on float32 values, so the
tensor Python feeds the interpreter and the tensor the phone feeds it agree:

1. **Resize** raw pixels (``H x W x C``, values 0..255) to the model input size
   with bilinear interpolation, half-pixel centres (``align_corners=False``, the
   convention of ``tf.image.resize(..., "bilinear")`` without antialias):
   ``src = (dst + 0.5) * (in / out) - 0.5`` clamped to ``[0, in - 1]``;
   ``x0 = floor(src)``, ``x1 = min(x0 + 1, in - 1)``, ``f = src - x0``;
   ``top = p00 + (p01 - p00) * fx``, ``bottom = p10 + (p11 - p10) * fx``,
   ``value = top + (bottom - top) * fy``. A resize to the same size is the identity.
2. **Normalize** per channel: ``(value - mean[c]) / std[c]``.
3. **Quantize** (int8 / uint8 inputs only): ``q = floor(x / scale + 0.5) + zero_point``
   clamped to the type's range.

Gray models: 3-channel pixels become one channel with Pillow's ``Image.convert("L")``
integer formula ``(R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16`` (:func:`rgb_to_gray`),
the same the Kotlin wrapper applies to ARGB pixels.

Output postprocessing: **dequantize** ``(q - zero_point) * scale``, then **top-k**
by descending score, ties broken by the lower index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_F32 = np.float32


def _axis_coords(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = _F32(n_in) / _F32(n_out)
    dst = np.arange(n_out, dtype=_F32)
    src = (dst + _F32(0.5)) * scale - _F32(0.5)
    src = np.clip(src, _F32(0.0), _F32(n_in - 1)).astype(_F32)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = (src - i0.astype(_F32)).astype(_F32)
    return i0, i1, frac


def rgb_to_gray(pixels: np.ndarray) -> np.ndarray:
    """``H x W x 3`` RGB (0..255 integers) -> ``H x W x 1`` uint8 gray, exactly as Pillow's
    ``Image.convert("L")``: ``(R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16``."""
    rgb = np.asarray(pixels)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"expected H x W x 3 RGB pixels, got shape {rgb.shape}")
    c = rgb.astype(np.int64)
    gray = (c[..., 0] * 19595 + c[..., 1] * 38470 + c[..., 2] * 7471 + 0x8000) >> 16
    return gray.astype(np.uint8)[..., None]


def resize_bilinear(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize ``H x W x C`` (or ``H x W``) pixels to ``height x width``; returns float32.

    Follows the contract in the module docstring exactly (same operation order as
    the Kotlin twin). A same-size resize returns the pixels unchanged as float32.
    """
    src = np.asarray(pixels)
    squeeze = src.ndim == 2
    if squeeze:
        src = src[:, :, None]
    if src.ndim != 3:
        raise ValueError(f"expected H x W x C pixels, got shape {src.shape}")
    src = src.astype(_F32)
    h_in, w_in = src.shape[:2]
    if (h_in, w_in) == (height, width):
        out = src
    else:
        y0, y1, fy = _axis_coords(h_in, height)
        x0, x1, fx = _axis_coords(w_in, width)
        fx = fx[None, :, None]
        fy = fy[:, None, None]
        p00 = src[y0][:, x0]
        p01 = src[y0][:, x1]
        p10 = src[y1][:, x0]
        p11 = src[y1][:, x1]
        top = p00 + (p01 - p00) * fx
        bottom = p10 + (p11 - p10) * fx
        out = (top + (bottom - top) * fy).astype(_F32)
    return out[:, :, 0] if squeeze else out


def normalize(values: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """``(values - mean) / std`` per channel (last axis), in float32."""
    v = np.asarray(values, dtype=_F32)
    m = np.asarray(mean, dtype=_F32)
    s = np.asarray(std, dtype=_F32)
    return ((v - m) / s).astype(_F32)


def quantize(
    values: np.ndarray, scale: float, zero_point: int, dtype: np.dtype | type
) -> np.ndarray:
    """Quantize float32 values to ``dtype`` (int8 or uint8): ``floor(x/scale + 0.5) + zp``."""
    info = np.iinfo(dtype)
    v = np.asarray(values, dtype=_F32)
    q = np.floor(v / _F32(scale) + _F32(0.5)).astype(np.int64) + int(zero_point)
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """``(q - zero_point) * scale`` in float32."""
    q = np.asarray(values).astype(np.int64) - int(zero_point)
    return (q.astype(_F32) * _F32(scale)).astype(_F32)


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Indices and scores of the ``k`` largest scores; ties go to the lower index."""
    s = np.asarray(scores, dtype=_F32).reshape(-1)
    order = sorted(range(s.size), key=lambda i: (-float(s[i]), i))
    return [(i, float(s[i])) for i in order[: max(0, min(k, s.size))]]


def prepare_input(
    pixels: np.ndarray,
    *,
    height: int,
    width: int,
    mean: Sequence[float],
    std: Sequence[float],
    dtype: np.dtype | type = np.float32,
    scale: float = 0.0,
    zero_point: int = 0,
) -> np.ndarray:
    """Raw pixels -> the exact input tensor (without batch axis) the interpreter gets."""
    resized = resize_bilinear(pixels, height, width)
    if resized.ndim == 2:
        resized = resized[:, :, None]
    x = normalize(resized, mean, std)
    if np.dtype(dtype) == np.float32:
        return x
    return quantize(x, scale, zero_point, dtype)


__all__ = [
    "rgb_to_gray",
    "resize_bilinear",
    "normalize",
    "quantize",
    "dequantize",
    "top_k",
    "prepare_input",
]
