"""Benchmark of tier ``arm64`` (``edgesdk verify OUT --arm64``) on the demo app (prints figures).

- cold: the first ``verify --arm64`` in this run (a new CLI process: Python + TensorFlow-free
  start, the host-side tensor preparation, one qemu-user process that imports numpy and LiteRT
  under emulation and runs the 16 golden cases); with ``--install`` also the time to install
  the aarch64 root into an empty cache (network: Debian, PyPI).
- warm: the same command repeated (file caches warm).
- the emulated process alone, as the tier reports it (``arm64.seconds``), per ``QEMU_CPU``.

Usage: python benchmarks/bench_arm64.py [--repeats 3] [--cpus cortex-a53,cortex-a76,max]
       [--install]
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

ROOT = Path(__file__).resolve().parents[1]


def verify(out: Path, env: dict[str, str]) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "edgesdk", "verify", str(out), "--arm64", "--json"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"verify --arm64 exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed, json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cpus", default="cortex-a53,cortex-a76,max")
    ap.add_argument("--install", action="store_true", help="also time a fresh root install")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-arm64.") as tmp:
        work = Path(tmp)
        if args.install:
            sys.path.insert(0, str(ROOT))
            from edgesdk.toolchain import arm64

            t = time.perf_counter()
            arm64.ensure(work / "cache", lambda m: None)
            print(f"install of the aarch64 root (empty cache): {time.perf_counter() - t:.1f} s, "
                  f"{sum(f.stat().st_size for f in (work / 'cache').rglob('*') if f.is_file() and not f.is_symlink()) / 1e6:.0f} MB")  # fmt: skip
            shutil.rmtree(work / "cache")
        out = work / "demo"
        shutil.copytree(ROOT / "android_sample", out / "android")
        asset = out / "android" / "app" / "src" / "main" / "assets" / "model.tflite"
        shutil.copyfile(asset, out / "model.tflite")
        cold, obj = verify(out, env)
        n = len(obj["arm64"]["cases"])
        print(f"verify --arm64, demo app ({n} golden cases), cold: {cold:.1f} s "
              f"(emulated process {obj['arm64']['seconds']:.1f} s)")  # fmt: skip
        warm = [verify(out, env) for _ in range(args.repeats)]
        times = [w[0] for w in warm]
        print(f"verify --arm64, warm: median {statistics.median(times):.1f} s "
              f"(min {min(times):.1f}, max {max(times):.1f}, {len(times)} runs); emulated process "
              f"median {statistics.median(w[1]['arm64']['seconds'] for w in warm):.1f} s")  # fmt: skip
        for cpu in args.cpus.split(","):
            t, obj = verify(out, dict(env, EDGESDK_ARM64_CPU=cpu))
            arm = obj["arm64"]
            worst = max(c["max_abs_diff"] for c in arm["cases"])
            print(f"  QEMU_CPU={cpu:11} {t:5.1f} s (emulated {arm['seconds']:.1f} s), "
                  f"XNNPACK {arm['xnnpack']}, max |diff| vs x86 {worst:.2e}")  # fmt: skip
    print("(2 shared cores, other jobs running: figures are under contention)")


if __name__ == "__main__":
    main()
