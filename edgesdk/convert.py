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


# Dynamic range ("hybrid" kernels: int8 weights, float activations quantized on the fly).
# Weights are per-channel only for CONV_2D and DEPTHWISE_CONV_2D, whose hybrid kernels take
# per-channel scales in every TFLite since 2.4; every other op gets one scale per tensor.
# ai-edge-quantizer's own recipe is per-channel everywhere, and older TFLite (the Task
# Library 0.4.4's, tflite-runtime 2.14; TFLite declares the kernel, FULLY_CONNECTED
# version 12, from 2.17) runs a per-channel FULLY_CONNECTED with the first channel's scale
# for every channel: silently wrong scores (0.28 instead of 0.9998 on a 4-class CNN).
# Per-tensor DEPTHWISE_CONV_2D is wrong in every runtime, LiteRT 2.x included, and a hybrid
# TRANSPOSE_CONV is refused by TFLite 2.14, so that op stays float.
# benchmarks/bench_dynamic_runtimes.py measures this per op and per runtime.
_PER_CHANNEL_HYBRID_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _dynamic_entry(operation: str, granularity: str) -> dict[str, Any]:
    return {
        "regex": ".*",
        "operation": operation,
        "algorithm_key": "min_max_uniform_quantize",
        "op_config": {
            "weight_tensor_config": {
                "num_bits": 8,
                "symmetric": True,
                "granularity": granularity,
                "dtype": "INT",
            },
            "compute_precision": "INTEGER",
            "explicit_dequantize": False,
        },
    }


_DYNAMIC_RECIPE = [
    _dynamic_entry("*", "TENSORWISE"),
    *(_dynamic_entry(op, "CHANNELWISE") for op in _PER_CHANNEL_HYBRID_OPS),
    {"regex": ".*", "operation": "CONV_2D_TRANSPOSE", "algorithm_key": "no_quantize"},
]

# The op versions a hybrid op needs and the TFLite release that first runs each
# (TFLite's op_version.cc and runtime_version.cc). ai-edge-quantizer leaves the float
# model's versions (1) and its min_runtime_version, which tells a runtime nothing.
_HYBRID_VERSIONS = {
    # op: (version per-tensor, version per-channel)
    "CONV_2D": (2, 5),
    "DEPTHWISE_CONV_2D": (4, 6),
    "FULLY_CONNECTED": (9, 12),  # 9: asymmetric_quantize_inputs
    "BATCH_MATMUL": (4, 4),  # 4: asymmetric_quantize_inputs
}
_RUNTIME_FOR_VERSION = {
    ("CONV_2D", 2): "1.14.0",
    ("CONV_2D", 5): "2.4.0",
    ("DEPTHWISE_CONV_2D", 4): "2.2.0",
    ("DEPTHWISE_CONV_2D", 6): "2.3.0",
    ("FULLY_CONNECTED", 9): "2.3.0",
    ("FULLY_CONNECTED", 12): "2.17.0",
    ("BATCH_MATMUL", 4): "2.5.0",
}
_MIN_RUNTIME_NAME = "min_runtime_version"


def _version_key(version: str) -> tuple[int, ...]:
    parts = []
    for p in version.split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _min_runtime_entry(m: Any) -> Any:
    names = (_MIN_RUNTIME_NAME, _MIN_RUNTIME_NAME.encode())
    return next((e for e in m.metadata or [] if e.name in names), None)


def _min_runtime(m: Any) -> str:
    """The model's ``min_runtime_version`` metadata ('' when it has none)."""
    entry = _min_runtime_entry(m)
    if entry is None or not 0 < entry.buffer < len(m.buffers or []):
        return ""
    raw = m.buffers[entry.buffer].data
    return bytes(raw if raw is not None else b"").rstrip(b"\0").decode("ascii", "replace")


