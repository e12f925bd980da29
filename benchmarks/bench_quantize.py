"""Benchmark for `--quantize auto` (prints figures; not a test).

`edgesdk package --quantize auto` on a ~2.3M-parameter MobileNetV2 (random weights, 128x128)
vs one plain int8 conversion of the same model with TFLiteConverter and the same calibration
data, both as fresh processes, same run (target ratio <= 1.5). Also the time of each variant
derivation inside one process.

Usage: python benchmarks/bench_quantize.py [--repeats N] [--eval N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_package import PLAIN, timed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--eval", type=int, default=100)
    ap.add_argument("--size", type=int, default=128)
    args = ap.parse_args()
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np

    from edgesdk._tf import tf_keras

    work = Path(tempfile.mkdtemp(prefix="edgesdk-bench-q-"))
    try:
        k = tf_keras()
        k.utils.set_random_seed(0)
        s = args.size
        base = k.applications.MobileNetV2(
            input_shape=(s, s, 3), alpha=1.0, weights=None, classes=10
        )
        model = k.Sequential(
            [k.layers.Input((s, s, 3)), k.layers.Rescaling(1 / 127.5, offset=-1), base]
        )
        model_path = work / "model.h5"
        model.save(model_path)
        rng = np.random.default_rng(0)
        calib = work / "calib.npz"
        np.savez(calib, x=rng.uniform(0, 255, (256, s, s, 3)).astype("float32"))
        evald = work / "eval.npz"
        np.savez(
            evald,
            x=rng.uniform(0, 255, (args.eval, s, s, 3)).astype("float32"),
            y=rng.integers(0, 10, args.eval),
        )
        (work / "plain.py").write_text(PLAIN)
        py = sys.executable
        plain_t, auto_t, int8_t = [], [], []
        for i in range(args.repeats):
            plain_t.append(
                timed(
                    [
                        py,
                        str(work / "plain.py"),
                        str(model_path),
                        str(calib),
                        str(work / "p.tflite"),
                    ]
                )
            )
            auto_t.append(
                timed(
                    [
                        py,
                        "-m",
                        "edgesdk",
                        "package",
                        str(model_path),
                        "-o",
                        str(work / f"o{i}"),
                        "--quantize",
                        "auto",
                        "--calibration-data",
                        str(calib),
                        "--eval-data",
                        str(evald),
                        "--target",
                        "none",
                    ]
                )
            )
            int8_t.append(
                timed(
                    [
                        py,
                        "-m",
                        "edgesdk",
                        "package",
                        str(model_path),
                        "-o",
                        str(work / f"i{i}"),
                        "--quantize",
                        "int8",
                        "--calibration-data",
                        str(calib),
                        "--target",
                        "none",
                    ]
                )
            )
        p, a = statistics.median(plain_t), statistics.median(auto_t)
        print(
            f"model: MobileNetV2 {s}x{s}, {model.count_params():,} parameters; 256 calibration, {args.eval} eval samples"
        )
        i8 = statistics.median(int8_t)
        print(
            f"auto (4 variants, measured): {a:.2f}s vs one plain int8 conversion {p:.2f}s, ratio {a / p:.2f} (target <= 1.5)"
        )
        print(f"auto vs edgesdk's own single int8 package {i8:.2f}s: ratio {a / i8:.2f}")
        import json

        rep = json.loads((work / "o0" / "report.json").read_text())
        for v in rep["quantization"]["auto"]["variants"]:
            print(
                f"  {v['mode']:8s} {v['size_bytes']:>10,} B  size x{v['size_bytes'] / rep['quantization']['auto']['variants'][0]['size_bytes']:.2f}"
                f"  agreement {v['top1_agreement'] * 100:5.1f}%  latency {v['latency_ms']:.2f} ms"
            )

        from edgesdk.convert import Quantization, _concrete_function, _tf_convert, derive
        from edgesdk.models import load_model

        loaded = load_model(model_path)
        t = time.perf_counter()
        fn, cf = _concrete_function(loaded)
        f32 = _tf_convert(fn, cf, Quantization.NONE, None)
        t_float = time.perf_counter() - t
        for mode in (Quantization.FLOAT16, Quantization.DYNAMIC):
            t = time.perf_counter()
            derive(f32, mode)
            print(
                f"derive {mode.value}: {time.perf_counter() - t:.3f}s (float32 conversion itself: {t_float:.2f}s)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
