"""Golden results reported by a Kotlin runner (the device's GoldenInstrumentation, the host's
android_host test), checked again on the host.

Both runners run the app's generated ``GoldenSuite`` and print one JSON line per case (the keys
of :class:`~edgesdk.verify.golden.CaseCheck`) and a summary line. A runner's ``passed`` flag is
never taken on trust: :func:`recheck` applies the pass rule to the reported numbers and the
stored references, and :func:`read_cases` names every disagreement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..codegen.runtime import gpu_tolerance
from . import golden as gv


def recheck(check: gv.CaseCheck, case: gv.GoldenCase, accelerator: str = "CPU") -> bool:
    """The pass rule applied on the host to what a runner reported. On the GPU the tolerance
    is :func:`~edgesdk.codegen.runtime.gpu_tolerance`."""
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


def read_cases(
    lines: Iterable[str], golden: gv.GoldenSet, where: str, accelerator: str = "CPU"
) -> tuple[tuple[gv.CaseCheck, ...], tuple[str, ...]]:
    """Parse case JSON lines and re-check each against ``golden`` with the rule of
    ``accelerator``; ``where`` names the runner in problems ("the device", "the host run")."""
    by_index = {c.index: c for c in golden.cases}
    cases: list[gv.CaseCheck] = []
    problems: list[str] = []
    for line in lines:
        try:
            check = gv.CaseCheck.from_dict(json.loads(line))
        except (ValueError, TypeError) as exc:
            problems.append(f"unreadable case line {line[:80]!r}: {exc}")
            continue
        case = by_index.get(check.index)
        if case is None:
            problems.append(f"{where} reported case {check.index}, which the golden set lacks")
            continue
        host_verdict = recheck(check, case, accelerator)
        if host_verdict != check.passed:
            problems.append(
                f"case {check.index}: {where} said passed={check.passed}, the host rule says "
                f"{host_verdict}; counted as {check.passed and host_verdict}"
            )
            check = gv.CaseCheck(**{**check.to_dict(), "passed": check.passed and host_verdict})
        cases.append(check)
    return tuple(cases), tuple(problems)


def summary_problems(
    summary: dict[str, Any],
    cases: tuple[gv.CaseCheck, ...],
    golden: gv.GoldenSet,
    golden_sha256: str,
    model_sha256: str,
    where: str,
) -> list[str]:
    """What the summary line and the case count say is wrong with a run."""
    problems: list[str] = []
    if summary.get("error"):
        problems.append(f"the golden test could not run on {where}: {summary['error']}")
    if summary.get("golden_sha256") not in (None, golden_sha256):
        problems.append(f"{where} ran other golden vectors than this folder's")
    if summary.get("model_sha256") not in (None, model_sha256):
        problems.append(f"{where} ran another model than this folder's app")
    if len(cases) != len(golden.cases):
        problems.append(f"{where} reported {len(cases)} of {len(golden.cases)} golden cases")
    return problems


__all__ = ["read_cases", "recheck", "summary_problems"]
