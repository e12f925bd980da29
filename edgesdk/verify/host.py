"""Tier 1, host parity: the Keras reference vs a TFLite model in the LiteRT interpreter.

Both sides get the same raw pixels; the TFLite side goes through
:func:`edgesdk.preprocess.prepare_input` (the contract shared with Kotlin), the
Keras side gets the normalized float tensor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import preprocess


@dataclass(frozen=True)
class TensorQuant:
    """dtype and affine quantization of one interpreter tensor (scale 0 = not quantized)."""

    dtype: str
    shape: tuple[int, ...]
    scale: float
    zero_point: int


class TFLiteRunner:
    """Runs a ``.tflite`` one sample at a time from raw inputs, quantizing as needed."""

    def __init__(self, model: bytes, num_threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        from .._io import quiet_native
        from ..errors import ModelLoadError
        from ..metadata.tflite_reader import read_model

        read_model(model)  # structural check first: damaged bytes stop here, not in C++
        try:
            with quiet_native():  # LiteRT prints a delegate notice on stderr
                self.interpreter = Interpreter(model_content=model, num_threads=num_threads)
                self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(
                "LiteRT cannot load the .tflite model",
                received=f"{type(exc).__name__}: {str(exc).strip()[:300]}",
                supported="a model the TFLite converter wrote",
                fix="Re-create it with 'edgesdk package'",
            ) from None
        self._in = self.interpreter.get_input_details()[0]
        self._out = self.interpreter.get_output_details()[0]
        self.input = _quant(self._in)
        self.output = _quant(self._out)

    def prepare(self, raw: np.ndarray, mean: Any, std: Any) -> np.ndarray:
        """Raw sample -> the exact tensor the interpreter gets (without batch axis)."""
        shape = self.input.shape
        if len(shape) == 4:
            return preprocess.prepare_input(
                raw,
                height=shape[1],
                width=shape[2],
                mean=mean,
                std=std,
                dtype=np.dtype(self.input.dtype),
                scale=self.input.scale,
                zero_point=self.input.zero_point,
            )
        x = preprocess.normalize(np.asarray(raw, np.float32).reshape(shape[1:]), mean, std)
        if self.input.dtype == "float32":
            return x
        return preprocess.quantize(
            x, self.input.scale, self.input.zero_point, np.dtype(self.input.dtype)
        )

    def run_tensor(self, tensor: np.ndarray) -> np.ndarray:
        """Feed one prepared tensor; returns the raw output tensor (no batch axis)."""
        self.interpreter.set_tensor(self._in["index"], tensor[None].astype(self.input.dtype))
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self._out["index"])[0])

    def dequantized(self, raw_out: np.ndarray) -> np.ndarray:
        if self.output.dtype == "float32":
            return raw_out.astype(np.float32)
        return preprocess.dequantize(raw_out, self.output.scale, self.output.zero_point)

    def run(self, raw: np.ndarray, mean: Any, std: Any) -> np.ndarray:
        """Raw sample -> dequantized float output."""
        return self.dequantized(self.run_tensor(self.prepare(raw, mean, std)))


def _quant(detail: dict[str, Any]) -> TensorQuant:
    scale, zp = detail.get("quantization", (0.0, 0))
    return TensorQuant(
        np.dtype(detail["dtype"]).name,
        tuple(int(d) for d in detail["shape"]),
        float(scale),
        int(zp),
    )


@dataclass(frozen=True)
class Parity:
    """Keras vs TFLite on the same samples."""

    samples: int
    source: str
    top1_agreement: float
    max_abs_diff: float
    mean_abs_diff: float
    reference_accuracy: float | None
    tflite_accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def keras_outputs(
    model: Any, x_raw: np.ndarray, mean: Any, std: Any, batch: int = 64
) -> np.ndarray:
    """Reference outputs: the Keras model on normalized inputs."""
    x = preprocess.normalize(x_raw, mean, std)
    outs = []
    for i in range(0, len(x), batch):
        y = model(x[i : i + batch], training=False)
        outs.append(np.asarray(y, dtype=np.float32))
    return np.concatenate(outs, axis=0)


def reference_outputs(loaded: Any, x_raw: np.ndarray, mean: Any, std: Any) -> np.ndarray:
    """The reference model's outputs on raw inputs: Keras models batched, SavedModels through
    their serving signature one sample at a time."""
    if loaded.framework != "saved_model":
        return keras_outputs(loaded.model, x_raw, mean, std)
    from .. import _tf

    tf = _tf.tf()
    fn = loaded.model.signatures["serving_default"]
    key = loaded.inputs[0].name
    out_key = loaded.outputs[0].name
    x = preprocess.normalize(x_raw, mean, std)
    return np.concatenate(
        [np.asarray(fn(**{key: tf.constant(x[i : i + 1])})[out_key]) for i in range(len(x))]
    )


def tflite_outputs(model: bytes, x_raw: np.ndarray, mean: Any, std: Any) -> np.ndarray:
    runner = TFLiteRunner(model)
    return np.stack([runner.run(s, mean, std) for s in x_raw])


def random_inputs(spec: Any, n: int, seed: int = 0) -> np.ndarray:
    """``n`` seeded raw samples for a model input: pixels 0..255 for images, N(0, 1) else."""
    rng = np.random.default_rng(seed)
    shape = (n,) + tuple(int(d or 1) for d in spec.shape[1:])
    x = rng.uniform(0, 255, shape) if spec.is_image else rng.normal(0, 1, shape)
    return x.astype(np.float32)


def abs_diff(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """``|reference - candidate|`` per element; NaN or inf outputs count as an infinite
    difference, so they never pass a tolerance."""
    diff = np.abs(reference - candidate)
    diff[~np.isfinite(diff)] = np.inf
    return diff


def top1(outputs: np.ndarray) -> np.ndarray:
    """Top-1 index per row of ``N x classes`` outputs; -1 for a row with NaN or inf, so it
    never agrees with anything."""
    return np.where(np.isfinite(outputs).all(axis=1), outputs.argmax(axis=1), -1)


def parity(
    reference: np.ndarray,
    candidate: np.ndarray,
    y: np.ndarray | None,
    source: str,
) -> Parity:
    """Compare reference and candidate outputs (``N x classes``), with accuracy
    when ``y`` is known."""
    ref = reference.reshape(len(reference), -1)
    cand = candidate.reshape(len(candidate), -1)
    diff = abs_diff(ref, cand)
    top_ref = ref.argmax(axis=1)
    top_cand = top1(cand)
    acc_ref = acc_cand = None
    if y is not None and len(y) == len(ref):
        acc_ref = float((top_ref == y).mean())
        acc_cand = float((top_cand == y).mean())
    return Parity(
        samples=int(len(ref)),
        source=source,
        top1_agreement=float((top_ref == top_cand).mean()),
        max_abs_diff=float(diff.max()) if diff.size else 0.0,
        mean_abs_diff=float(diff.mean()) if diff.size else 0.0,
        reference_accuracy=acc_ref,
        tflite_accuracy=acc_cand,
    )
