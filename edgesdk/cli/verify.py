"""``edgesdk verify``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._common import console, emit_json, user_errors


def verify_command(
    target: Path = typer.Argument(..., metavar="OUT_OR_TFLITE", help="An 'edgesdk package' output folder, or a .tflite file."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="The Keras model (default: the one recorded in OUT/report.json)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Image folder or .npz to compare on (default: random inputs)."),
    samples: int = typer.Option(100, "--samples", help="At most this many samples."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Check that the .tflite computes what the Keras model computes (host parity, tier 1)."""
    with user_errors():
        from ..verify.parity import verify_host

        con = console()
        with con.status("Verifying on the host (tier 1)…"):
            result = verify_host(target, reference=reference, data=data, samples=samples)
        if json_output:
            emit_json(result.to_dict())
        else:
            status = "[green]PASSED[/green]" if result.passed else "[red]FAILED[/red]"
            con.print(
                f"Host parity (tier 1) {status}: {result.quantization} model, {result.samples} "
                f"{result.source.replace('_', ' ')} samples, top-1 agreement "
                f"{result.top1_agreement * 100:.1f}%, max |diff| {result.max_abs_diff:.2e} "
                f"(tolerance {result.tolerance['atol']:.2e}, {result.tolerance['basis']})"
            )
            for case in result.failing_cases[:20]:
                con.print(
                    f"  case {case['index']}: top-1 expected {case['top1_expected']}, got "
                    f"{case['top1_got']}, max |diff| {case['max_abs_diff']:.3e}"
                )
        if not result.passed:
            raise typer.Exit(code=3)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)
