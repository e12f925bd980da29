"""The object-detector branches of ``edgesdk train`` and ``edgesdk demo`` (not a command)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._common import console, emit_json


def train_detector_cli(
    data: Path,
    output: Path,
    *,
    image_size: int | None,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    val_split: float,
    seed: int,
    alpha: float,
    weights: str,
    augment: bool,
    force: bool,
    json_output: bool,
) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ..detection.train import DetectorTrainConfig, train_detector

    con = console()
    cfg = DetectorTrainConfig(
        image_size=image_size or 128,
        alpha=alpha,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        val_split=val_split,
        seed=seed,
        weights=weights,
        augment=augment,
    )
    con.print(f"Training an SSD-style detector (MobileNetV2, alpha {alpha:g}) on {data} ...")

    def on_epoch(epoch: int, total: int, logs: dict[str, Any]) -> None:
        parts = "  ".join(f"{k} {v:.4f}" for k, v in logs.items())
        con.print(f"[cyan]train[/cyan] epoch {epoch}/{total}  {parts}")

    result = train_detector(data, output, cfg, force=force, on_epoch=on_epoch)
    if json_output:
        emit_json(result.to_dict())
        return
    t = Table(title="Training summary", show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    for k, v in (
        ("model", escape(str(result.model_path))),
        ("classes", escape(", ".join(result.class_names))),
        ("anchors", str(result.num_anchors)),
        ("images", f"{result.train_samples} training, {result.val_samples} held out"),
        ("val mAP@0.5", f"{result.map50 * 100:.1f}"),
        ("val mAP@[.5:.95]", f"{result.map * 100:.1f}"),
        ("time", f"{result.train_seconds:.1f} s"),
    ):
        t.add_row(k, v)
    con.print(t)


def demo_detector_cli(output: Path, *, epochs: int, force: bool, json_output: bool) -> None:
    from rich.markup import escape

    from ..detection.demo import run_detector_demo
    from ._common import warn

    con = console()
    result = run_detector_demo(
        output,
        epochs=epochs,
        force=force,
        on_step=lambda m: con.print(f"[bold]{escape(m)}[/bold]"),
        on_warning=warn,
    )
    if json_output:
        emit_json({"output": str(result["output"]), **result})
        return
    con.print(
        f"\nTrained a detector to {result['training']['map50'] * 100:.1f} mAP@0.5 on held-out "
        f"images, packaged as [bold]{result['package']['quantization']}[/bold] "
        f"({result['package']['tflite_bytes']:,} bytes). Open "
        f"{escape(str(result['report_html']))}; the Android project is "
        f"{escape(str(result['android']))}."
    )
