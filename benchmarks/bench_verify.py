"""Benchmark for `edgesdk verify` and the golden vectors (prints figures; not a test).

1. `edgesdk verify` host parity (tier 1) on 100 samples of a 224x224 model (MobileNetV2,
   alpha 0.35, random weights, Rescaling inside, 1000 classes): wall time of the CLI, for the
   .tflite alone (parity only) and for the package folder (parity + the 16 golden cases).
2. Size of the golden files `edgesdk package --target android` writes for 16 cases of that
   224x224x3 model (target <= 256 KB); with --int8 also for the int8 variant.

Usage: python benchmarks/bench_verify.py [--repeats N] [--alpha 0.35] [--int8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(cmd: list[str], *, json_out: bool = False) -> tuple[float, dict | None]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed, (json.loads(proc.stdout) if json_out else None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--alpha", type=float, default=0.35)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--int8", action="store_true", help="also package and measure an int8 variant")
    args = ap.parse_args()
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    edgesdk = [sys.executable, "-m", "edgesdk"]
    work = Path(tempfile.mkdtemp(prefix="edgesdk-bench-verify-"))
    try:
        import numpy as np

        from edgesdk._tf import tf_keras

        k = tf_keras()
        k.utils.set_random_seed(0)
        base = k.applications.MobileNetV2(
            input_shape=(224, 224, 3), alpha=args.alpha, weights=None, classes=1000
        )
        model = k.Sequential(
            [k.layers.Input((224, 224, 3)), k.layers.Rescaling(1 / 127.5, offset=-1.0), base]
        )
        model_path = work / "mobilenet_v2.h5"
        model.save(model_path)
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (args.samples, 224, 224, 3), dtype=np.uint8)
        data = work / "data.npz"
        np.savez(data, x=x)
        print(
            f"model: MobileNetV2 alpha {args.alpha}, 224x224x3, 1000 classes, random weights, "
            f"{model.count_params():,} parameters; data: {args.samples} random 224x224 images"
        )

        out = work / "out"
        t_pkg, rep = run(
            edgesdk + ["package", str(model_path), "-o", str(out), "--json"], json_out=True
        )
        assert rep is not None
        g = rep["golden"]
        print(
            f"package --target android (float32): {t_pkg:.1f}s wall; golden files for "
            f"{g['cases']} cases ({g['source']}, sizes {g['sizes'][0]}..{g['sizes'][-1]}): "
            f"{g['bytes']:,} bytes = {g['bytes'] / 1024:.1f} KB (target <= 256 KB); "
            f"model {rep['size']['tflite_bytes']:,} bytes"
        )

        tflite_times, out_times = [], []
        last: dict | None = None
        for _ in range(args.repeats):
            t, _ = run(edgesdk + ["verify", str(out / "model.tflite"), "--reference", str(model_path),
                                  "--data", str(data), "--samples", str(args.samples), "--json"],
                       json_out=True)  # fmt: skip
            tflite_times.append(t)
            t, last = run(edgesdk + ["verify", str(out), "--data", str(data), "--samples",
                                     str(args.samples), "--json"], json_out=True)  # fmt: skip
            out_times.append(t)
        assert last is not None
        print(
            f"edgesdk verify model.tflite --reference (host parity, {last['samples']} samples): "
            f"median {statistics.median(tflite_times):.2f}s wall over {args.repeats} runs "
            f"({', '.join(f'{v:.2f}' for v in tflite_times)})"
        )
        print(
            f"edgesdk verify OUT (host parity {last['samples']} samples + {len(last['golden']['cases'])} "
            f"golden cases): median {statistics.median(out_times):.2f}s wall "
            f"({', '.join(f'{v:.2f}' for v in out_times)}); parity top-1 agreement "
            f"{last['top1_agreement'] * 100:.1f}%, max |diff| {last['max_abs_diff']:.2e}; "
            f"golden passed: {last['golden']['passed']}; device: {last['device']['status']}"
        )

        if args.int8:
            out8 = work / "out8"
            t8, rep8 = run(
                edgesdk + ["package", str(model_path), "-o", str(out8), "--quantize", "int8",
                           "--calibration-data", str(data), "--json"],
                json_out=True,
            )  # fmt: skip
            assert rep8 is not None
            g8 = rep8["golden"]
            print(
                f"package --quantize int8: {t8:.1f}s wall; golden files for {g8['cases']} cases "
                f"({g8['source']}): {g8['bytes']:,} bytes = {g8['bytes'] / 1024:.1f} KB"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
