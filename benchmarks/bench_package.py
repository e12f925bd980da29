"""Benchmarks for `edgesdk package` (prints figures; not a test).

1. CLI start-up: `edgesdk --help` vs `python -c "import tensorflow"` (target ratio <= 0.15).
2. `edgesdk package --quantize int8` vs a plain script that loads the model and runs
   TFLiteConverter with the same settings on the same calibration data (target <= 1.3x).
3. Output size vs the plain converter's output (target: overhead <= metadata + labels).

Usage: python benchmarks/bench_package.py [--repeats N] [--alpha 0.35] [--size 96]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN = r"""
import os, sys, time
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np
import tensorflow as tf
import tf_keras
model = tf_keras.models.load_model(sys.argv[1], compile=False)
x = np.load(sys.argv[2])["x"].astype("float32")[:256]
def rep():
    for i in range(len(x)):
        yield [x[i:i+1]]
c = tf.lite.TFLiteConverter.from_keras_model(model)
c.optimizations = [tf.lite.Optimize.DEFAULT]
c.representative_dataset = rep
c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
c.inference_input_type = tf.int8
c.inference_output_type = tf.int8
open(sys.argv[3], "wb").write(c.convert())
"""


def timed(cmd: list[str], **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--alpha", type=float, default=0.35)
    ap.add_argument("--size", type=int, default=96)
    args = ap.parse_args()
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    py = sys.executable
    edgesdk = [py, "-m", "edgesdk"]

    help_t = [timed(edgesdk + ["--help"]) for _ in range(args.repeats)]
    tf_t = [timed([py, "-c", "import tensorflow"]) for _ in range(args.repeats)]
    h, t = statistics.median(help_t), statistics.median(tf_t)
    print(
        f"startup: edgesdk --help {h:.3f}s, import tensorflow {t:.3f}s, ratio {h / t:.3f} (target <= 0.15)"
    )

    work = Path(tempfile.mkdtemp(prefix="edgesdk-bench-"))
    try:
        import numpy as np

        from edgesdk._tf import tf_keras

        k = tf_keras()
        k.utils.set_random_seed(0)
        base = k.applications.MobileNetV2(
            input_shape=(args.size, args.size, 3), alpha=args.alpha, weights=None, classes=10
        )
        model = k.Sequential(
            [
                k.layers.Input((args.size, args.size, 3)),
                k.layers.Rescaling(1 / 127.5, offset=-1),
                base,
            ]
        )
        model_path = work / "model.h5"
        model.save(model_path)
        params = model.count_params()
        rng = np.random.default_rng(0)
        x = rng.uniform(0, 255, (256, args.size, args.size, 3)).astype("float32")
        calib = work / "calib.npz"
        np.savez(calib, x=x)
        # the plain script feeds the model raw pixels, as the model's Rescaling layer expects
        script = work / "plain.py"
        script.write_text(PLAIN)

        plain_t, ours_t, ours_android_t = [], [], []
        for i in range(args.repeats):
            plain_t.append(
                timed([py, str(script), str(model_path), str(calib), str(work / "plain.tflite")])
            )
            out = work / f"out{i}"
            ours_t.append(
                timed(
                    edgesdk
                    + [
                        "package",
                        str(model_path),
                        "-o",
                        str(out),
                        "--quantize",
                        "int8",
                        "--calibration-data",
                        str(calib),
                        "--target",
                        "none",
                    ]
                )
            )
            out_a = work / f"outa{i}"
            ours_android_t.append(
                timed(
                    edgesdk
                    + [
                        "package",
                        str(model_path),
                        "-o",
                        str(out_a),
                        "--quantize",
                        "int8",
                        "--calibration-data",
                        str(calib),
                    ]
                )
            )
        p, o, oa = (statistics.median(v) for v in (plain_t, ours_t, ours_android_t))
        print(
            f"model: MobileNetV2 alpha={args.alpha} {args.size}x{args.size}, {params:,} parameters, 256 calibration samples"
        )
        print(
            f"int8 package (--target none): {o:.2f}s vs plain converter script {p:.2f}s, ratio {o / p:.2f} (target <= 1.3)"
        )
        print(f"int8 package (--target android): {oa:.2f}s, ratio {oa / p:.2f}")
        plain_size = (work / "plain.tflite").stat().st_size
        ours_size = (work / "out0" / "model.tflite").stat().st_size
        labels_size = (work / "out0" / "labels.txt").stat().st_size
        print(
            f"size: ours {ours_size:,} B vs plain {plain_size:,} B, overhead {ours_size - plain_size:+,} B (labels.txt {labels_size} B)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
