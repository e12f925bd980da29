"""``edgesdk train``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from ._common import console, emit_json, user_errors

#: Tasks ``edgesdk train`` trains; one entry per task module.
TASKS = ("image_classifier", "object_detector")
CLASSIFIER_EPOCHS_CAP = 100
DETECTOR_EPOCHS = 20
DETECTOR_LR = 2e-3
CLASSIFIER_ALPHA = 1.0
#: MobileNetV2's narrowest width: the detector trains in minutes on 2 cores and stays small.
DETECTOR_ALPHA = 0.35


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
    task: str = typer.Option(
        "image_classifier",
        "--task",
        metavar="|".join(TASKS),
        help="What to train: image_classifier (DATA: class folders or .npz) or object_detector "
        "(DATA: a COCO folder with labels.json + images/, or Pascal VOC Annotations/ + "
        "JPEGImages/).",
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
    epochs: Optional[int] = typer.Option(
        None,
        "--epochs",
        metavar="N",
        show_default=False,
        help="At most N epochs: a cap on the step budget (early stopping usually ends sooner). "
        f"Default {CLASSIFIER_EPOCHS_CAP} for classifiers; detectors train exactly N "
        f"(default {DETECTOR_EPOCHS}).",
    ),
    steps: int | None = typer.Option(
        None,
        "--steps",
        metavar="N",
        show_default=False,
        help="Optimizer updates to schedule. Default: from the data size (at least 600 "
        "updates and 10 epochs), so small data sets get enough training.",
    ),
    batch_size: int = typer.Option(32, "--batch-size", metavar="N"),
    learning_rate: float | None = typer.Option(
        None,
        "--learning-rate",
        metavar="LR",
        show_default=False,
        help="Peak learning rate of the warm-up + cosine schedule (Adam). Default 2e-3 from "
        "scratch, 1e-3 with pretrained weights (the fine-tune phase uses a tenth).",
    ),
    early_stopping: bool = typer.Option(
        True,
        "--early-stopping/--no-early-stopping",
        help="Stop when the validation loss stops improving; keep the best weights.",
    ),
    val_split: float = typer.Option(
        0.2,
        "--val-split",
        metavar="FRACTION",
        help="Held-out fraction per class (seeded, stratified).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seeds the split, initialization and shuffling."),
    alpha: float | None = typer.Option(
        None,
        "--alpha",
        help="Width multiplier (MobileNetV2's alpha; scales small_cnn's widths too). "
        f"Default {CLASSIFIER_ALPHA:g} for classifiers, {DETECTOR_ALPHA:g} for object detectors.",
    ),
    weights: str = typer.Option(
        "none",
        "--weights",
        metavar="none|imagenet|PATH",
        help="Pretrained backbone for mobilenet_v2: imagenet (downloaded once into "
        "~/.keras/models), or a backbone weights .h5 / a model file of the same arch. "
        "Trains the head on the frozen backbone, then fine-tunes the top of it.",
    ),
    augment: bool = typer.Option(
        True,
        "--augment/--no-augment",
        help="Random flip, shift and zoom during training.",
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
) -> None:
    """Train an image classifier (or, with --task object_detector, a detector) that takes raw
    pixels and carries its class names."""
    with user_errors():
        check_task(task)
        if task == "object_detector":
            from ._detection import train_detector_cli

            train_detector_cli(
                data, output, image_size=image_size,
                epochs=epochs if epochs is not None else DETECTOR_EPOCHS, batch_size=batch_size,
                learning_rate=learning_rate if learning_rate is not None else DETECTOR_LR,
                val_split=val_split, seed=seed,
                alpha=alpha if alpha is not None else DETECTOR_ALPHA, weights=weights,
                augment=augment, force=force, json_output=json_output,
            )  # fmt: skip
            return
        from ..training.trainer import train

        con = console()
        con.print(f"Training [bold]{arch}[/bold] on {data} ...")
        result = train(
            data,
            output,
            arch=arch,
            image_size=image_size,
            epochs=epochs if epochs is not None else CLASSIFIER_EPOCHS_CAP,
            steps=steps,
            batch_size=batch_size,
            learning_rate=learning_rate,
            early_stopping=early_stopping,
            val_split=val_split,
            seed=seed,
            alpha=alpha if alpha is not None else CLASSIFIER_ALPHA,
            weights=weights,
            augment=augment,
            distribute=distribute,
            force=force,
            on_epoch=EpochPrinter(),
        )
        if result.chief:
            _summary(result)
        else:
            con.print(
                f"Trained {result.steps} steps as a non-chief worker; the chief writes the model "
                "(TF_CONFIG's chief, else worker 0)."
            )
        if json_output:
            emit_json(result.to_dict())


def check_task(task: str) -> None:
    from ..errors import ConfigError

    if task not in TASKS:
        raise ConfigError(
            f"unknown task: edgesdk train cannot train the task {task!r}",
            received=f"--task {task}",
            supported=", ".join(TASKS),
            fix="Pass --task image_classifier or --task object_detector",
        )


def print_epoch(log: Any) -> None:
    """One line for a finished epoch on stderr."""
    parts = [f"{k} {v:.4f}" for k, v in log.metrics.items()]
    width = len(str(log.epochs))
    steps = f"  step {log.step}/{log.steps}" if log.steps else ""
    console().print(
        f"[cyan]{log.stage}[/cyan] epoch {log.epoch:>{width}}/{log.epochs}{steps}  "
        + "  ".join(parts)
        + f"  [dim]{log.seconds:.1f} s[/dim]"
    )


class EpochPrinter:
    """Prints finished epochs, at most one line every ``interval`` seconds (and the first and
    last epoch of each stage)."""

    def __init__(self, interval: float = 2.0, printer: Any = None) -> None:
        import time

        self._print = printer or print_epoch
        self._clock = time.monotonic
        self._interval = interval
        self._last: float | None = None
        self._stage = ""

    def __call__(self, log: Any) -> None:
        now = self._clock()
        new_stage = log.stage != self._stage
        last = getattr(log, "epoch", None) == getattr(log, "epochs", 0)
        if new_stage or last or self._last is None or now - self._last >= self._interval:
            self._print(log)
            self._last, self._stage = now, log.stage


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
        *[
            (
                f"{p.name} phase",
                f"{p.epochs_run}/{p.epochs_planned} epochs, {p.steps_run} steps, peak LR "
                f"{p.learning_rate:g}, best epoch {p.best_epoch}"
                + (" (stopped early)" if p.stopped_early else ""),
            )
            for p in result.phases
        ],
        ("time", f"{result.seconds:.1f} s"),
        ("history", escape(str(result.report_path))),
        ("curves", escape(str(result.plot_path))),
    ]
    for k, v in rows:
        t.add_row(k, v)
    console().print(t)


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
