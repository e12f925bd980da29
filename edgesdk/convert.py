"""Keras / SavedModel -> TFLite bytes, with post-training quantization.

Models are traced with a fixed batch of 1 (static shapes suit phones) and converted
with TFLite builtin ops only, so the result runs on the plain LiteRT runtime.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from .errors import ConfigError, ConversionError
from .models import LoadedModel


class Quantization(str, Enum):
    """Post-training quantization modes."""

    NONE = "none"
    DYNAMIC = "dynamic"
    FLOAT16 = "float16"
    INT8 = "int8"

    @classmethod
    def parse(cls, value: str | Quantization) -> Quantization:
        if isinstance(value, Quantization):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise ConfigError(
                "unknown quantization mode",
                received=f"quantize={value!r}",
                supported=", ".join(m.value for m in cls) + " (and 'auto' for package)",
                fix="Pick one of the supported modes",
            ) from None


@dataclass(frozen=True)
class ConversionResult:
    """The converted flatbuffer and how it was made."""

    tflite: bytes
    quantization: Quantization
    calibration_samples: int


MAX_CALIBRATION_SAMPLES = 256
ORDER_ALL = (Quantization.NONE, Quantization.FLOAT16, Quantization.DYNAMIC, Quantization.INT8)


def _concrete_function(loaded: LoadedModel, fold: Any = None) -> tuple[Any, Any]:
    """The traced serving function; ``fold`` (an :class:`~edgesdk.backbones.InputTransform`)
    becomes its first ops."""
    from . import _tf

    tf = _tf.tf()
    if len(loaded.inputs) != 1:
        raise ConfigError(
            "edgesdk packages models with exactly one input tensor",
            received=f"{len(loaded.inputs)} inputs: {[i.name for i in loaded.inputs]}",
            supported="single-input models (image classifiers, feature vectors)",
            fix="Wrap the model so that it takes one input tensor",
        )
    spec = loaded.inputs[0]
    shape = [1] + [d for d in spec.shape[1:]]
    if any(d is None for d in shape):
        raise ConfigError(
            "the model's input shape has unknown dimensions besides the batch",
            received=f"input shape {spec.shape}",
            supported="a fixed input size such as (None, 224, 224, 3)",
            fix="Give the model's Input layer a fixed shape and save it again",
        )
    sig = tf.TensorSpec(shape, tf.as_dtype(spec.dtype), name=spec.name.replace("/", "_"))

    if loaded.framework == "saved_model":
        fn = loaded.model.signatures.get("serving_default") or next(
            iter(loaded.model.signatures.values())
        )
        key = loaded.inputs[0].name
        out_keys = [o.name for o in loaded.outputs]

        @tf.function(input_signature=[sig])
        def serve_saved(x: Any) -> Any:
            if fold is not None:
                x = fold.apply_tf(x)
            out = fn(**{key: x})
            return out[out_keys[0]] if len(out_keys) == 1 else [out[k] for k in out_keys]

        return serve_saved, serve_saved.get_concrete_function()

    model = loaded.model

    @tf.function(input_signature=[sig])
    def serve(x: Any) -> Any:
        if fold is not None:
            x = fold.apply_tf(x)
        return model(x, training=False)

    return serve, serve.get_concrete_function()


def _representative(data: np.ndarray) -> Iterator[list[np.ndarray]]:
    for i in range(min(len(data), MAX_CALIBRATION_SAMPLES)):
        yield [data[i : i + 1].astype(np.float32)]


_OP_PATTERN = re.compile(r"\btf\.([A-Z][A-Za-z0-9_]*)")


def check_calibration(mode: Quantization, calibration: np.ndarray | None) -> None:
    if mode is Quantization.INT8 and (calibration is None or len(calibration) == 0):
        raise ConfigError(
            "int8 quantization needs calibration data",
            received="quantize='int8' without calibration data",
            supported="--calibration-data FOLDER (one sub-folder per class) or FILE.npz with x",
            fix="Pass --calibration-data with a few hundred representative inputs, "
            "or use --quantize dynamic / float16, which need none",
        )


def _tf_convert(fn: Any, cf: Any, mode: Quantization, calibration: np.ndarray | None) -> bytes:
    """One run of the TFLite converter (float32 or full-integer int8)."""
    from . import _tf

    tf = _tf.tf()
    # The tf.function is the trackable that owns the captured variables: passing the
    # Keras 3 model object instead makes the converter freeze them as NaN.
    converter = tf.lite.TFLiteConverter.from_concrete_functions([cf], fn)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode is Quantization.INT8:
        assert calibration is not None
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: _representative(calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    from ._io import quiet_native

    try:
        with quiet_native():
            return bytes(converter.convert())
    except Exception as exc:  # the converter raises several unrelated types
        raise _conversion_error(exc, mode) from None


# Weight-only float16 and dynamic-range int8 are derived from the float flatbuffer
# with ai-edge-quantizer instead of re-running the converter: ~0.1 s instead of
# ~1 s per variant on a 2.3M-parameter MobileNetV2 (benchmarks/bench_quantize.py).
_FLOAT16_RECIPE = [
    {
        "regex": ".*",
        "operation": "*",
        "algorithm_key": "float_casting",
        "op_config": {
            "weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT", "granularity": "TENSORWISE"},
            "compute_precision": "FLOAT",
            "explicit_dequantize": True,
        },
    }
]


def derive(float_tflite: bytes, mode: Quantization) -> bytes:
    """A float16 or dynamic-range variant of a float32 ``.tflite``."""
    import contextlib
    import io

    from ai_edge_quantizer import quantizer, recipe

    from ._io import quiet_native

    if mode is Quantization.FLOAT16:
        chosen: Any = _FLOAT16_RECIPE
    elif mode is Quantization.DYNAMIC:
        chosen = recipe.dynamic_wi8_afp32()
    else:
        raise ValueError(f"derive() makes float16 or dynamic variants, not {mode.value}")
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), quiet_native():
            q = quantizer.Quantizer(float_tflite)
            q.load_quantization_recipe(chosen)
            out = bytes(q.quantize().quantized_model)
    except Exception as exc:  # the quantizer raises assorted types on unsupported graphs
        raise ConversionError(
            f"{mode.value} quantization failed",
            received=f"{type(exc).__name__}: {str(exc)[:300]}",
            supported="models made of TFLite builtin operators",
            fix="Try --quantize none or int8",
        ) from None
    from .metadata.model import inline_buffers

    return inline_buffers(out)


def convert_all(
    loaded: LoadedModel,
    modes: tuple[Quantization | str, ...],
    calibration: np.ndarray | None = None,
    fold: Any = None,
) -> dict[Quantization, ConversionResult]:
    """Convert once to float32 and derive every requested variant from the one trace.

    ``calibration`` holds *model-ready* float inputs (already normalized, batch axis
    first); it is required for ``int8``, which gives int8 input and output tensors.
    ``fold``: an input transform built into the model's first ops (calibration data is
    then the transform's raw input).
    """
    wanted = [Quantization.parse(m) for m in modes]
    for mode in wanted:
        check_calibration(mode, calibration)
    from .normalization import fused

    with fused(loaded, fold) as remaining:
        fn, cf = _concrete_function(loaded, remaining)
        float_bytes = _tf_convert(fn, cf, Quantization.NONE, None)
        int8_bytes = None
        if Quantization.INT8 in wanted:
            int8_bytes = _tf_convert(fn, cf, Quantization.INT8, calibration)
    results: dict[Quantization, ConversionResult] = {}
    for mode in wanted:
        if mode is Quantization.NONE:
            data = float_bytes
        elif mode is Quantization.INT8:
            assert int8_bytes is not None
            data = int8_bytes
        else:
            data = derive(float_bytes, mode)
        n = 0
        if mode is Quantization.INT8 and calibration is not None:
            n = min(len(calibration), MAX_CALIBRATION_SAMPLES)
        results[mode] = ConversionResult(data, mode, n)
    return results


def convert(
    loaded: LoadedModel,
    quantization: Quantization | str = Quantization.NONE,
    calibration: np.ndarray | None = None,
    fold: Any = None,
) -> ConversionResult:
    """Convert ``loaded`` to TFLite with one quantization mode (see :func:`convert_all`)."""
    mode = Quantization.parse(quantization)
    return convert_all(loaded, (mode,), calibration, fold)[mode]


def _conversion_error(exc: Exception, mode: Quantization) -> ConversionError:
    text = str(exc)
    ops = sorted(set(_OP_PATTERN.findall(text)))
    if ops:
        return ConversionError(
            "the model uses operations that TFLite's builtin ops cannot express",
            received=f"unsupported ops: {', '.join(ops)}",
            supported="models built from TFLite builtin operators "
            "(https://ai.google.dev/edge/litert/models/ops_compatibility)",
            fix="Replace those ops in the model (e.g. with standard Keras layers), "
            "or move that computation out of the model into app code",
        )
    first = next((ln.strip() for ln in text.splitlines() if "error" in ln.lower()), text[:300])
    return ConversionError(
        f"the TFLite converter failed ({mode.value} quantization)",
        received=f"{type(exc).__name__}: {first[:400]}",
        supported="Keras models made of standard layers",
        fix="Try --quantize none to see whether quantization is the cause",
    )


__all__ = [
    "Quantization",
    "ConversionResult",
    "convert",
    "convert_all",
    "derive",
    "check_calibration",
    "MAX_CALIBRATION_SAMPLES",
]
