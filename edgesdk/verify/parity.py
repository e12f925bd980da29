"""``edgesdk verify`` tier 1: a packaged model against its Keras reference on the host.

Which inputs (:func:`choose_inputs`), in this order: ``--data``; for a package output folder,
the data ``edgesdk package`` measured parity on (recorded in ``report.json`` as
``parity.data``: the evaluation data, else the calibration data), when it still exists; the
golden inputs in the app's androidTest assets; seeded random inputs only when none of these
exists (100 by default, so one flip is never 3% of the sample).

The pass rule (:func:`judge`): outputs within the mode's ``atol`` for float32 models, and at
most ``floor((1 - min_agreement) * n)`` *clear* top-1 flips. A flip is a near-tie, and not
clear, when the reference's top-1 beats its runner-up by at most ``2 * atol`` and the
candidate's outputs for that sample are all within ``2 * atol`` of the reference's: two
outputs that close can rank differently without anything being wrong, so a near-tie is counted
and shown but does not fail the check. Non-finite outputs are never near-ties.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelLoadError, VerificationError


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
    clear_flips: int = 0
    near_tie_flips: int = 0
    allowed_flips: int = 0
    data: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quant_mode(runner: Any, report: dict[str, Any] | None) -> str:
    if report and "quantization" in report:
        return str(report["quantization"]["mode"])
    if runner.input.dtype in ("int8", "uint8"):
        return "int8"
    # A float-input model: int8 weights mean dynamic-range, float16 weights float16.
    dtypes = {np.dtype(d["dtype"]).name for d in runner.interpreter.get_tensor_details()}
    if "int8" in dtypes:
        return "dynamic"
    if "float16" in dtypes:
        return "float16"
    return "none"


@dataclass(frozen=True)
class Judgement:
    """The pass rule applied to reference and candidate outputs (see the module docstring)."""

    passed: bool
    clear_flips: int
    near_tie_flips: int
    allowed_flips: int
    clear: np.ndarray  #: per sample: a clear flip


def judge(ref: np.ndarray, cand: np.ndarray, mode: str, tol: Tolerance) -> Judgement:
    """Apply the pass rule to ``N x classes`` reference and candidate outputs."""
    from .host import abs_diff, top1

    n = len(ref)
    top_ref, top_cand = ref.argmax(axis=1), top1(cand)
    flips = top_ref != top_cand
    if ref.shape[1] > 1:
        ordered = np.sort(ref, axis=1)
        margin = ordered[:, -1] - ordered[:, -2]
    else:
        margin = np.full(n, np.inf)
    diff = abs_diff(ref, cand)
    row_diff = diff.max(axis=1) if diff.size else np.zeros(n)
    near = (margin <= 2 * tol.atol) & (row_diff <= 2 * tol.atol)
    clear = flips & ~near
    allowed = int(np.floor((1.0 - tol.min_agreement) * n + 1e-9))
    within = mode != "none" or (float(diff.max()) if diff.size else 0.0) <= tol.atol
    return Judgement(
        passed=bool(within and int(clear.sum()) <= allowed),
        clear_flips=int(clear.sum()),
        near_tie_flips=int((flips & ~clear).sum()),
        allowed_flips=allowed,
        clear=clear,
    )


def _report_data(report: dict[str, Any] | None) -> Path | None:
    if not report:
        return None
    recorded = report.get("parity", {}).get("data")
    return Path(recorded) if isinstance(recorded, str) and Path(recorded).exists() else None


def choose_inputs(
    t: Path,
    report: dict[str, Any] | None,
    loaded: Any,
    data: str | Path | None,
    samples: int | None,
) -> tuple[np.ndarray, np.ndarray | None, str, str | None]:
    """``(x raw, y or None, source, data path)`` in the order of the module docstring."""
    from ..pipeline import align_labels, load_samples
    from .host import random_inputs

    spec = loaded.inputs[0]
    recorded = _report_data(report)
    path = Path(data) if data is not None else recorded
    if path is not None:
        recorded_n = int((report or {}).get("parity", {}).get("samples") or 0)
        n = samples or (100 if data is not None else recorded_n or 500)
        ds = load_samples(path, loaded, "verification").take(n)
        labels = (report or {}).get("evaluation", {}).get("labels")
        if labels:
            ds = align_labels(ds, tuple(labels), lambda _m: None)
        source = "data" if data is not None else str(report["parity"]["source"])  # type: ignore[index]
        return ds.x, ds.y, source, str(path)
    golden_dir = t / "android" / "app" / "src" / "androidTest" / "assets" / "golden"
    if t.is_dir() and spec.is_image and (golden_dir / "golden.bin").is_file():
        from ..preprocess import resize_bilinear
        from .golden import model_pixels, read_golden

        gs = read_golden(golden_dir)
        h, w, c = (int(d) for d in spec.shape[1:])
        xs = [
            resize_bilinear(model_pixels(case.pixel_array(), c), h, w).reshape(h, w, c)
            for case in gs.cases
        ]
        if xs:
            x = np.stack(xs).astype(np.float32)
            y = [case.label for case in gs.cases]
            y_arr = None if any(v is None for v in y) else np.asarray(y, np.int64)
            return x, y_arr, "golden_inputs", str(golden_dir)
    return random_inputs(spec, samples or 100), None, "random_inputs", None


def verify_host(
    target: str | Path,
    *,
    reference: str | Path | None = None,
    data: str | Path | None = None,
    samples: int | None = None,
    trust_model: bool = False,
) -> HostVerification:
    """Compare a packaged ``.tflite`` (or an ``edgesdk package`` output folder) with Keras,
    on the inputs and with the rule of the module docstring."""
    from .. import metadata
    from ..models import load_model
    from ..pipeline import Normalization
    from .host import TFLiteRunner, abs_diff, parity, reference_outputs, top1

    t = Path(target)
    report: dict[str, Any] | None = None
    if t.is_dir():
        tfl_path = t / "model.tflite"
        if (t / "report.json").exists():
            try:
                report = json.loads((t / "report.json").read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ConfigError(
                    f"{t / 'report.json'} is not valid JSON",
                    received=str(exc)[:200],
                    fix="Re-create the folder with 'edgesdk package'",
                ) from None
            if not isinstance(report, dict):
                report = None
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
        reference = report.get("model", {}).get("source")
    if reference is None:
        raise ConfigError(
            "host parity needs the Keras model the .tflite came from",
            received=f"{tfl_path} without --reference",
            fix="Pass --reference MODEL (.h5, .keras or SavedModel folder)",
        )
    meta = metadata.read(model_bytes)
    runner = TFLiteRunner(model_bytes)
    if report is not None and "normalization" in report:
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
    loaded = load_model(reference, trust_model=trust_model)
    x, y, source, data_path = choose_inputs(t, report, loaded, data, samples)
    if report is not None and "normalization" in report:
        # The user's own pipeline, as packaged: the family's preprocess_input, or what was
        # folded into the model.
        from ..normalization import reference_from_report

        ref = reference_from_report(loaded, report["normalization"])(x)
    else:
        ref = reference_outputs(loaded, x, norm.mean, norm.std)
    ref = ref.reshape(len(x), -1)
    cand = np.stack([runner.run(s, norm.mean, norm.std) for s in x]).reshape(len(x), -1)
    if ref.shape != cand.shape:
        raise VerificationError(
            "the reference model and the .tflite give outputs of different shapes",
            received=f"reference {ref.shape[1:]}, tflite {cand.shape[1:]}",
            fix="Pass the --reference the .tflite was made from",
        )
    mode = _quant_mode(runner, report)
    tol = tolerance_for(mode, runner.output.scale)
    par = parity(ref, cand, y, source)
    verdict = judge(ref, cand, mode, tol)
    diffs = abs_diff(ref, cand)
    top_ref, top_cand = ref.argmax(axis=1), top1(cand)
    failing = [
        {
            "index": i,
            "top1_expected": int(top_ref[i]),
            "top1_got": int(top_cand[i]),
            "max_abs_diff": float(diffs[i].max()),
            "near_tie": bool(top_ref[i] != top_cand[i] and not verdict.clear[i]),
        }
        for i in range(len(x))
        if top_ref[i] != top_cand[i] or float(diffs[i].max()) > tol.atol
    ]
    return HostVerification(
        tier="host",
        tflite=str(tfl_path),
        reference=str(reference),
        quantization=mode,
        samples=len(x),
        source=source,
        top1_agreement=par.top1_agreement,
        max_abs_diff=par.max_abs_diff,
        tolerance={**asdict(tol), "rule": RULE},
        passed=verdict.passed,
        failing_cases=tuple(failing),
        reference_accuracy=par.reference_accuracy,
        tflite_accuracy=par.tflite_accuracy,
        clear_flips=verdict.clear_flips,
        near_tie_flips=verdict.near_tie_flips,
        allowed_flips=verdict.allowed_flips,
        data=data_path,
    )


RULE = (
    "float32: every output within atol; every mode: at most floor((1 - min_agreement) * n) "
    "clear top-1 flips; a flip is a near-tie (shown, not failing) when the reference's top-2 "
    "margin and the sample's max |diff| are both at most 2 * atol"
)