def _set_min_runtime(m: Any, version: str) -> None:
    from ai_edge_litert import schema_py_generated as tfl

    # the converter's layout: the version string, zero-padded to 16 bytes
    data = np.frombuffer(version.encode("ascii").ljust(16, b"\0"), dtype=np.uint8)
    entry = _min_runtime_entry(m)
    shared = entry is not None and any(
        t.buffer == entry.buffer for sg in m.subgraphs or [] for t in sg.tensors or []
    )
    if entry is not None and 0 < entry.buffer < len(m.buffers or []) and not shared:
        m.buffers[entry.buffer].data = data
        return
    buffer = tfl.BufferT()
    buffer.data = data
    m.buffers.append(buffer)
    if entry is None:
        entry = tfl.MetadataT()
        entry.name = _MIN_RUNTIME_NAME
        m.metadata = [*(m.metadata or []), entry]
    entry.buffer = len(m.buffers) - 1


def mark_hybrid_ops(model: bytes) -> bytes:
    """Declare what the hybrid ops of a dynamic-range model need, as TFLite's converter does.

    For FULLY_CONNECTED and BATCH_MATMUL with int8 weights, ``asymmetric_quantize_inputs``:
    LiteRT 2.x's default CPU path (XNNPACK) quantizes their input asymmetrically whatever the
    flag says; the builtin kernels, older runtimes' included, follow the flag, and with it
    compute what LiteRT 2.x computes. Each hybrid op's
    code gets the op version TFLite assigns it, and ``min_runtime_version`` the newest
    release those versions need, so that a runtime too old for an op refuses the model.
    """
    from ai_edge_litert import schema_py_generated as tfl

    from .metadata.model import _pack_model, _unpack_model

    m = _unpack_model(model)
    op_names = {v: k for k, v in vars(tfl.BuiltinOperator).items() if not k.startswith("_")}
    needed = "0"
    changed = False
    for sg in m.subgraphs or []:
        tensors = sg.tensors or []
        for op in sg.operators or []:
            code = m.operatorCodes[op.opcodeIndex]
            name = op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode))
            if name not in _HYBRID_VERSIONS:
                continue
            ins = [tensors[i] for i in op.inputs if i >= 0]
            outs = [tensors[i] for i in op.outputs if i >= 0]
            if (
                len(ins) < 2
                or ins[0].type != tfl.TensorType.FLOAT32
                or ins[1].type != tfl.TensorType.INT8
                or not outs
                or outs[0].type != tfl.TensorType.FLOAT32
            ):
                continue
            q = ins[1].quantization
            per_channel = q is not None and q.scale is not None and len(q.scale) > 1
            if name in ("FULLY_CONNECTED", "BATCH_MATMUL") and op.builtinOptions is not None:
                if not op.builtinOptions.asymmetricQuantizeInputs:
                    op.builtinOptions.asymmetricQuantizeInputs = True
                    changed = True
            version = _HYBRID_VERSIONS[name][1 if per_channel else 0]
            if code.version < version:
                code.version = version
                changed = True
            runtime = _RUNTIME_FOR_VERSION[(name, version)]
            if _version_key(runtime) > _version_key(needed):
                needed = runtime
    if needed != "0" and _version_key(needed) > _version_key(_min_runtime(m) or "0"):
        _set_min_runtime(m, needed)
        changed = True
    return _pack_model(m) if changed else model


def derive(float_tflite: bytes, mode: Quantization) -> bytes:
    """A float16 or dynamic-range variant of a float32 ``.tflite``."""
    import contextlib
    import io

    from ai_edge_quantizer import quantizer

    from ._io import quiet_native

    if mode is Quantization.FLOAT16:
        chosen: Any = _FLOAT16_RECIPE
    elif mode is Quantization.DYNAMIC:
        chosen = _DYNAMIC_RECIPE
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

    out = inline_buffers(out)
    return mark_hybrid_ops(out) if mode is Quantization.DYNAMIC else out


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
    "mark_hybrid_ops",
    "check_calibration",
    "MAX_CALIBRATION_SAMPLES",
]
