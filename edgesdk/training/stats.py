"""Weight statistics, sizes and held-out accuracy of a model, before and after compression.

Sizes are measured, never estimated: the model file in its format and gzipped, its
float TFLite conversion and gzipped, and the float TFLite conversion with the
converter's sparsity encoding (``tf.lite.Optimize.EXPERIMENTAL_SPARSITY``, which stores
a sparse weight tensor in a compressed format when that is smaller). The
dense conversion does not shrink with sparsity; only gzip and the sparsity encoding see it.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._tf import tf, tf_keras
from ..errors import ConversionError


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
    #: The float TFLite conversion with the converter's sparsity encoding (``None``: not
    #: measured for a model with under 5 % zeros, or the converter could not apply it).
    tflite_sparse_bytes: int | None = None

    @property
    def sparse_encoding_saves(self) -> bool:
        """Whether TFLite's sparsity encoding made the float ``.tflite`` smaller."""
        return self.tflite_sparse_bytes is not None and self.tflite_sparse_bytes < (
            self.tflite_bytes
        )

    @property
    def unique_weights(self) -> dict[str, int]:
        """Distinct values per kernel."""
        return {k.name: k.unique for k in self.kernels}

    @property
    def max_unique_weights(self) -> int:
        return max((k.unique for k in self.kernels), default=0)


#: Below this fraction of zero weights the sparse conversion is not measured.
SPARSE_MEASURE_FROM = 0.05

_KERNEL_NAMES = ("kernel", "depthwise_kernel", "pointwise_kernel")


def gzip_size(data: bytes) -> int:
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


def tflite_float_bytes(model: Any, *, sparse: bool = False) -> bytes:
    """The float TFLite conversion of a tf_keras model (no optimizations).

    ``sparse``: with ``tf.lite.Optimize.EXPERIMENTAL_SPARSITY``, which encodes a weight
    tensor in TFLite's sparse format where that is smaller (weights stay float32).
    """
    tfm = tf()
    try:
        converter = tfm.lite.TFLiteConverter.from_keras_model(model)
        if sparse:
            converter.optimizations = [tfm.lite.Optimize.EXPERIMENTAL_SPARSITY]
        return bytes(converter.convert())
    except Exception as exc:
        raise ConversionError(
            "the TFLite converter could not convert the model",
            received=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
            fix="Check that the model uses TFLite-supported layers",
        ) from None


def model_stats(
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
    sparsity = float(zeros / total) if total else 0.0
    # The sparsity encoding has nothing to encode in a dense model: not measured then.
    sparse: int | None = None
    if sparsity >= SPARSE_MEASURE_FROM:
        try:
            sparse = len(tflite_float_bytes(model, sparse=True))
        except ConversionError:
            sparse = None
    return ModelStats(
        accuracy=acc,
        loss=loss,
        params=int(model.count_params()),
        file_bytes=len(raw),
        file_gzip_bytes=gzip_size(raw),
        tflite_bytes=len(lite),
        tflite_gzip_bytes=gzip_size(lite),
        sparsity=sparsity,
        kernels=kernels,
        tflite_sparse_bytes=sparse,
    )


def outputs_probabilities(model: Any, x: np.ndarray) -> bool:
    """Whether the model ends in a softmax (rows >= 0 summing to 1) rather than logits."""
    p = np.asarray(model(x[:32], training=False))
    return bool(np.all(p >= -1e-6) and np.allclose(p.sum(axis=-1), 1.0, atol=1e-3))


__all__ = [
    "KernelStats",
    "ModelStats",
    "gzip_size",
    "kernel_stats",
    "model_stats",
    "outputs_probabilities",
    "tflite_float_bytes",
]
