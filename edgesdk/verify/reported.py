"""Golden results reported by a Kotlin runner (the device's GoldenInstrumentation, the host's
android_host test), checked again on the host.

Both runners run the app's generated ``GoldenSuite`` and print one JSON line per case and a
summary line. A runner's ``passed`` flag is never taken on trust: a :class:`GoldenChecker` (one
per task: the golden set stored in the app and the task's pass rule) applies the rule to the
reported numbers and the stored references, and :func:`read_cases` names every disagreement.

- :class:`ClassifierChecker`: a score vector per case (``golden.bin``, EDGG), the keys of
  :class:`~edgesdk.verify.golden.CaseCheck`, the rule of :func:`recheck`;
- a task with its own golden format gives its own checker
  (:meth:`edgesdk.tasks.base.Task.golden_checker`, e.g. the object detector's
  :class:`edgesdk.detection.verify.DetectionChecker`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from ..codegen.runtime import gpu_tolerance
from . import golden as gv


class ReportedCase(Protocol):
    """One case as a runner reported it, with the host's verdict in ``passed``."""

    @property
    def index(self) -> int: ...

    @property
    def passed(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...


class GoldenChecker(Protocol):
    """A task's golden set (as stored in the app) and its pass rule for reported case lines."""

    #: the task whose golden format this is (``image_classifier``, ``object_detector``)
    task: str

    @property
    def case_count(self) -> int: ...

    @property
    def model_sha256(self) -> str | None:
        """The model the golden set was made for, when the set records it."""

    def parse(self, data: dict[str, Any]) -> ReportedCase:
        """A reported case line (parsed JSON); raises ValueError, TypeError or KeyError when it
        lacks what the rule needs."""

    def has_case(self, index: int) -> bool: ...

    def recheck(self, case: Any, accelerator: str = "CPU") -> bool:
        """The host's verdict on ``case`` (from :meth:`parse`) by the stored references."""

    def with_passed(self, case: Any, passed: bool) -> ReportedCase: ...


def recheck(check: gv.CaseCheck, case: gv.GoldenCase, accelerator: str = "CPU") -> bool:
    """The classifier's pass rule applied on the host to what a runner reported. On the GPU
    the tolerance is :func:`~edgesdk.codegen.runtime.gpu_tolerance`."""
    import numpy as np

    if check.max_abs_diff is None or check.top1_got < 0:
        return False
    ref = case.scores_array()
    tol = np.float32(case.tolerance)
    if accelerator == "GPU":
        largest = float(np.max(np.abs(ref))) if ref.size else 0.0
        tol = np.float32(gpu_tolerance(case.tolerance, largest))
    top1_ok = check.top1_got == case.top1 or (
        0 <= check.top1_got < ref.size and ref[case.top1] - ref[check.top1_got] <= tol
    )
    bitmap_ok = check.bitmap_top1 is None or check.bitmap_top1 == check.top1_got
    return bool(top1_ok and np.float32(check.max_abs_diff) <= tol and bitmap_ok)


class ClassifierChecker:
    """The golden vectors of a one-output model (``golden.bin``, EDGG) and :func:`recheck`."""

    task = "image_classifier"

    def __init__(self, golden: gv.GoldenSet) -> None:
        self.golden = golden
        self._by_index = {c.index: c for c in golden.cases}

    @property
    def case_count(self) -> int:
        return len(self.golden.cases)

    @property
    def model_sha256(self) -> str | None:
        return self.golden.model_sha256

    def parse(self, data: dict[str, Any]) -> gv.CaseCheck:
        return gv.CaseCheck.from_dict(data)

    def has_case(self, index: int) -> bool:
        return index in self._by_index

    def recheck(self, case: gv.CaseCheck, accelerator: str = "CPU") -> bool:
        return recheck(case, self._by_index[case.index], accelerator)

    def with_passed(self, case: gv.CaseCheck, passed: bool) -> gv.CaseCheck:
        return gv.CaseCheck(**{**case.to_dict(), "passed": passed})


def as_checker(golden: GoldenChecker | gv.GoldenSet) -> GoldenChecker:
    """``golden`` itself, or the classifier's checker of a :class:`~.golden.GoldenSet`."""
    return ClassifierChecker(golden) if isinstance(golden, gv.GoldenSet) else golden


def read_cases(
    lines: Iterable[str],
    golden: GoldenChecker | gv.GoldenSet,
    where: str,
    accelerator: str = "CPU",
) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """Parse case JSON lines and re-check each against ``golden`` with the rule of
    ``accelerator``; ``where`` names the runner in problems ("the device", "the host run")."""
    checker = as_checker(golden)
    cases: list[Any] = []
    problems: list[str] = []
    for line in lines:
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise TypeError(f"a JSON object is needed, got {type(data).__name__}")
            check = checker.parse(data)
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"unreadable case line {line[:80]!r}: {exc}")
            continue
        if not checker.has_case(check.index):
            problems.append(f"{where} reported case {check.index}, which the golden set lacks")
            continue
        host_verdict = checker.recheck(check, accelerator)
        if host_verdict != check.passed:
            problems.append(
                f"case {check.index}: {where} said passed={check.passed}, the host rule says "
                f"{host_verdict}; counted as {check.passed and host_verdict}"
            )
            check = checker.with_passed(check, check.passed and host_verdict)
        cases.append(check)
    return tuple(cases), tuple(problems)


def summary_problems(
    summary: dict[str, Any],
    cases: tuple[Any, ...],
    golden: GoldenChecker | gv.GoldenSet,
    golden_sha256: str,
    model_sha256: str,
    where: str,
) -> list[str]:
    """What the summary line and the case count say is wrong with a run."""
    expected = as_checker(golden).case_count
    problems: list[str] = []
    if summary.get("error"):
        problems.append(f"the golden test could not run on {where}: {summary['error']}")
    if summary.get("golden_sha256") not in (None, golden_sha256):
        problems.append(f"{where} ran other golden vectors than this folder's")
    if summary.get("model_sha256") not in (None, model_sha256):
        problems.append(f"{where} ran another model than this folder's app")
    if len(cases) != expected:
        problems.append(f"{where} reported {len(cases)} of {expected} golden cases")
    return problems


__all__ = [
    "ClassifierChecker",
    "GoldenChecker",
    "ReportedCase",
    "as_checker",
    "read_cases",
    "recheck",
    "summary_problems",
]
