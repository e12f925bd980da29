"""Benchmark for tier android_host (`edgesdk verify OUT --android-host`); prints figures, not a test.

1. The demo app (`android_sample/`, copied to a temporary folder): cold time (resource APK,
   kotlinc of the app's main + androidTest sources, Robolectric run) and warm time (same folder
   again: compiled classes reused), each split into steps, plus the Robolectric run's own
   time for the 16 cases and the warm-up inference.
2. The wrapper's overhead on the host JVM: median `classify(bitmap)` and `classify(pixels)`
   against a bare `Interpreter.run` on the same prepared input tensor (1 thread, XNNPACK on).
3. With --quantizations: a tiny CNN packaged once per quantization, run through the tier, and
   the max |score difference| per golden case against Python's references (LiteRT with XNNPACK):
   the spread between Android's TFLite 2.16.1 kernels and Python's, per quantization type.

Timings on a shared machine are noisy; the machine's load is printed with them.

Usage: python benchmarks/bench_android_host.py [--quantizations none,dynamic,float16,int8]
       [--no-demo] [--iterations N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _run(path: Path, iterations: int):
    from edgesdk.verify.android_host import verify_android_host

    start = time.perf_counter()
    result = verify_android_host(path, overhead_iterations=iterations)
    return time.perf_counter() - start, result


def _steps(result) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in result.timings_s.items())


def demo(tmp: Path, iterations: int) -> None:
    app = tmp / "android_sample"
    shutil.copytree(ROOT / "android_sample", app, ignore=shutil.ignore_patterns("build"))
    for label in ("cold", "warm"):
        wall, r = _run(app, iterations)
        s = r.summary
        print(
            f"demo app {label}: {wall:.1f} s wall ({_steps(r)}); status {r.status}, "
            f"{sum(c.passed for c in r.cases)}/{r.expected_cases} cases; inside the JVM: "
            f"16 cases {s.get('cases_seconds')} s, warm-up inference {s.get('warmup_ms')} ms"
        )
        lat = sorted(c.latency_ms for c in r.cases if c.latency_ms is not None)
        if lat:
            print(f"  per-case scores() latency: median {lat[len(lat) // 2]:.2f} ms, "
                  f"min {lat[0]:.2f}, max {lat[-1]:.2f}")  # fmt: skip
        o = r.overhead
        if o:
            print(
                f"  overhead ({o['iterations']} iterations, {o['image']} image, medians): "
                f"Interpreter.run {o['interpreter_run_ms']} ms, classify(bitmap) "
                f"{o['classify_bitmap_ms']} ms (+{o['overhead_bitmap_ms']}), classify(pixels) "
                f"{o['classify_pixels_ms']} ms (+{o['overhead_pixels_ms']})"
            )
        for c in r.failing:
            print(f"  case {c.index} failed: max |diff| {c.max_abs_diff} > {c.tolerance}")


def quantizations(tmp: Path, modes: list[str], iterations: int) -> None:
    import numpy as np
    from typer.testing import CliRunner

    from edgesdk._tf import tf_keras
    from edgesdk.cli import app as cli

    k = tf_keras()
    k.utils.set_random_seed(0)
    model = k.Sequential([
        k.layers.Input((24, 24, 3)), k.layers.Rescaling(1 / 255.0),
        k.layers.Conv2D(8, 3, activation="relu"), k.layers.Conv2D(8, 3, activation="relu"),
        k.layers.GlobalAveragePooling2D(), k.layers.Dense(16, activation="relu"),
        k.layers.Dense(4, activation="softmax"),
    ])  # fmt: skip
    h5 = tmp / "tiny.h5"
    model.save(h5)
    rng = np.random.default_rng(0)
    calib = tmp / "calib.npz"
    np.savez(calib, x=rng.integers(0, 256, (32, 24, 24, 3)).astype(np.uint8))
    for mode in modes:
        out = tmp / f"out-{mode}"
        extra = ["--calibration-data", str(calib)] if mode == "int8" else []
        res = CliRunner().invoke(
            cli, ["package", str(h5), "-o", str(out), "--quantize", mode, *extra]
        )
        if res.exit_code != 0:
            sys.exit(f"package --quantize {mode} failed: {res.stderr}")
        wall, r = _run(out, iterations)
        diffs = [c.max_abs_diff for c in r.cases]
        shown = " ".join("nan" if d is None else f"{d:.2e}" for d in diffs)
        print(
            f"{mode:8s} status {r.status}, tolerance {r.cases[0].tolerance if r.cases else '-'}, "
            f"max |diff| per case: {shown}; worst {max((d or 0) for d in diffs):.3e} "
            f"({wall:.0f} s)"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quantizations", default="", help="comma-separated: none,dynamic,float16,int8")
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--iterations", type=int, default=50)
    ns = ap.parse_args()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-android-host.") as t:
        tmp = Path(t)
        if not ns.no_demo:
            demo(tmp, ns.iterations)
        modes = [m for m in ns.quantizations.split(",") if m]
        if modes:
            quantizations(tmp, modes, ns.iterations)
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
