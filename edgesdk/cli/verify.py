"""``edgesdk verify``: host parity and golden vectors (tier 1), the app on the host JVM
(tier android_host), aarch64 kernels (``--arm64``), APKs without Gradle (``--apk``), and the
device test (tier 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from ._common import console, emit_json, user_errors, warn

EMULATOR_OPTION = "--emulator"


def verify_command(
    target: Path = typer.Argument(
        ..., metavar="OUT_OR_TFLITE", help="An 'edgesdk package' output folder, or a .tflite file."
    ),
    reference: Optional[Path] = typer.Option(
        None, "--reference", help="The Keras model (default: the one recorded in OUT/report.json)."
    ),
    data: Optional[Path] = typer.Option(
        None, "--data", help="Image folder or .npz to compare on (default: random inputs)."
    ),
    samples: Optional[int] = typer.Option(
        None,
        "--samples",
        min=1,
        help="At most this many samples (default: as many as package measured on; "
        "100 random inputs when no data exists).",
    ),
    trust_model: bool = typer.Option(
        False,
        "--trust-model",
        help="Load a reference model that carries code (Lambda layers, custom objects, "
        "file/process ops). Only for models from a source you trust.",
    ),
    android_host: bool = typer.Option(
        False,
        "--android-host",
        help="Also run the app's own code on the host JVM (tier android_host: Robolectric, "
        "LiteRT's Android x86_64 library; needs 'edgesdk toolchain install').",
    ),
    emulator: Optional[str] = typer.Option(
        None,
        EMULATOR_OPTION,
        metavar="[AVD]",
        help="Run the golden test on an emulator it starts (and stops): the AVD given, "
        "or the first one; a running emulator of that AVD is used as it is.",
    ),
    device: Optional[str] = typer.Option(
        None,
        "--device",
        metavar="SERIAL",
        help="Run the golden test on a connected device or running emulator (adb devices).",
    ),
    arm64: bool = typer.Option(
        False,
        "--arm64",
        help="Run the golden inputs through aarch64 LiteRT (XNNPACK's ARM kernels) under "
        "qemu-user (needs 'edgesdk toolchain install').",
    ),
    apk: bool = typer.Option(
        False,
        "--apk",
        help="Assemble, sign and check the debug and test APKs with aapt2, kotlinc, D8, "
        "zipalign and apksigner (not Gradle's build; needs 'edgesdk toolchain install').",
    ),
    build_timeout: float = typer.Option(
        1800.0, "--build-timeout", help="Seconds for the Gradle build (tier 4)."
    ),
    boot_timeout: float = typer.Option(
        600.0, "--boot-timeout", help="Seconds for the emulator to boot, per attempt (tier 4)."
    ),
    test_timeout: float = typer.Option(
        900.0, "--test-timeout", help="Seconds for the on-device test run (tier 4)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Check the model at every tier that can run here: host parity and golden vectors
    (tier 1), and with --emulator/--device the generated test on Android (tier 4).

    Exit 3 when a check fails, 4 when the Android environment is missing.
    """
    with user_errors():
        from ..verify.run import verify

        con = console()
        with con.status("Verifying…") as status:
            result = verify(
                target,
                reference=reference,
                data=data,
                samples=samples,
                trust_model=trust_model,
                serial=device,
                avd=emulator,
                build_timeout=build_timeout,
                boot_timeout=boot_timeout,
                test_timeout=test_timeout,
                android_host=android_host,
                on_progress=lambda msg: status.update(msg + "…"),
                on_warning=warn,
                arm64=arm64,
                apk=apk,
            )
        if json_output:
            emit_json(result.to_dict())
        else:
            _print(con, result)
        if result.exit_code:
            raise typer.Exit(code=result.exit_code)


def _verdict(passed: bool) -> str:
    return "[green]PASSED[/green]" if passed else "[red]FAILED[/red]"


def _num(value: float | None, fmt: str = ".2e") -> str:
    return "-" if value is None else format(value, fmt)


