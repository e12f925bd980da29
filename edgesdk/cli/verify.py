"""``edgesdk verify``: host parity and golden vectors (tier 1), the app on the host JVM
(tier android_host), and the device test (tier 4)."""

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
    samples: int = typer.Option(100, "--samples", help="At most this many samples."),
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
                serial=device,
                avd=emulator,
                build_timeout=build_timeout,
                boot_timeout=boot_timeout,
                test_timeout=test_timeout,
                android_host=android_host,
                on_progress=lambda msg: status.update(msg + "…"),
                on_warning=warn,
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


def _case_table(title: str, extra_column: str, cases: Any, extra: Any) -> Any:
    """One row per golden case; ``extra(case)`` fills the column before the result."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("case", "size", "top-1 expected", "top-1 got", "max |diff|", "tolerance",
                extra_column, "result"):  # fmt: skip
        table.add_column(col)
    for c in cases:
        table.add_row(
            str(c.index), f"{c.width}x{c.height}", str(c.top1_expected), str(c.top1_got),
            _num(c.max_abs_diff), _num(c.tolerance), extra(c), _verdict(c.passed),
        )  # fmt: skip
    return table


def _print(con: Any, result: Any) -> None:
    from rich.markup import escape

    host = result.host
    if host is not None:
        con.print(
            f"Host parity (tier 1) {_verdict(host.passed)}: {host.quantization} model, "
            f"{host.samples} "
            f"{host.source.replace('_', ' ')} samples, top-1 agreement "
            f"{host.top1_agreement * 100:.1f}%, max |diff| {host.max_abs_diff:.2e} "
            f"(tolerance {host.tolerance['atol']:.2e}, {host.tolerance['basis']})"
        )
        for case in host.failing_cases[:20]:
            con.print(
                f"  case {case['index']}: top-1 expected {case['top1_expected']}, got "
                f"{case['top1_got']}, max |diff| {case['max_abs_diff']:.3e}"
            )
    else:
        con.print(f"Host parity (tier 1) skipped: {escape(result.host_skipped or '')}")

    golden = result.golden
    if golden is not None:
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
        con.print(
            _case_table(
                f"Golden cases, device {escape(dev.serial or '')} (tier 4)",
                "latency (ms)",
                dev.cases,
                lambda c: _num(c.latency_ms, ".2f"),
            )
        )
        if dev.logs:
            con.print(f"Logs: {escape(dev.logs)}")


def _print_android_host(con: Any, run: Any) -> None:
    from rich.markup import escape

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
        con.print(
            f"  Wrapper overhead (median of {o.get('iterations')}): classify(bitmap) "
            f"{o.get('classify_bitmap_ms')} ms, classify(pixels) {o.get('classify_pixels_ms')} "
            f"ms, bare Interpreter.run {o.get('interpreter_run_ms')} ms"
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
