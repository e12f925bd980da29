"""``edgesdk compress``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._common import console, emit_json, user_errors, warn
from .train import EpochPrinter


def compress_command(
    model: Path = typer.Argument(
        ...,
        metavar="MODEL",
        help="The tf_keras model to compress (.h5, .keras or SavedModel folder); with "
        "--distill-from it is the student (or, with --arch, supplies the input shape).",
    ),
    data: Path = typer.Option(
        ...,
        "--data",
        metavar="DATA",
        help="Training data: a folder of class sub-folders or an .npz (x raw pixels, y).",
    ),
    output: Path = typer.Option(
        ...,
        "-o",
        "--output",
        metavar="MODEL",
        help="Compressed model to write (.h5 or .keras; .h5 only with --qat). "
        "<stem>.compress.json goes beside it.",
    ),
    prune: float | None = typer.Option(
        None,
        "--prune",
        metavar="SPARSITY",
        show_default=False,
        help="Magnitude-prune every kernel to this fraction of zeros, 0 <= SPARSITY < 1.",
    ),
    cluster: int | None = typer.Option(
        None,
        "--cluster",
        metavar="N",
        show_default=False,
        help="Cluster every kernel's weights to N >= 2 shared values.",
    ),
    qat: bool = typer.Option(
        False,
        "--qat",
        help="Quantization-aware training; load the result inside "
        "tfmot.quantization.keras.quantize_scope() to convert it to int8.",
    ),
    distill_from: Path | None = typer.Option(
        None,
        "--distill-from",
        metavar="TEACHER",
        show_default=False,
        help="Distill this teacher model (tf_keras or Keras 3) into the student.",
    ),
    arch: str | None = typer.Option(
        None,
        "--arch",
        show_default=False,
        help="With --distill-from: train a fresh student of this architecture "
        "(small_cnn or mobilenet_v2) instead of MODEL itself.",
    ),
    alpha: float | None = typer.Option(
        None, "--alpha", show_default=False, help="With --arch: the student's width multiplier."
    ),
    temperature: float | None = typer.Option(
        None,
        "--temperature",
        show_default=False,
        help="With --distill-from: softmax temperature of the soft targets (default 4).",
    ),
    distill_alpha: float | None = typer.Option(
        None,
        "--distill-alpha",
        show_default=False,
        help="With --distill-from: weight of the hard-label loss, 0..1 (default 0.1).",
    ),
    epochs: int | None = typer.Option(
        None,
        "--epochs",
        metavar="N",
        show_default=False,
        help="Fine-tuning epochs per method. Default: from the data size (at least 300 "
        "updates and 3 epochs; distillation: at least 600 updates and 10 epochs).",
    ),
    batch_size: int = typer.Option(32, "--batch-size", metavar="N"),
    learning_rate: float | None = typer.Option(
        None,
        "--learning-rate",
        metavar="LR",
        show_default=False,
        help="Peak of the warm-up + cosine schedule. Default 5e-4 for fine-tuning, 2e-3 for "
        "distillation.",
    ),
    val_split: float = typer.Option(
        0.2,
        "--val-split",
        metavar="FRACTION",
        help="Held-out fraction per class; the same seeded split as edgesdk train.",
    ),
    seed: int = typer.Option(0, "--seed"),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
    trust_model: bool = typer.Option(
        False,
        "--trust-model",
        help="Load a model or teacher that carries code (Lambda layers, custom objects). "
        "Only for models from a source you trust.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Prune, cluster, quantization-aware train or distill a tf_keras model.

    Methods run in the order distill -> prune -> cluster -> qat. Combinations: any
    method with --distill-from; --prune with --cluster (sparsity-preserving
    clustering); --prune with --qat (pruning-preserving QAT). --cluster with --qat is
    refused.
    """
    with user_errors():
        from ..training.compression import compress

        con = console()
        con.print(f"Compressing [bold]{model}[/bold] ...")
        result = compress(
            model,
            data,
            output,
            prune=prune,
            cluster=cluster,
            qat=qat,
            distill_from=distill_from,
            arch=arch,
            alpha=alpha,
            temperature=temperature,
            distill_alpha=distill_alpha,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            val_split=val_split,
            seed=seed,
            force=force,
            trust_model=trust_model,
            on_epoch=EpochPrinter(),
        )
        _summary(result)
        if json_output:
            emit_json(result.to_dict())


def _summary(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    b, a = result.before, result.after
    t = Table(title=f"Compression: {' + '.join(result.methods)}")
    t.add_column("")
    t.add_column("before", justify="right")
    t.add_column("after", justify="right")
    rows = [
        ("held-out accuracy", f"{b.accuracy:.4f}", f"{a.accuracy:.4f}"),
        ("held-out loss", f"{b.loss:.4f}", f"{a.loss:.4f}"),
        ("parameters", f"{b.params:,}", f"{a.params:,}"),
        ("model file bytes", f"{b.file_bytes:,}", f"{a.file_bytes:,}"),
        ("  gzipped", f"{b.file_gzip_bytes:,}", f"{a.file_gzip_bytes:,}"),
        ("float .tflite bytes", f"{b.tflite_bytes:,}", f"{a.tflite_bytes:,}"),
        ("  gzipped", f"{b.tflite_gzip_bytes:,}", f"{a.tflite_gzip_bytes:,}"),
        (
            "  with TFLite sparsity encoding",
            _bytes(b.tflite_sparse_bytes),
            _bytes(a.tflite_sparse_bytes),
        ),
        ("kernel sparsity", f"{b.sparsity:.3f}", f"{a.sparsity:.3f}"),
        ("max unique values / kernel", f"{b.max_unique_weights:,}", f"{a.max_unique_weights:,}"),
    ]
    for row in rows:
        t.add_row(*row)
    con = console()
    con.print(t)
    drop = result.accuracy_drop_points
    con.print(
        f"held-out accuracy {'lost' if drop > 0 else 'gained'} {abs(drop):.1f} points "
        f"({'within' if result.within_budget else 'over'} the 1-point budget)"
    )
    if a.sparsity > 0.05 and a.sparse_encoding_saves and a.tflite_sparse_bytes is not None:
        con.print(
            f"TFLite's sparsity encoding stores the float model in {a.tflite_sparse_bytes:,} "
            f"bytes instead of {a.tflite_bytes:,} "
            f"({1 - a.tflite_sparse_bytes / a.tflite_bytes:.0%} smaller)"
        )
    for w in result.warnings:
        warn(w)
    if result.teacher_accuracy is not None:
        con.print(f"teacher held-out accuracy {result.teacher_accuracy:.4f}")
    con.print(
        f"Wrote {escape(str(result.model_path))} and {escape(str(result.report_path))} "
        f"in {result.seconds:.1f} s"
    )
    if "qat" in result.methods:
        con.print(
            "QAT model: load it inside tfmot.quantization.keras.quantize_scope() "
            "(edgesdk.training.files.load_model does) before converting to int8."
        )


def _bytes(n: int | None) -> str:
    return "n/a" if n is None else f"{n:,}"


def register(app: typer.Typer) -> None:
    app.command("compress")(compress_command)