def _case_table(
    title: str, extra_column: str, cases: Any, extra: Any, gpu: dict[int, Any] | None = None
) -> Any:
    """One row per golden case; ``extra(case)`` fills the column before the result. ``gpu``
    (case index -> the GPU run's check) adds the GPU as its own columns. Cases with their own
    ``table_row()`` (a task's, e.g. a detector's) fill the task's columns instead."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title)
    if cases and hasattr(cases[0], "table_row"):  # a task's own case lines (e.g. detections)
        for col in (*cases[0].TABLE_COLUMNS, "result"):
            table.add_column(col)
        for c in cases:
            table.add_row(*[escape(v) for v in c.table_row()], _verdict(c.passed))
        return table
    columns = ["case", "size", "top-1 expected", "top-1 got", "max |diff|", "tolerance",
               extra_column, "result"]  # fmt: skip
    if gpu is not None:
        columns += ["GPU |diff|", "GPU tolerance", "GPU"]
    for col in columns:
        table.add_column(col)
    for c in cases:
        row = [
            str(c.index), f"{c.width}x{c.height}", str(c.top1_expected), str(c.top1_got),
            _num(c.max_abs_diff), _num(c.tolerance), extra(c), _verdict(c.passed),
        ]  # fmt: skip
        if gpu is not None:
            g = gpu.get(c.index)
            row += (
                ["-", "-", "-"]
                if g is None
                else [_num(g.max_abs_diff), _num(g.tolerance), _verdict(g.passed)]
            )
        table.add_row(*row)
    return table


def _detection_table(title: str, tier: Any) -> Any:
    """One row per golden detection case judged by the detector rule (``tier.rule``)."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("case", "size", "expected", "got", "missing", "unexpected", "min IoU",
                "max score diff", "input tensor", "result"):  # fmt: skip
        table.add_column(col)
    for c in tier.cases:
        table.add_row(
            str(c.index), f"{c.width}x{c.height}", str(c.expected), str(c.got), str(c.missing),
            str(c.unexpected), _num(c.min_iou, ".4f"), _num(c.max_score_diff),
            "same" if c.input_match else "differs", _verdict(c.passed),
        )  # fmt: skip
    rule = tier.rule
    table.caption = (
        f"same class, IoU >= {rule.get('min_iou', 0):.3g}, score within "
        f"{rule.get('score_tolerance', 0):.3g}, "
        "none missing or unexpected"
    )
    return table


def _print(con: Any, result: Any) -> None:
    from rich.markup import escape

    host = result.host
    if host is not None and hasattr(host, "describe"):  # a task's own checks
        for line in host.describe():
            con.print(escape(line))
    elif host is not None:
        con.print(
            f"Host parity (tier 1) {_verdict(host.passed)}: {host.quantization} model, "
            f"{host.samples} "
            f"{host.source.replace('_', ' ')} samples, top-1 agreement "
            f"{host.top1_agreement * 100:.1f}%, max |diff| {host.max_abs_diff:.2e} "
            f"(tolerance {host.tolerance['atol']:.2e}, {host.tolerance['basis']}); "
            f"{host.clear_flips} clear top-1 flip(s) of {host.allowed_flips} allowed, "
            f"{host.near_tie_flips} near-tie flip(s)"
        )
        for case in host.failing_cases[:20]:
            con.print(
                f"  case {case['index']}: top-1 expected {case['top1_expected']}, got "
                f"{case['top1_got']}, max |diff| {case['max_abs_diff']:.3e}"
            )
    else:
        con.print(f"Host parity (tier 1) skipped: {escape(result.host_skipped or '')}")

    golden = result.golden
    if golden is not None and hasattr(golden, "describe"):
        for line in golden.describe():
            con.print(escape(line))
    elif golden is not None:
        ok = sum(c.passed for c in golden.cases)
        con.print(
            f"Golden vectors on the host (tier 1) {_verdict(golden.passed)}: "
            f"{ok}/{len(golden.cases)} "
            f"cases ({golden.source.replace('_', ' ')}; {escape(golden.tolerance_basis)})"
        )
        for problem in golden.problems:
            con.print(f"  [red]{escape(problem)}[/red]")
        con.print(
            _case_table(
                "Golden cases, host (tier 1)",
                "input tensor",
                golden.cases,
                lambda c: (
                    "same" if c.input_match else ("differs" if c.input_match is False else "-")
                ),
            )
        )
    else:
        con.print(f"Golden vectors (tier 1) skipped: {escape(result.golden_skipped or '')}")

    for name, tier in result.tiers:
        _print_tier(con, name, tier)
    if result.android_host is not None:
        _print_android_host(con, result.android_host)

    dev = result.device
    if dev.status == "not_run":
        con.print(f"On device (tier 4) not run: {escape(dev.message)}")
    elif dev.status == "environment_error":
        con.print(
            f"On device (tier 4) [red]NOT RUN[/red] — the environment failed at step "
            f"'{dev.stage}': {escape(dev.message)}"
        )
    else:
        info = dev.device
        where = f"{dev.serial}" + (
            f" ({info.get('manufacturer', '')} {info.get('model', '')}, API {info.get('sdk')}, "
            f"{info.get('abi', '')})"
            if info
            else ""
        )
        ok = sum(c.passed for c in dev.cases)
        latencies = sorted(c.latency_ms for c in dev.cases if c.latency_ms is not None)
        median = f", median latency {latencies[len(latencies) // 2]:.2f} ms" if latencies else ""
        con.print(
            f"On device (tier 4) {_verdict(dev.passed)} on {escape(where)}: "
            f"{ok}/{dev.expected_cases} "
            f"golden cases passed{median}"
            + (" (the test crashed)" if dev.status == "crashed" else "")
        )
        for problem in dev.problems:
            con.print(f"  [red]{escape(problem)}[/red]")
        gpu = dev.gpu
        gpu_cases = None
        if gpu is None:
            con.print("  GPU: not run")
        elif gpu.status == "not_available":
            con.print(f"  GPU: not available on this device ({escape(gpu.reason)})")
        else:
            from ..codegen.runtime import GPU_RELATIVE_TOLERANCE

            gpu_cases = {c.index: c for c in gpu.cases}
            gpu_ok = sum(c.passed for c in gpu.cases)
            con.print(
                f"  GPU: {_verdict(gpu.passed)} {gpu_ok}/{dev.expected_cases} golden cases "
                f"(tolerance max(tolerance, {GPU_RELATIVE_TOLERANCE} * max(1, max |host score|)):"
                " GPU backends may compute in fp16)"
            )
            for problem in gpu.problems:
                con.print(f"  [red]GPU: {escape(problem)}[/red]")
        con.print(
            _case_table(
                f"Golden cases, device {escape(dev.serial or '')} (tier 4), CPU"
                + (" and GPU" if gpu_cases is not None else ""),
                "latency (ms)",
                dev.cases,
                lambda c: _num(c.latency_ms, ".2f"),
                gpu_cases,
            )
        )
        if dev.logs:
            con.print(f"Logs: {escape(dev.logs)}")


