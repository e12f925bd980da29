"""``edgesdk demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, emit_json, user_errors, warn


def demo_command(
    output: Path = typer.Option(
        Path("demo_out"), "-o", "--output", help="Folder to write (must not exist unless --force)."
    ),
    epochs: int = typer.Option(12, "--epochs", help="Training epochs."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
    json_output: bool = typer.Option(
        False, "--json", help="Print the summary as one JSON object on stdout."
    ),
    task: str = typer.Option(
        "image_classifier", "--task", help="image_classifier or object_detector."
    ),
) -> None:
    """Draw a shapes data set, train, prune, quantize (auto) and package it for Android."""
    with user_errors():
        from ._detection import check_task, demo_detector_cli

        check_task(task)
        if task == "object_detector":
            demo_detector_cli(output, epochs=epochs, force=force, json_output=json_output)
            return
        from rich.markup import escape

        from ..demo import run_demo

        con = console()

        def on_epoch(log: object) -> None:
            m = log.metrics  # type: ignore[attr-defined]
            acc = m.get("val_accuracy", m.get("accuracy"))
            con.print(
                f"  {log.stage} epoch {log.epoch}/{log.epochs}: "  # type: ignore[attr-defined]
                f"loss {m.get('loss', float('nan')):.3f}"
                + (f", val accuracy {acc:.3f}" if acc is not None else "")
                + f" ({log.seconds:.1f}s)"  # type: ignore[attr-defined]
            )

        with con.status("Starting…") as status:

            def on_step(msg: str) -> None:
                status.update(msg + "…")
                if not msg.startswith("Packaging:"):
                    con.print(f"[bold]{escape(msg)}[/bold]")

            result = run_demo(
                output,
                force=force,
                epochs=epochs,
                on_step=on_step,
                on_epoch=on_epoch,
                on_warning=warn,
            )
        s = result.summary
        if json_output:
            emit_json({"output": str(result.output), **s})
            return
        p = s["package"]["parity"]
        con.print(
            f"\nTrained to {s['training']['val_accuracy'] * 100:.1f}% held-out accuracy, pruned to "
            f"{(s['compression'].get('after sparsity') or 0) * 100:.0f}% sparsity, packaged as "
            f"[bold]{s['package']['quantization']}[/bold] "
            f"({s['package']['tflite_bytes']:,} bytes); "
            f"host parity (tier 1): top-1 agreement {p['top1_agreement'] * 100:.1f}% "
            f"on {p['samples']} "
            f"evaluation images. Total {s['timings_s']['total_s']:.0f}s."
        )
        con.print(
            f"Open {escape(str(result.report_html))} for the report; "
            f"the Android project is {escape(str(result.package / 'android'))}."
        )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
