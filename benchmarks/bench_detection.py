"""Benchmark for object detection (prints figures; not a test).

Draws shapes with boxes (COCO folders), trains the SSD-style detector with
``edgesdk.detection.train`` (MobileNetV2 alpha 0.35), packages it once per quantization mode
(float32, float16, dynamic, int8 with float post-processing; ``--target none``), and prints per
variant: size, mAP@0.5 and mAP@[.5:.95] on the held-out images through our Python path
(LiteRT) and through the TFLite Task Library's ObjectDetector (its own venv, see
``tools/task_library_venv.py``), the share of Keras detections reproduced, and host latency
(LiteRT interpreter, one thread, mean of 20 runs).

Usage: python benchmarks/bench_detection.py [--train N] [--eval N] [--size S] [--epochs E]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=300)
    ap.add_argument("--eval", type=int, default=60)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=15)
    args = ap.parse_args()

    from edgesdk.config import PackageConfig
    from edgesdk.detection.data import draw_shapes, load_detection_data, write_coco
    from edgesdk.detection.metrics import mean_average_precision
    from edgesdk.detection.postprocess import Detections
    from edgesdk.detection.train import DetectorTrainConfig, train_detector
    from edgesdk.pipeline import package
    from tools import task_library_venv as tl

    tmp = Path(tempfile.mkdtemp(prefix="edgesdk-bench-det-"))
    train_dir = write_coco(draw_shapes(args.train, args.size, seed=0), tmp / "train")
    eval_dir = write_coco(draw_shapes(args.eval, args.size, seed=1), tmp / "eval")
    t = time.perf_counter()
    trained = train_detector(
        train_dir, tmp / "det.h5", DetectorTrainConfig(args.size, 0.35, args.epochs)
    )
    wall = time.perf_counter() - t
    print(
        f"train: {args.train} images ({trained.train_samples} train / {trained.val_samples} val) "
        f"{args.size}x{args.size}, {args.epochs} epochs: fit {trained.train_seconds:.1f}s, "
        f"wall {wall:.1f}s; val mAP@0.5 {trained.map50 * 100:.1f}, "
        f"mAP@[.5:.95] {trained.map * 100:.1f}"
    )
    data = load_detection_data(eval_dir)
    images = np.stack([s.image for s in data.samples])
    gt_boxes = [s.boxes for s in data.samples]
    gt_classes = [s.classes for s in data.samples]
    header = (
        f"{'variant':8} {'bytes':>10} {'mAP50':>6} {'mAP':>6} {'TL mAP50':>8} {'TL mAP':>7} "
        f"{'agree':>6} {'ms':>6} {'package s':>9}"
    )
    print(header)
    for mode in ("none", "float16", "dynamic", "int8"):
        out = tmp / f"out_{mode}"
        t = time.perf_counter()
        res = package(
            PackageConfig(
                model=tmp / "det.h5", output=out, target="none", quantize=mode,
                calibration_data=train_dir, eval_data=eval_dir,
            )
        )  # fmt: skip
        secs = time.perf_counter() - t
        v = res.report["detection"]["variants"][0]
        theirs = tl.run_task("object_detector", out / "model.tflite", images)
        dets = []
        for got in theirs:
            boxes = np.array(
                [[y / args.size, x / args.size, (y + h) / args.size, (x + w) / args.size]
                 for x, y, w, h in (d["box"] for d in got)], np.float32,
            ).reshape(-1, 4)  # fmt: skip
            dets.append(Detections(np.clip(boxes, 0, 1), np.array([d["index"] for d in got]),
                                   np.array([d["score"] for d in got], np.float32)))  # fmt: skip
        tl_map = mean_average_precision(dets, gt_boxes, gt_classes, len(data.class_names))
        print(
            f"{mode:8} {v['tflite_bytes']:>10,} {v['map50'] * 100:>6.1f} {v['map'] * 100:>6.1f} "
            f"{tl_map['map50'] * 100:>8.1f} {tl_map['map'] * 100:>7.1f} "
            f"{v['box_agreement']['fraction']:>6.3f} {v['latency_ms_host']:>6.2f} {secs:>9.1f}"
        )
    keras = res.report["detection"]["keras"]
    print(f"Keras: mAP@0.5 {keras['map50'] * 100:.1f}, mAP@[.5:.95] {keras['map'] * 100:.1f}")


if __name__ == "__main__":
    main()
