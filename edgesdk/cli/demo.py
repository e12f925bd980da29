"""``edgesdk demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, emit_json, user_errors, warn
from .train import TASKS, EpochPrinter, check_task


def demo_command(
    output: Path = typer.Option(
        Path("demo_out"), "-o", "--output", help="Folder to write (must not exist unless --force)."
    ),
    task: str = typer.Option(
        "image_classifier",
        "--task",
        metavar="|".join(TASKS),
        help="Which demo to run.",
    ),
    epochs: int | None = typer.Option(
        None,
        "--epochs",
        show_default=False,
        help="Cap on the training epochs (default: edgesdk train's step budget decides; "
        "the detector demo trains 12).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
    json_output: bool = typer.Option(
        False, "--json", help="Print the summary as one JSON object on stdout."
    ),
) -> None:
    """Draw a shapes data set, train, prune, quantize (auto) and package it for Android."""
    with user_errors():
        check_task(task)
        if task == "object_detector":
            from ._detection import demo_detector_cli

            demo_detector_cli(output, epochs=epochs or 12, force=force, json_output=json_output)
            return
        from rich.markup import escape

        from ..demo import run_demo

        con = console()

        def print_epoch(log: object) -> None:
            m = log.metrics  # type: ignore[attr-defined]
            acc = m.get("val_accuracy", m.get("accuracy"))
            con.print(
                f"  {log.stage} epoch {log.epoch}/{log.epochs}, "  # type: ignore[attr-defined]
                f"step {log.step}/{log.steps}: "  # type: ignore[attr-defined]
                f"loss {m.get('loss', float('nan')):.3f}"
                + (f", val accuracy {acc:.3f}" if acc is not None else "")
                + f" ({log.seconds:.1f}s)"  # type: ignore[attr-defined]
            )

        on_epoch = EpochPrinter(printer=print_epoch)

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
        con.print("\nAccuracy at every stage, on the same evaluation data:")
        for c in s["chain"]:
            acc = "n/a" if c["accuracy"] is None else f"{c['accuracy'] * 100:.1f}%"
            what = c["stage"] + (f" ({c['quantization']})" if "quantization" in c else "")
            con.print(
                f"  {escape(what):<20} {acc:>6}  {c['size_bytes']:>9,} bytes  "
                f"[dim]{escape(c['model'])}, {escape(c['data'])}[/dim]"
            )
        for w in s["compression"].get("warnings", []):
            warn(w)
        first, last = s["chain"][0]["accuracy"], s["chain"][-1]["accuracy"]
        change = f"{(last - first) * 100:+.1f}" if last is not None else "n/a"
        con.print(
            f"\nShipped [bold]{s['package']['quantization']}[/bold] "
            f"({s['package']['tflite_bytes']:,} bytes): {change} points of accuracy against the "
            f"trained model (budget -{s['chain_budget_points']:g}); "
            f"host parity (tier 1): top-1 agreement {p['top1_agreement'] * 100:.1f}% "
            f"on {p['samples']} evaluation images. Total {s['timings_s']['total_s']:.0f}s."
        )
        con.print(
            f"Open {escape(str(result.report_html))} for the report; "
            f"the Android project is {escape(str(result.package / 'android'))}."
        )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
