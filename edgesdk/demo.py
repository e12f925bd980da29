"""``edgesdk demo``: from data the project draws itself to an Android app, in one go.

1. draw the shapes data set (``demo_data``): a training folder of PNGs and an
   evaluation ``.npz`` from another seed;
2. ``train`` a small CNN (it carries a Rescaling layer and its class names);
3. ``compress`` it: magnitude pruning to 50 % sparsity, fine-tuned;
4. ``package --quantize auto`` under a 1-point accuracy budget: the ``.tflite`` with
   metadata, the Kotlin wrapper, the Android app and ``report.html``;
5. a demo-level ``report.html`` with the training curves and compression figures.

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
    epochs: int = 12,
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
            out / "data" / "eval.npz", max(20, images_per_class // 3), image_size, seed=1
        )
        timings["data_s"] = time.perf_counter() - t

        step("Training a small CNN")
        t = time.perf_counter()
        trained = train(
            train_dir,
            out / "model.h5",
            epochs=epochs,
            seed=0,
            learning_rate=3e-3,
            on_epoch=on_epoch,
        )
        timings["train_s"] = time.perf_counter() - t

        step("Pruning to 50% sparsity")
        t = time.perf_counter()
        compressed = compress(
            out / "model.h5",
            train_dir,
            out / "model_pruned.h5",
            prune=0.5,
            epochs=3,
            seed=0,
            on_epoch=on_epoch,
        )
        timings["compress_s"] = time.perf_counter() - t

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
                max_accuracy_drop=1.0,
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

        summary = {
            "training": {
                "val_accuracy": trained.val_accuracy,
                "epochs": trained.epochs,
                "params": trained.params,
                "seconds": round(trained.seconds, 2),
            },
            "compression": _compression_summary(compressed.to_dict()),
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
            extra={"Compression (pruning, tier 1 on the host)": summary["compression"]},
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


def _compression_summary(d: dict[str, Any]) -> dict[str, Any]:
    before, after = d.get("before", {}), d.get("after", {})
    keep = ("accuracy", "sparsity", "file_gzip_bytes", "tflite_bytes", "tflite_gzip_bytes")
    return {
        **{f"before {k}": before.get(k) for k in keep if k in before},
        **{f"after {k}": after.get(k) for k in keep if k in after},
    }
