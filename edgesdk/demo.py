"""``edgesdk demo``: from data the project draws itself to an Android app, in one go.

1. draw the shapes data set (``demo_data``): a training folder of PNGs and an
   evaluation ``.npz`` from another seed;
2. ``train`` a small CNN with the defaults (it carries a Rescaling layer and its class
   names);
3. ``compress`` it: magnitude pruning to 50 % sparsity, fine-tuned;
4. ``package --quantize auto``: the ``.tflite`` with metadata, the Kotlin wrapper, the
   Android app and ``report.html``. The accuracy budget is what is left of one point
   after pruning, so the shipped model stays within 1 point of the trained one;
5. the **chain**: every stage (trained, pruned, shipped variant) measured on the same
   held-out evaluation data, in ``demo.json`` (``chain``), the demo-level
   ``report.html`` (with the training curves and compression figures) and the console.

No download. Each step writes atomically into ``DIR`` (so the recorded paths are final); a
failure or Ctrl-C removes ``DIR`` again, leaving nothing half-written.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._io import check_output

Step = Callable[[str], None]

#: Names the demo packages with; ``android_sample/`` is rendered with them too.
DEMO_NAME = "Shapes classifier"
DEMO_CLASS_NAME = "ShapesClassifier"
DEMO_PACKAGE = "dev.edgesdk.demo.shapes"


@dataclass(frozen=True)
class DemoResult:
    """Paths the demo wrote and the figures it measured."""

    output: Path
    model: Path
    compressed_model: Path
    package: Path
    report_html: Path
    summary: dict[str, Any]


def run_demo(
    output: str | Path = "demo_out",
    *,
    force: bool = False,
    epochs: int | None = None,
    images_per_class: int = 150,
    image_size: int = 32,
    on_step: Step | None = None,
    on_epoch: Callable[[Any], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the whole demo into ``output`` (see module docstring)."""
    from . import demo_data
    from .config import PackageConfig
    from .pipeline import package
    from .report import render_html
    from .training.compression import compress
    from .training.schedules import DEFAULT_EPOCHS_CAP
    from .training.trainer import train

    def step(msg: str) -> None:
        if on_step:
            on_step(msg)

    out = Path(output)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    check_output(out, force)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    try:
        step("Drawing the shapes data set")
        t = time.perf_counter()
        train_dir = demo_data.write_shapes_folder(
            out / "data" / "train", images_per_class, image_size, seed=0
        )
        eval_npz = demo_data.write_shapes_npz(
            out / "data" / "eval.npz", max(25, images_per_class * 2 // 3), image_size, seed=1
        )
        timings["data_s"] = time.perf_counter() - t

        step("Training a small CNN")
        t = time.perf_counter()
        trained = train(
            train_dir,
            out / "model.h5",
            seed=0,
            on_epoch=on_epoch,
            epochs=DEFAULT_EPOCHS_CAP if epochs is None else epochs,
        )
        timings["train_s"] = time.perf_counter() - t

        step("Pruning to 50% sparsity")
        t = time.perf_counter()
        compressed = compress(
            out / "model.h5",
            train_dir,
            out / "model_pruned.h5",
            prune=0.5,
            seed=0,
            on_epoch=on_epoch,
        )
        timings["compress_s"] = time.perf_counter() - t
        step("Measuring the trained and pruned models on the evaluation data")
        evaluation = _load_eval(eval_npz)
        trained_acc = _keras_accuracy(out / "model.h5", evaluation)
        pruned_acc = _keras_accuracy(out / "model_pruned.h5", evaluation)
        # What pruning cost comes out of the one-point budget for quantization.
        budget = max(0.0, CHAIN_BUDGET_POINTS - (trained_acc - pruned_acc) * 100)

        step("Packaging for Android (quantize auto)")
        t = time.perf_counter()
        pkg_out = out / "app"
        result = package(
            PackageConfig(
                model=out / "model_pruned.h5",
                output=pkg_out,
                target="android",
                quantize="auto",
                calibration_data=train_dir,
                eval_data=eval_npz,
                max_accuracy_drop=round(budget, 4),
                name=DEMO_NAME,
                class_name=DEMO_CLASS_NAME,
                android_package=DEMO_PACKAGE,
                author="edgesdk demo",
                model_version="1",
                license="Apache-2.0",
            ),
            on_warning=on_warning,
            on_progress=lambda msg: step(f"Packaging: {msg}"),
        )
        timings["package_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - t0

        chain = _chain(
            out, evaluation, trained_acc, pruned_acc, result.report, compressed.after
        )
        compression: dict[str, Any] = {
            **_compression_summary(compressed.to_dict()),
            "warnings": list(compressed.warnings),
        }
        summary: dict[str, Any] = {
            "chain": chain,
            "chain_budget_points": CHAIN_BUDGET_POINTS,
            "shipped_within_budget": bool(
                (chain[0]["accuracy"] - chain[-1]["accuracy"]) * 100
                <= CHAIN_BUDGET_POINTS + 1e-9
            ),
            "training": {
                "val_accuracy": trained.val_accuracy,
                "epochs": trained.epochs,
                "steps": trained.steps,
                "params": trained.params,
                "seconds": round(trained.seconds, 2),
            },
            "compression": compression,
            "package": {
                "quantization": result.report["quantization"]["mode"],
                "tflite_bytes": result.report["size"]["tflite_bytes"],
                "parity": result.report["parity"],
            },
            "timings_s": {k: round(v, 2) for k, v in timings.items()},
        }
        (out / "demo.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        page = render_html(
            result.report,
            training_png=out / "model.training.png",
            extra={
                "Accuracy at every stage (same evaluation data; tier 1 on the host)": {
                    _stage_title(c): _stage_text(c) for c in chain
                },
                "Compression (pruning, tier 1 on the host)": compression,
            },
        )
        (out / "report.html").write_text(page, encoding="utf-8")
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return DemoResult(
        output=out,
        model=out / "model.h5",
        compressed_model=out / "model_pruned.h5",
        package=out / "app",
        report_html=out / "report.html",
        summary=summary,
    )


#: Points of evaluation accuracy the shipped model may lose against the trained one.
CHAIN_BUDGET_POINTS = 1.0


@dataclass(frozen=True)
class _Eval:
    x: Any
    y: Any
    label: str


def _load_eval(path: Path) -> _Eval:
    import numpy as np

    with np.load(path) as z:
        x, y = z["x"].astype(np.float32), z["y"].astype(np.int64)
    return _Eval(x, y, f"{path.parent.name}/{path.name} ({len(y)} images)")


def _keras_accuracy(model_path: Path, ev: _Eval) -> float:
    import numpy as np

    from .models import load_tf_keras

    model = load_tf_keras(model_path)
    pred = np.argmax(model.predict(ev.x, batch_size=64, verbose=0), axis=-1)
    return float(np.mean(pred == ev.y))


def _chain(
    out: Path,
    ev: _Eval,
    trained_acc: float,
    pruned_acc: float,
    report: dict[str, Any],
    pruned_stats: Any,
) -> list[dict[str, Any]]:
    """trained -> pruned -> shipped, each measured on the same evaluation data."""
    auto = report["quantization"].get("auto") or {}
    mode = report["quantization"]["mode"]
    shipped = next((v for v in auto.get("variants", []) if v["mode"] == mode), None)
    return [
        {
            "stage": "trained",
            "model": "model.h5",
            "accuracy": trained_acc,
            "data": ev.label,
            "size_bytes": (out / "model.h5").stat().st_size,
            "size_of": "Keras .h5 file",
        },
        {
            "stage": "pruned",
            "model": "model_pruned.h5",
            "accuracy": pruned_acc,
            "data": ev.label,
            "size_bytes": (out / "model_pruned.h5").stat().st_size,
            "size_of": "Keras .h5 file",
            "sparsity": pruned_stats.sparsity,
            "tflite_float_bytes": pruned_stats.tflite_bytes,
            "tflite_sparse_bytes": pruned_stats.tflite_sparse_bytes,
        },
        {
            "stage": "shipped",
            "model": "app/model.tflite",
            "quantization": mode,
            "accuracy": shipped["accuracy"] if shipped else None,
            "data": ev.label,
            "size_bytes": report["size"]["tflite_bytes"],
            "size_of": ".tflite with metadata",
        },
    ]


def _stage_title(c: dict[str, Any]) -> str:
    extra = f", {c['quantization']}" if "quantization" in c else ""
    return f"{c['stage']} ({c['model']}{extra})"


def _stage_text(c: dict[str, Any]) -> str:
    acc = "n/a" if c["accuracy"] is None else f"{c['accuracy'] * 100:.1f}%"
    return f"{acc} on {c['data']}; {c['size_bytes']:,} bytes ({c['size_of']})"


def _compression_summary(d: dict[str, Any]) -> dict[str, Any]:
    before, after = d.get("before", {}), d.get("after", {})
    keep = (
        "accuracy",
        "sparsity",
        "file_gzip_bytes",
        "tflite_bytes",
        "tflite_gzip_bytes",
        "tflite_sparse_bytes",
    )
    return {
        **{f"before {k}": before.get(k) for k in keep if k in before},
        **{f"after {k}": after.get(k) for k in keep if k in after},
    }