def _print_tier(con: Any, name: str, tier: Any) -> None:
    from rich.markup import escape

    if tier.status in ("environment_error", "not_run"):
        con.print(f"Tier {name} [red]NOT RUN[/red]: {escape(tier.reason)}")
        return
    if name == "arm64":
        ok = sum(c.passed for c in tier.cases)
        lsb = "" if tier.max_lsb_diff is None else f", max {tier.max_lsb_diff} LSB"
        con.print(
            f"Golden vectors on aarch64 LiteRT {tier.litert} under qemu (tier arm64, "
            f"QEMU_CPU={tier.cpu}, XNNPACK {'on' if tier.xnnpack else 'OFF'}) "
            f"{_verdict(tier.passed)}: {ok}/{len(tier.cases)} cases{lsb} ({tier.seconds:.1f} s)"
        )
        for problem in tier.problems:
            con.print(f"  [red]{escape(problem)}[/red]")
        if tier.cases and not hasattr(tier.cases[0], "top1_expected"):
            con.print(_detection_table("Golden detections, aarch64 (tier arm64)", tier))
        else:
            con.print(
                _case_table(
                    "Golden cases, aarch64 (tier arm64)",
                    "input tensor",
                    tier.cases,
                    lambda c: "same" if c.input_match else "differs",
                )
            )
        con.print(f"  Not proven here: {escape(tier.not_proven)}")
    elif name == "apk":
        con.print(f"APKs without Gradle (tier apk) {_verdict(tier.passed)}: {escape(tier.summary)}")
        for problem in tier.problems:
            con.print(f"  [red]{escape(problem)}[/red]")
        con.print(f"  {escape(tier.not_proven)}")


def _print_android_host(con: Any, run: Any) -> None:
    from rich.markup import escape

    from ..verify.run import TierNotRun

    if isinstance(run, TierNotRun):
        _print_tier(con, "android_host", run)
        return
    ok = sum(c.passed for c in run.cases)
    con.print(
        f"App code on the host JVM (tier android_host) {_verdict(run.passed)}: "
        f"{ok}/{run.expected_cases} golden cases; Robolectric {run.runtime.get('robolectric')}, "
        f"API {run.runtime.get('android_sdk')}, TFLite {run.runtime.get('tflite')} Android "
        f"x86_64 library, XNNPACK {run.runtime.get('xnnpack')}"
    )
    con.print(f"  Not proven here: {escape(run.to_dict()['not_proven'])}")
    for problem in run.problems:
        con.print(f"  [red]{escape(problem)}[/red]")
    if run.cases:
        con.print(
            _case_table(
                "Golden cases, host JVM (tier android_host)",
                "latency (ms)",
                run.cases,
                lambda c: _num(c.latency_ms, ".2f"),
            )
        )
    o = run.overhead
    if o:
        call = "detect" if "detect_bitmap_ms" in o else "classify"
        bare = "runForMultipleInputsOutputs" if call == "detect" else "run"
        con.print(
            f"  Wrapper overhead (median of {o.get('iterations')}): {call}(bitmap) "
            f"{o.get(f'{call}_bitmap_ms')} ms, {call}(pixels) {o.get(f'{call}_pixels_ms')} "
            f"ms, bare Interpreter.{bare} {o.get('interpreter_run_ms')} ms"
        )
    if run.logs:
        con.print(f"  Log: {escape(run.logs)}")


def normalize_argv(argv: list[str]) -> list[str]:
    """``--emulator`` takes an optional AVD: a bare ``--emulator`` (last, or followed by an
    option) becomes ``--emulator=`` (the first AVD). typer has no optional-value options."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--":
            break
        if arg == EMULATOR_OPTION and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out[i] = EMULATOR_OPTION + "="
    return out


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)
