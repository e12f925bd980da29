"""``edgesdk train``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._common import console, emit_json, user_errors


def train_command(
    data: Path = typer.Argument(
        ...,
        metavar="DATA",
        help="A folder with one sub-folder per class of images, or an .npz with x (raw "
        "pixels 0..255) and y (integer labels), optionally class_names.",
    ),
    output: Path = typer.Option(
        Path("model.h5"),
        "-o",
        "--output",
        metavar="MODEL",
        help="Model file to write: .h5 (legacy HDF5) or .keras. Class names are stored "
        "inside; <stem>.training.json and <stem>.training.png go beside it.",
    ),
    arch: str = typer.Option(
        "small_cnn",
        "--arch",
        help="small_cnn (default; small images such as 8x8 or 28x28) or mobilenet_v2.",
    ),
    image_size: int | None = typer.Option(
        None,
        "--image-size",
        metavar="N",
        show_default=False,
        help="Resize images to N x N. Default: the data's own size (small_cnn), 96 (mobilenet_v2).",
    ),
    epochs: int = typer.Option(10, "--epochs", metavar="N"),
    batch_size: int = typer.Option(32, "--batch-size", metavar="N"),
    learning_rate: float = typer.Option(1e-3, "--learning-rate", metavar="LR"),
    val_split: float = typer.Option(
        0.2,
        "--val-split",
        metavar="FRACTION",
        help="Held-out fraction per class (seeded, stratified).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seeds the split, initialization and shuffling."),
    alpha: float = typer.Option(
        1.0,
        "--alpha",
        help="Width multiplier (MobileNetV2's alpha; scales small_cnn's widths too).",
    ),
    weights: str = typer.Option(
        "none",
        "--weights",
        metavar="none|imagenet|PATH",
        help="Initial backbone weights for mobilenet_v2 (imagenet downloads them).",
    ),
    augment: bool = typer.Option(
        True, "--augment/--no-augment", help="Random flip and translation during training."
    ),
    distribute: str = typer.Option(
        "none",
        "--distribute",
        metavar="none|mirrored|multiworker",
        help="Build and train under tf.distribute MirroredStrategy or "
        "MultiWorkerMirroredStrategy (reads TF_CONFIG).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    task: str = typer.Option(
        "image_classifier",
        "--task",
        help="image_classifier (DATA: class folders or .npz) or object_detector (DATA: a COCO "
        "folder with labels.json + images/, or Pascal VOC Annotations/ + JPEGImages/).",
    ),
) -> None:
    """Train an image classifier (or, with --task object_detector, a detector) that takes raw
    pixels and carries its class names."""
    with user_errors():
        from ._detection import check_task, train_detector_cli

        check_task(task)
        if task == "object_detector":
            train_detector_cli(
                data, output, image_size=image_size, epochs=epochs, batch_size=batch_size,
                learning_rate=learning_rate, val_split=val_split, seed=seed, alpha=alpha,
                weights=weights, augment=augment, force=force, json_output=json_output,
            )  # fmt: skip
            return
        from ..train import train

        con = console()
        con.print(f"Training [bold]{arch}[/bold] on {data} ...")
        result = train(
            data,
            output,
            arch=arch,
            image_size=image_size,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            val_split=val_split,
            seed=seed,
            alpha=alpha,
            weights=weights,
            augment=augment,
            distribute=distribute,
            force=force,
            on_epoch=print_epoch,
        )
        _summary(result)
        if json_output:
            emit_json(result.to_dict())


def print_epoch(log: Any) -> None:
    """One line per finished epoch on stderr."""
    parts = [f"{k} {v:.4f}" for k, v in log.metrics.items()]
    width = len(str(log.epochs))
    console().print(
        f"[cyan]{log.stage}[/cyan] epoch {log.epoch:>{width}}/{log.epochs}  "
        + "  ".join(parts)
        + f"  [dim]{log.seconds:.1f} s[/dim]"
    )


def _summary(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title="Training summary", show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    rows = [
        ("model", escape(str(result.model_path))),
        (
            "architecture",
            f"{result.arch}, input {'x'.join(map(str, result.input_shape))}, "
            f"{result.params:,} parameters",
        ),
        ("classes", escape(", ".join(result.class_names))),
        ("samples", f"{result.num_train} training, {result.num_val} held out"),
        ("val accuracy", f"{result.val_accuracy:.4f}"),
        ("val loss", f"{result.val_loss:.4f}"),
        ("epochs", str(result.epochs)),
        ("time", f"{result.seconds:.1f} s"),
        ("history", escape(str(result.report_path))),
        ("curves", escape(str(result.plot_path))),
    ]
    for k, v in rows:
        t.add_row(k, v)
    console().print(t)


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
