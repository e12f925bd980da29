"""The detector's Kotlin wrapper and sample app: the common Android tree with the
``object_detector`` template overlay, and golden detections in the androidTest assets."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import golden as dg
from .postprocess import PostProcessOptions
from .runner import DetectorRunner

if TYPE_CHECKING:
    from ..config import PackageConfig
    from ..pipeline import Normalization

GOLDEN_ASSET_DIR = Path("app", "src", "androidTest", "assets", "golden")


def detector_template_values(runner: DetectorRunner, opts: PostProcessOptions) -> dict[str, Any]:
    order = runner.order
    return {
        "output_location": order.index_of(0),
        "output_category": order.index_of(1),
        "output_score": order.index_of(2),
        "output_count": order.index_of(3),
        "max_detections": opts.max_detections,
        "score_threshold": float(np.float32(opts.score_threshold)),
    }


def generate_detector_android(
    config: PackageConfig,
    stage: Path,
    model_bytes: bytes,
    name: str,
    labels: tuple[str, ...],
    norm: Normalization,
    runner: DetectorRunner,
    images: np.ndarray,
    quantization: str,
    opts: PostProcessOptions,
) -> tuple[Path, Path, dict[str, Any] | None]:
    from ..codegen import android_context, generate_android

    inp = runner.input
    scale, zp = inp["quantization"]
    ctx = android_context(
        model_name=name,
        labels=labels,
        input_shape=tuple(int(d) for d in inp["shape"][1:]),
        input_dtype=np.dtype(inp["dtype"]).name,
        input_quant=(scale, zp) if scale else None,
        output_dtype="float32",
        mean=norm.mean,
        std=norm.std,
        class_name=config.class_name,
        android_package=config.android_package,
        author=config.author,
        version=config.model_version,
    )
    info = None
    with tempfile.TemporaryDirectory(prefix="edgesdk-golden-") as tmp:
        golden_dir = None
        if config.golden_cases > 0:
            cases = list(images[: config.golden_cases])
            if len(cases) > 1:
                # one case at another size, so the device resizes as Python does
                from ..preprocess import resize_bilinear

                h, w = cases[-1].shape[:2]
                cases[-1] = resize_bilinear(np.asarray(cases[-1], np.float32), h * 3 // 2, w + 7)
            golden = dg.build(runner, cases, quantization, opts.score_threshold)
            golden_dir = Path(tmp) / "golden"
            dg.write(golden, golden_dir)
            info = {
                "cases": len(golden.cases),
                "bytes": sum(p.stat().st_size for p in golden_dir.iterdir()),
                "path": str(Path("android") / GOLDEN_ASSET_DIR),
                "min_iou": golden.min_iou,
                "score_tolerance": golden.score_tolerance,
                "detections": sum(len(c.expected) for c in golden.cases),
            }
        gen = generate_android(
            ctx,
            model_bytes,
            stage,
            golden_dir=golden_dir,
            overlay="object_detector",
            extra_context=detector_template_values(runner, opts),
        )
    return gen.kotlin.relative_to(stage), gen.android.relative_to(stage), info
