"""Golden vectors, the comparison: one case against a candidate's scores (the Python twin of
the generated Kotlin ``GoldenCheck``), and every case re-run on the host (tier 1)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .golden_build import model_pixels, top1_of
from .golden_format import GoldenCase, _le, read_golden


@dataclass(frozen=True)
class CaseCheck:
    """One golden case checked on one tier (the JSON line the device test prints, too)."""

    index: int
    width: int
    height: int
    top1_expected: int
    top1_got: int
    max_abs_diff: float | None  #: None when the candidate scores are not finite
    tolerance: float
    input_match: bool | None  #: the input tensor hashed equal to Python's (None: not checked)
    passed: bool
    latency_ms: float | None = None
    bitmap_top1: int | None = None  #: top-1 through classify(Bitmap) on the device

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaseCheck:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in names})


def compare_case(
    case: GoldenCase,
    scores: np.ndarray,
    *,
    input_sha256: str | None = None,
    latency_ms: float | None = None,
) -> CaseCheck:
    """Python twin of the generated Kotlin ``GoldenCheck.compare``."""
    ref = case.scores_array()
    got = np.asarray(scores, np.float32).reshape(-1)
    finite = got.size == ref.size and bool(np.isfinite(got).all())
    diff = float(np.max(np.abs(got - ref))) if finite and got.size else None
    top1, _ = top1_of(got) if finite else (-1, 0.0)
    tol = np.float32(case.tolerance)
    top1_ok = top1 == case.top1 or (  # float32 arithmetic, as in the Kotlin twin
        top1 >= 0 and case.top1 >= 0 and ref[case.top1] - ref[top1] <= tol
    )
    match = None if input_sha256 is None else input_sha256 == case.input_sha256
    passed = bool(top1_ok and diff is not None and np.float32(diff) <= tol and match is not False)
    return CaseCheck(
        case.index, case.width, case.height, case.top1, top1, diff, case.tolerance, match, passed,
        latency_ms,
    )  # fmt: skip


@dataclass(frozen=True)
class GoldenVerification:
    """The golden cases re-run through Python preprocessing + LiteRT on the host (tier 1)."""

    tier: str
    golden: str
    source: str
    model: str
    model_matches: bool
    cases: tuple[CaseCheck, ...]
    passed: bool
    tolerance_basis: str
    problems: tuple[str, ...] = ()

    @property
    def failing(self) -> tuple[CaseCheck, ...]:
        return tuple(c for c in self.cases if not c.passed)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cases"] = [c.to_dict() for c in self.cases]
        d["failing_cases"] = [c.index for c in self.failing]
        return d


def verify_golden(folder: Path, model_bytes: bytes, model_label: str = "") -> GoldenVerification:
    """Re-run every golden case on the host and compare with the stored references.

    Checks, per case: the prepared tensor hashes to the stored SHA-256 (the Python
    preprocessing is what it was), the outputs are within tolerance, top-1 agrees.
    A model whose SHA-256 differs from the one the vectors were made for fails as a whole.
    """
    from .host import TFLiteRunner

    golden = read_golden(folder)
    sha = hashlib.sha256(model_bytes).hexdigest()
    problems: list[str] = []
    if sha != golden.model_sha256:
        problems.append(
            f"the golden vectors were made for the model with SHA-256 {golden.model_sha256[:12]}…, "
            f"{model_label or 'this model'} is {sha[:12]}…"
        )
    runner = TFLiteRunner(model_bytes)
    _, _, _, channels = runner.input.shape if len(runner.input.shape) == 4 else (0, 0, 0, 0)
    checks = []
    for case in golden.cases:
        tensor = runner.prepare(model_pixels(case.pixel_array(), channels), golden.mean, golden.std)
        digest = hashlib.sha256(_le(tensor, runner.input.dtype)).hexdigest()
        scores = runner.dequantized(runner.run_tensor(tensor)).reshape(-1)
        checks.append(compare_case(case, scores, input_sha256=digest))
    passed = not problems and bool(checks) and all(c.passed for c in checks)
    if not checks:
        problems.append("the golden set has no cases")
    return GoldenVerification(
        tier="host",
        golden=str(folder),
        source=golden.source,
        model=model_label,
        model_matches=sha == golden.model_sha256,
        cases=tuple(checks),
        passed=passed,
        tolerance_basis=golden.tolerance_basis,
        problems=tuple(problems),
    )
