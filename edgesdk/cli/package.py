"""``edgesdk package``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._common import console, emit_json, user_errors, warn


def package_command(
    model: Path = typer.Argument(
        ..., metavar="MODEL", help="Keras model: .h5, .keras, or a SavedModel folder."
    ),
    target: str = typer.Option(
        "android", "--target", help="What to generate besides the .tflite: android or none."
    ),
    output: Path = typer.Option(
        Path("out"), "-o", "--output", help="Output folder (must not exist unless --force)."
    ),
    labels: Optional[Path] = typer.Option(
        None, "--labels", help="UTF-8 file, one label per line, in output order."
    ),
    mean: Optional[list[float]] = typer.Option(
        None, "--mean", help="Normalization mean; once, or once per channel."
    ),
    std: Optional[list[float]] = typer.Option(
        None, "--std", help="Normalization std; once, or once per channel."
    ),
    fold_normalization: bool = typer.Option(
        False,
        "--fold-normalization",
        help="Build the normalization into the model's first ops; the metadata then says "
        "mean 0, std 1 (for apps that feed raw pixels).",
    ),
    quantize: str = typer.Option(
        "none", "--quantize", help="none, dynamic, float16, int8 or auto."
    ),
    calibration_data: Optional[Path] = typer.Option(
        None,
        "--calibration-data",
        help="Image folder (one sub-folder per class) or .npz with raw x, for int8.",
    ),
    eval_data: Optional[Path] = typer.Option(
        None, "--eval-data", help="Image folder or .npz (x, y) to measure parity and accuracy on."
    ),
    max_accuracy_drop: float = typer.Option(
        1.0, "--max-accuracy-drop", help="Accuracy budget in percentage points for --quantize auto."
    ),
    name: Optional[str] = typer.Option(
        None, "--name", help="Model name in the metadata (default: the file name)."
    ),
    class_name: Optional[str] = typer.Option(
        None, "--class-name", help="Kotlin wrapper class name."
    ),
    android_package: Optional[str] = typer.Option(
        None, "--android-package", help="Android application id / Kotlin package."
    ),
    author: str = typer.Option("", "--author", help="Author in the metadata."),
    model_version: str = typer.Option(
        "1", "--model-version", help="Model version in the metadata."
    ),
    license: str = typer.Option("", "--license", help="License in the metadata."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
    trust_model: bool = typer.Option(
        False,
        "--trust-model",
        help="Load a model that carries code (Lambda layers, custom objects, file/process "
        "ops) that can run on this machine. Only for models from a source you trust.",
    ),
    golden_cases: int = typer.Option(
        16,
        "--golden-cases",
        min=0,
        help="Golden test vectors to write into the app's androidTest assets (0: none).",
    ),
    android_runtime: str = typer.Option(
        "interpreter",
        "--android-runtime",
        metavar="RUNTIME",
        help="LiteRT API of the wrapper: interpreter (Interpreter, CPU only; verified end to "
        "end here) or compiled-model (CompiledModel, CPU/GPU; compile-checked against a stub).",
    ),
    android_accelerator: Optional[list[str]] = typer.Option(
        None,
        "--android-accelerator",
        metavar="ACCELERATOR",
        help="Accelerator the app bundles besides the CPU (repeatable): gpu adds litert-gpu.",
    ),
    task: Optional[str] = typer.Option(
        None,
        "--task",
        help="image_classifier, object_detector, ... (default: inferred from the model).",
    ),
    anchors: Optional[Path] = typer.Option(
        None,
        "--anchors",
        help="Object detector: anchors.npy [num_boxes, 4] as (ycenter, xcenter, h, w) in 0..1, "
        "for a detector that does not carry its anchors.",
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print the report as one JSON object on stdout."
    ),
) -> None:
    """Package a Keras model: .tflite with metadata, Kotlin wrapper and Android app."""
    with user_errors():
        from ..config import PackageConfig
        from ..pipeline import package

        con = console()
        config = PackageConfig(
            model=model,
            output=output,
            target=target,
            labels=labels,
            mean=tuple(mean) if mean else None,
            std=tuple(std) if std else None,
            quantize=quantize,
            calibration_data=calibration_data,
            eval_data=eval_data,
            max_accuracy_drop=max_accuracy_drop,
            name=name,
            class_name=class_name,
            android_package=android_package,
            author=author,
            model_version=model_version,
            license=license,
            force=force,
            trust_model=trust_model,
            golden_cases=golden_cases,
            android_runtime=android_runtime,
            android_accelerators=tuple(android_accelerator or ()),
            task=task,
            anchors=anchors,
            fold_normalization=fold_normalization,
        )
        with con.status("Packaging…") as status:
            result = package(
                config,
                on_warning=warn,
                on_progress=lambda msg: status.update(msg + "…"),
            )
        if json_output:
            emit_json({"output": str(result.output), **result.report})
            return
        _summary(con, result)


def _summary(con: object, result: object) -> None:
    from rich.markup import escape
    from rich.table import Table

    r = result.report  # type: ignore[attr-defined]
    table = Table(title=f"Packaged {escape(r['model']['name'])}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("task", r["model"]["task"])
    if "summary" in r:  # a task with its own flow describes its result itself
        for key, value in r["summary"]:
            table.add_row(escape(str(key)), escape(str(value)))
        con.print(table)  # type: ignore[attr-defined]
        return
    inp, out = r["inputs"][0], r["outputs"][0]
    table.add_row("input", f"{inp['shape']} {inp['dtype']}")
    table.add_row("output", f"{out['shape']} {out['dtype']}")
    n = r["normalization"]
    table.add_row("normalization", f"mean {n['mean']} std {n['std']} ({n['source']})")
    if n.get("backbone"):
        b = n["backbone"]
        table.add_row(
            "backbone",
            f"keras.applications {b['family']} ({escape(b['name'])}), "
            f"{b['mode']} preprocessing, {b['placement'].replace('_', ' ')}",
        )
    if n.get("folded"):
        f, cost = n["folded"], n["folded"].get("cost") or {}
        text = (
            "in the model's first ops: "
            + (f"channels {f['permutation']}, " if f["permutation"] else "")
            + f"mean {f['mean']} std {f['std']}"
        )
        if cost:
            text += (
                f"; cost {cost['size_bytes']:+,} bytes, {cost['latency_ms']:+.3f} ms "
                "(host, float32)"
            )
        table.add_row("folded", text)
    table.add_row("labels", f"{r['labels']['count']} ({r['labels']['source']})")
    table.add_row(
        "quantization",
        r["quantization"]["mode"] + (" (auto)" if r["quantization"]["requested"] == "auto" else ""),
    )
    table.add_row(
        "size",
        f"{r['size']['tflite_bytes']:,} bytes (metadata +{r['size']['metadata_overhead_bytes']:,})",
    )
    p = r["parity"]
    parity = (
        f"top-1 agreement {p['top1_agreement'] * 100:.1f}%, "
        f"max |diff| {p['max_abs_diff']:.2e} "
        f"on {p['samples']} {p['source'].replace('_', ' ')} (host, tier 1)"
    )
    if p.get("tflite_accuracy") is not None:
        parity += (
            f"; accuracy Keras {p['reference_accuracy'] * 100:.1f}% "
            f"/ TFLite {p['tflite_accuracy'] * 100:.1f}%"
        )
    table.add_row("parity", parity)
    con.print(table)  # type: ignore[attr-defined]
    auto = r["quantization"].get("auto")
    if auto:
        vt = Table(
            title=f"Variants (budget {auto['budget_pct']} points, "
            f"Keras accuracy {auto['reference_accuracy'] * 100:.1f}%)"
        )
        for col in (
            "variant",
            "size",
            "accuracy",
            "drop (pts)",
            "top-1 agreement",
            "latency (ms, host)",
            "",
        ):
            vt.add_column(col)
        for v in auto["variants"]:
            mark = (
                "chosen"
                if v["mode"] == auto["chosen"]
                else ("" if v["within_budget"] else "over budget")
            )
            vt.add_row(
                v["mode"],
                f"{v['size_bytes']:,}",
                f"{v['accuracy'] * 100:.1f}%",
                f"{v['accuracy_drop_pct']:.2f}",
                f"{v['top1_agreement'] * 100:.1f}%",
                f"{v['latency_ms']:.3f}",
                mark,
            )
        con.print(vt)  # type: ignore[attr-defined]
    con.print(f"Wrote {escape(str(result.output))}/: " + ", ".join(r["files"]))  # type: ignore[attr-defined]


def register(app: typer.Typer) -> None:
    app.command("package")(package_command)
