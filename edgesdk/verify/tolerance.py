"""Golden tolerances per quantization type, set from the spread measured across LiteRT's
kernel paths (``benchmarks/bench_kernel_spread.py``), and recorded in ``golden.json``.

Measured on the same inputs (16 golden + 48 seeded random per model; a small CNN trained on
the shapes data, packaged in each mode, and the demo app's model), against LiteRT 2.3 x86_64
with XNNPACK (where the references come from). Spread: float outputs as
``max |diff| / max(1, max |score|)``, integer outputs in output steps (LSB):

=========  ============  ===========  ============  ===============  =================
mode       x86 built-in  x86 ref.     ARM64 XNNPACK ARM64 built-in   Android 2.16.1
                                      (A53/A76)                      (android_host)
=========  ============  ===========  ============  ===============  =================
none       3.6e-7        2.4e-7       1.8e-7        4.2e-7           -
float16    6.6e-7        6.0e-7       1.8e-7        6.0e-7           -
dynamic    4.5e-2        4.5e-2       1.2e-7        4.5e-2           1.75e-2 (demo)
int8       5 LSB         5 LSB        0 LSB         5 LSB            -
=========  ============  ===========  ============  ===============  =================

XNNPACK on x86 and on ARM agree to float rounding (int8: bit-exact); the spread is between
XNNPACK and LiteRT's built-in kernels, which Android's library uses where XNNPACK does not
take an op (weight-quantized kernels in 2.16.1). The tolerance is twice the largest spread,
rounded up to 1-2-5, and never below the float epsilon ``1e-4`` (GPU delegates, fp16
arithmetic, are not measurable here). QEMU's ``max`` core with SME gave wrong int8 results
(see :mod:`edgesdk.toolchain.arm64`) and is no basis; with SME off it is bit-exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: quantization mode -> (relative tolerance for float outputs, steps for integer outputs,
#: the measured spread it rests on).
KERNEL_SPREAD: dict[str, dict[str, Any]] = {
    "none": {"rel": 1e-4, "measured_rel": 4.2e-7},
    "float16": {"rel": 1e-4, "measured_rel": 6.6e-7},
    "dynamic": {"rel": 1e-1, "measured_rel": 4.5e-2, "android_host_2_16_1_abs": 1.75e-2},
    "int8": {"rel": 1e-1, "steps": 10, "measured_steps": 5},
}
MEASUREMENT = (
    "LiteRT 2.3 x86_64 XNNPACK vs x86_64 built-in and reference kernels, and aarch64 "
    "(qemu-user, Cortex-A53/A76) XNNPACK and built-in; Android TFLite 2.16.1 on the host JVM "
    "for a dynamic-range model; tolerance = 2 x the largest spread (benchmarks/"
    "bench_kernel_spread.py)"
)


def _entry(quantization: str) -> dict[str, Any]:
    return KERNEL_SPREAD.get(quantization, KERNEL_SPREAD["none"])


def output_steps(quantization: str) -> int:
    """Integer outputs: how many output quantization steps a case may be off."""
    return int(_entry(quantization).get("steps", 1))


def case_tolerance(output: Any, quantization: str, scores: np.ndarray) -> float:
    """How far a device's scores may be from the host's, from the output type and the
    quantization mode (see the module docstring for the measurement).

    - int8 / uint8 output: ``steps`` output quantization steps (``steps * scale``, plus 0.1 %
      for the float rounding of the dequantized difference).
    - float32 output: ``rel * max(1, |s|max)``.
    """
    if output.quantized:
        return float(np.float32(output.scale * output_steps(quantization) * 1.001))
    peak = float(np.max(np.abs(scores))) if scores.size and np.isfinite(scores).all() else 1.0
    return float(np.float32(_entry(quantization)["rel"] * max(1.0, peak)))


def tolerance_basis(output: Any, quantization: str) -> str:
    e = _entry(quantization)
    if output.quantized:
        n = output_steps(quantization)
        return (
            f"{output.dtype} output: {n} quantization step{'s' if n > 1 else ''} (scale "
            f"{output.scale:.6g}) + 0.1%; kernel paths measured {e.get('measured_steps', 0)} "
            "steps apart"
        )
    return (
        f"float32 output of a {quantization} model: {e['rel']:g} x max(1, max |score|); kernel "
        f"paths measured {e['measured_rel']:.2g} apart"
        + (
            f" (Android TFLite 2.16.1: {e['android_host_2_16_1_abs']:g})"
            if "android_host_2_16_1_abs" in e
            else ""
        )
    )


def measured(quantization: str) -> dict[str, Any]:
    """What ``golden.json`` records under ``tolerance.kernel_spread``."""
    return {"quantization": quantization, **_entry(quantization), "measurement": MEASUREMENT}
