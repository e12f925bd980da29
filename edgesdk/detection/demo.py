"""``edgesdk demo --task object_detector``: drawn shapes with boxes -> detector -> app.

1. draw circles, squares and triangles with their boxes: a COCO training folder and a held-out
   COCO evaluation folder (another seed);
2. train the SSD-style detector (MobileNetV2, alpha 0.35, 128x128);
3. ``package --quantize auto`` under a 2-point mAP@0.5 budget: the ``.tflite`` with the
   post-processing op and metadata, the Kotlin wrapper, the app with golden detections, and
   ``report.html`` (copied to ``DIR/report.html``).

No download. A failure or Ctrl-C removes ``DIR`` again.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEMO_NAME = "Shapes detector"
DEMO_CLASS_NAME = "ShapesDetector"
DEMO_PACKAGE = "dev.edgesdk.demo.detector"


def run_detector_demo(
    output: str | Path = "demo_out",
    *,
    force: bool = False,
    epochs: int = 12,
    train_images: int = 300,
    image_size: int = 128,
    on_step: Callable[[str], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    from .._io import check_output
    from ..config import PackageConfig
    from ..pipeline import package
    from .data import draw_shapes, write_coco
    from .train import DetectorTrainConfig, train_detector

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
        step("Drawing shapes with boxes")
        train_dir = write_coco(
            draw_shapes(train_images, image_size, seed=0), out / "data" / "train"
        )
        eval_dir = write_coco(
            draw_shapes(max(40, train_images // 5), image_size, seed=1), out / "data" / "eval"
        )
        step("Training the detector")
        t = time.perf_counter()
        trained = train_detector(
            train_dir,
            out / "detector.h5",
            DetectorTrainConfig(image_size=image_size, alpha=0.35, epochs=epochs),
        )
        timings["train_s"] = time.perf_counter() - t
        step("Packaging for Android (quantize auto, budget 2 mAP points)")
        t = time.perf_counter()
        result = package(
            PackageConfig(
                model=out / "detector.h5",
                output=out / "app",
                quantize="auto",
                calibration_data=train_dir,
                eval_data=eval_dir,
                max_accuracy_drop=2.0,
                name=DEMO_NAME,
                class_name=DEMO_CLASS_NAME,
                android_package=DEMO_PACKAGE,
                author="edgesdk demo",
                license="Apache-2.0",
                golden_cases=8,
            ),
            on_warning=on_warning,
            on_progress=lambda m: step(f"Packaging: {m}"),
        )
        timings["package_s"] = time.perf_counter() - t
        shutil.copyfile(out / "app" / "report.html", out / "report.html")
        timings["total_s"] = time.perf_counter() - t0
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    r = result.report
    return {
        "output": str(out),
        "report_html": str(out / "report.html"),
        "android": str(out / "app" / "android"),
        "training": {"map50": trained.map50, "map": trained.map, "seconds": trained.train_seconds},
        "package": {
            "quantization": r["quantization"]["mode"],
            "tflite_bytes": r["size"]["tflite_bytes"],
            "variants": r["detection"]["variants"],
        },
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
