"""``edgesdk verify`` tier 1: a packaged model against its Keras reference on the host."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelLoadError


@dataclass(frozen=True)
class Tolerance:
    """When a variant passes: outputs within ``atol`` and top-1 agreement at
    least ``min_agreement``."""

    atol: float
    min_agreement: float
    basis: str


def tolerance_for(mode: str, output_scale: float) -> Tolerance:
    """Tolerance that follows from how the model was quantized."""
    if mode == "none":
        return Tolerance(1e-4, 1.0, "float32: small epsilon")
    if mode == "float16":
        return Tolerance(1e-2, 0.97, "float16 weights")
    if mode == "dynamic":
        return Tolerance(5e-2, 0.97, "int8 weights, float activations")
    # int8: a few output quantization steps
    return Tolerance(max(4 * output_scale, 1e-2), 0.97, f"int8 output scale {output_scale:.3g} x 4")


@dataclass(frozen=True)
class HostVerification:
    """The result of tier-1 verification of one ``.tflite``."""

    tier: str
    tflite: str
    reference: str
    quantization: str
    samples: int
    source: str
    top1_agreement: float
    max_abs_diff: float
    tolerance: dict[str, Any]
    passed: bool
    failing_cases: tuple[dict[str, Any], ...]
    reference_accuracy: float | None = None
    tflite_accuracy: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quant_mode(runner: Any, report: dict[str, Any] | None) -> str:
    if report and "quantization" in report:
        return str(report["quantization"]["mode"])
    if runner.input.dtype in ("int8", "uint8"):
        return "int8"
    return "none"


def verify_host(
    target: str | Path,
    *,
    reference: str | Path | None = None,
    data: str | Path | None = None,
    samples: int = 100,
) -> HostVerification:
    """Compare a packaged ``.tflite`` (or an ``edgesdk package`` output folder) with Keras."""
    from .. import metadata
    from ..models import load_model
    from ..pipeline import Normalization, load_samples
    from .host import TFLiteRunner, abs_diff, parity, random_inputs, reference_outputs, top1

    t = Path(target)
    report: dict[str, Any] | None = None
    if t.is_dir():
        tfl_path = t / "model.tflite"
        if (t / "report.json").exists():
            report = json.loads((t / "report.json").read_text(encoding="utf-8"))
    else:
        tfl_path = t
    if not tfl_path.exists():
        raise ModelLoadError(
            f"no TFLite model at {tfl_path}",
            received=str(target),
            supported="an 'edgesdk package' output folder or a .tflite file",
            fix="Pass the folder written by 'edgesdk package', or the .tflite itself",
        )
    model_bytes = tfl_path.read_bytes()
    if reference is None and report is not None:
        reference = report["model"]["source"]
    if reference is None:
        raise ConfigError(
            "host parity needs the Keras model the .tflite came from",
            received=f"{tfl_path} without --reference",
            fix="Pass --reference MODEL (.h5, .keras or SavedModel folder)",
        )
    meta = metadata.read(model_bytes)
    runner = TFLiteRunner(model_bytes)
    if report is not None:
        norm = Normalization(
            tuple(report["normalization"]["mean"]), tuple(report["normalization"]["std"]), "report"
        )
    elif meta is not None and meta.inputs and meta.inputs[0].mean is not None:
        norm = Normalization(
            tuple(meta.inputs[0].mean), tuple(meta.inputs[0].std or ()), "metadata"
        )
    else:
        raise ConfigError(
            f"{tfl_path} has no normalization in its metadata",
            received="a .tflite without NormalizationOptions",
            fix="Verify a model written by 'edgesdk package'",
        )
    loaded = load_model(reference)
    spec = loaded.inputs[0]
    if data is not None:
        ds = load_samples(Path(data), loaded, "verification").take(samples)
        x, y, source = ds.x, ds.y, "data"
    else:
        x, y, source = random_inputs(spec, min(samples, 32)), None, "random_inputs"
    if report is not None:
        # The user's own pipeline, as packaged: the family's preprocess_input, or what was
        # folded into the model.
        from ..normalization import reference_from_report

        ref = reference_from_report(loaded, report["normalization"])(x)
    else:
        ref = reference_outputs(loaded, x, norm.mean, norm.std)
    ref = ref.reshape(len(x), -1)
    cand = np.stack([runner.run(s, norm.mean, norm.std) for s in x]).reshape(len(x), -1)
    mode = _quant_mode(runner, report)
    tol = tolerance_for(mode, runner.output.scale)
    par = parity(ref, cand, y, source)
    diffs = abs_diff(ref, cand)
    top_ref, top_cand = ref.argmax(axis=1), top1(cand)
    failing = [
        {
            "index": i,
            "top1_expected": int(top_ref[i]),
            "top1_got": int(top_cand[i]),
            "max_abs_diff": float(diffs[i].max()),
        }
        for i in range(len(x))
        if top_ref[i] != top_cand[i] or float(diffs[i].max()) > tol.atol
    ]
    passed = par.top1_agreement >= tol.min_agreement and (
        mode != "none" or par.max_abs_diff <= tol.atol
    )
    return HostVerification(
        tier="host",
        tflite=str(tfl_path),
        reference=str(reference),
        quantization=mode,
        samples=len(x),
        source=source,
        top1_agreement=par.top1_agreement,
        max_abs_diff=par.max_abs_diff,
        tolerance=asdict(tol),
        passed=passed,
        failing_cases=tuple(failing),
        reference_accuracy=par.reference_accuracy,
        tflite_accuracy=par.tflite_accuracy,
    )
