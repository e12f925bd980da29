"""The output of ``am instrument -r`` (tier 4): parsed (:func:`parse_instrumentation`) and
turned into golden case results re-checked on the host, per accelerator (:func:`interpret`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import golden as gv
from . import reported
from ._proc import _tail
from .android_sdk import DeviceSetupError


@dataclass(frozen=True)
class InstrumentationStatus:
    """One ``INSTRUMENTATION_STATUS`` block: its bundle and its ``INSTRUMENTATION_STATUS_CODE``."""

    code: int
    values: dict[str, str]


@dataclass(frozen=True)
class InstrumentationOutput:
    """The raw (``-r``) output of ``am instrument``, parsed."""

    statuses: tuple[InstrumentationStatus, ...]
    result: dict[str, str]
    result_code: int | None  #: None when ``INSTRUMENTATION_CODE`` never came (output cut off)
    other: tuple[str, ...]  #: lines outside the protocol (errors from am, adb)


_STATUS = "INSTRUMENTATION_STATUS: "
_STATUS_CODE = "INSTRUMENTATION_STATUS_CODE: "
_RESULT = "INSTRUMENTATION_RESULT: "
_CODE = "INSTRUMENTATION_CODE: "


def parse_instrumentation(text: str) -> InstrumentationOutput:
    """Parse ``am instrument -r`` output: ``INSTRUMENTATION_STATUS: key=value`` lines (a value
    may continue on the following lines) closed by ``INSTRUMENTATION_STATUS_CODE: n``; then
    ``INSTRUMENTATION_RESULT: key=value`` lines and ``INSTRUMENTATION_CODE: n``."""
    statuses: list[InstrumentationStatus] = []
    current: dict[str, str] = {}
    result: dict[str, str] = {}
    result_code: int | None = None
    other: list[str] = []
    target: dict[str, str] | None = None
    key: str | None = None
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw.startswith(_STATUS_CODE) or raw.startswith(_CODE):
            number = raw.split(": ", 1)[1].strip()
            try:
                code = int(number)
            except ValueError:
                other.append(raw)
                continue
            if raw.startswith(_STATUS_CODE):
                statuses.append(InstrumentationStatus(code, current))
                current = {}
            else:
                result_code = code
            target = key = None
        elif raw.startswith(_STATUS) or raw.startswith(_RESULT):
            body = raw.split(": ", 1)[1]
            k, _, v = body.partition("=")
            target = current if raw.startswith(_STATUS) else result
            key = k
            target[k] = v
        elif target is not None and key is not None:
            target[key] += "\n" + raw
        elif raw.strip():
            other.append(raw)
    return InstrumentationOutput(tuple(statuses), result, result_code, tuple(other))


_recheck = reported.recheck  # kept for callers of the old name


def interpret(
    output: InstrumentationOutput,
    golden: reported.GoldenChecker | gv.GoldenSet,
    golden_sha256: str,
    model_sha256: str,
    accelerator: str = "CPU",
) -> tuple[str, tuple[Any, ...], dict[str, Any], tuple[str, ...]]:
    """``(status, cases, summary, problems)`` from parsed ``am instrument`` output of the run
    on ``accelerator``; each case is re-checked on the host by the rule of the app's task
    (``golden``: its :class:`~.reported.GoldenChecker`; a classifier's
    :class:`~.golden.GoldenSet` stands for :class:`~.reported.ClassifierChecker`, whose rule is
    :func:`.reported.recheck`, with the GPU tolerance on the GPU). ``status`` is
    ``not_available`` when the test reports that the device does not offer that accelerator
    (or, for the GPU, predates the ``accelerator`` argument).

    Raises :class:`DeviceSetupError` when the output shows the test never started
    (instrumentation missing) or was cut off.
    """
    text = "\n".join(output.other)
    for st in output.statuses:
        if "Error" in st.values and not any(k.startswith("edgesdk.") for k in st.values):
            text += "\n" + st.values["Error"]
    if "INSTRUMENTATION_FAILED" in text or "Unable to find instrumentation" in text:
        raise DeviceSetupError(
            "instrument",
            "the golden test is not installed on the device (am instrument could not find it)",
            received=_tail(text, 5),
            fix="Check that both APKs installed; see the install log",
        )
    lines = [st.values["edgesdk.case"] for st in output.statuses if "edgesdk.case" in st.values]
    checked, reported_problems = reported.read_cases(lines, golden, "the device", accelerator)
    cases = list(checked)
    problems = list(reported_problems)
    summary: dict[str, Any] = {}
    raw_summary = output.result.get("edgesdk.summary")
    if raw_summary is not None:
        try:
            summary = json.loads(raw_summary)
        except ValueError:
            problems.append(f"unreadable summary {raw_summary[:80]!r}")
    ran_on = str(summary.get("accelerator", "CPU")).upper()
    if summary and summary.get("accelerator_available") is False:
        return "not_available", (), summary, ()
    if summary and not summary.get("error"):
        if accelerator != "CPU" and "accelerator" not in summary:
            reason = "the app's golden test has no accelerator argument"
            return "not_available", (), {**summary, "accelerator_reason": reason}, ()
        if ran_on != accelerator:
            problems.append(f"asked for the {accelerator}, the test ran on the {ran_on}")
    if output.result_code is None and not summary:
        raise DeviceSetupError(
            "instrument",
            "the output of am instrument ended before the test finished",
            received=_tail(text or "(no output)", 5),
            fix="Run again; if it persists, check 'adb logcat' on the device",
        )
    if "shortMsg" in output.result and not summary:
        problems.append(
            f"the test process crashed on the device: {output.result.get('shortMsg')} "
            f"{output.result.get('longMsg', '')}".strip()
        )
        return "crashed", tuple(cases), summary, tuple(problems)
    problems += reported.summary_problems(
        summary, tuple(cases), golden, golden_sha256, model_sha256, "the device"
    )
    passed = (
        bool(summary.get("passed"))
        and not problems
        and bool(cases)
        and all(c.passed for c in cases)
    )
    return ("passed" if passed else "failed"), tuple(cases), summary, tuple(problems)
