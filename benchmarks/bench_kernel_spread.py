"""How far LiteRT's kernel paths spread on the same inputs: the basis of the golden tolerances.

For each quantization type (none, float16, dynamic, int8) a small CNN trained on the shapes
data is packaged with golden vectors; its golden inputs plus seeded random ones run on:

- x86_64 XNNPACK (LiteRT's default: the golden references come from this path),
- x86_64 built-in kernels without XNNPACK, and the reference kernels,
- aarch64 under qemu-user with XNNPACK for several ``QEMU_CPU`` cores, and aarch64 built-in.

Printed per quantization type and path: the largest difference from the x86_64 XNNPACK
outputs, for float outputs as ``max |diff| / max(1, max |score|)`` (the form of the golden
tolerance), for integer outputs in output steps (LSB); and top-1 disagreements.
Also the demo app's model (android_sample/, dynamic range, 32x32). ``max-sme`` is qemu's
``max`` core with SME on: its int8 results were wrong (see edgesdk/toolchain/arm64.py), so
it is shown but is no basis for a tolerance.

Usage: python benchmarks/bench_kernel_spread.py [--cpus cortex-a53,cortex-a76,max]
       [--random 48] [--json FILE]
Needs the aarch64 root (``edgesdk toolchain install``). Timings are not the point here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODES = ("none", "float16", "dynamic", "int8")


def _train(work: Path) -> tuple[Path, Path]:
    from edgesdk._tf import tf_keras
    from edgesdk.demo_data import write_shapes_npz

    k = tf_keras()
    data = write_shapes_npz(work / "shapes.npz", 200, 24, seed=3)
    d = np.load(data)
    k.utils.set_random_seed(0)
    m = k.Sequential(
        [
            k.layers.Input((24, 24, 3)),
            k.layers.Rescaling(1 / 255.0),
            k.layers.Conv2D(16, 3, activation="relu", padding="same"),
            k.layers.MaxPooling2D(),
            k.layers.Conv2D(32, 3, activation="relu", padding="same"),
            k.layers.GlobalAveragePooling2D(),
            k.layers.Dense(32, activation="relu"),
            k.layers.Dense(4, activation="softmax"),
        ]
    )
    m.compile(optimizer=k.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    m.fit(d["x"].astype("float32"), d["y"], epochs=15, batch_size=32, verbose=0)
    path = work / "model.h5"
    m.save(path)
    return path, data


def _package(model: Path, data: Path, mode: str, out: Path) -> Path:
    from typer.testing import CliRunner

    from edgesdk.cli import app

    args = ["package", str(model), "-o", str(out), "--target", "android", "--quantize", mode]
    args += ["--eval-data", str(data)]
    if mode == "int8":
        args += ["--calibration-data", str(data)]
    res = CliRunner().invoke(app, args)
    if res.exit_code != 0:
        sys.exit(f"package {mode} failed: {res.stderr}")
    return out


def _inputs(out: Path, n_random: int) -> tuple[bytes, np.ndarray, object]:
    from edgesdk.verify import golden as gv
    from edgesdk.verify.host import TFLiteRunner

    content = (out / "android" / "app" / "src" / "main" / "assets" / "model.tflite").read_bytes()
    golden = gv.read_golden(out / "android" / gv.ANDROID_ASSET_DIR)
    runner = TFLiteRunner(content)
    _, h, w, c = runner.input.shape
    tensors = [
        runner.prepare(gv.model_pixels(case.pixel_array(), c), golden.mean, golden.std)
        for case in golden.cases
    ]
    rng = np.random.default_rng(11)
    for _ in range(n_random):
        raw = rng.uniform(0, 255, (h, w, c)).astype(np.float32)
        tensors.append(runner.prepare(raw, golden.mean, golden.std))
    return content, np.stack(tensors), runner


def _spread(ref: np.ndarray, got: np.ndarray, runner: object) -> dict:
    r = ref.reshape(len(ref), -1)
    g = got.reshape(len(got), -1)
    top = int((r.argmax(1) != g.argmax(1)).sum())
    if r.dtype != np.float32:
        lsb = int(np.abs(r.astype(np.int32) - g.astype(np.int32)).max())
        return {"max_lsb": lsb, "top1_disagree": top}
    rs = runner.dequantized(r)  # type: ignore[attr-defined]
    gs = runner.dequantized(g)  # type: ignore[attr-defined]
    scale = np.maximum(1.0, np.abs(rs).max(axis=1))
    rel = float((np.abs(rs - gs).max(axis=1) / scale).max())
    return {"max_rel": rel, "max_abs": float(np.abs(rs - gs).max()), "top1_disagree": top}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpus", default="cortex-a53,cortex-a76,max,max-sme")
    ap.add_argument("--random", type=int, default=48)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from edgesdk.verify.kernels import KernelPath, Model, run_arm64, run_host

    with tempfile.TemporaryDirectory(prefix="spread.") as tmp:
        work = Path(tmp)
        model, data = _train(work)
        cases: dict[str, tuple[bytes, np.ndarray, object]] = {}
        for mode in MODES:
            cases[mode] = _inputs(_package(model, data, mode, work / mode), args.random)
        demo = work / "demo"
        import shutil

        shutil.copytree(ROOT / "android_sample", demo / "android")
        cases["demo (dynamic)"] = _inputs(demo, args.random)
    models = [Model(name, content, x) for name, (content, x, _) in cases.items()]
    runs = dict(run_host(models, ("auto", "builtin", "builtin_ref")))
    for i, cpu in enumerate(args.cpus.split(",")):
        resolvers = ("auto", "builtin") if i == 0 else ("auto",)
        runs.update(run_arm64(models, resolvers, cpu=cpu))
    table: dict[str, dict[str, dict]] = {}
    for name, (_, _x, runner) in cases.items():
        ref = runs[(name, KernelPath("x86_64", "auto"))].outputs
        table[name] = {
            key[1].name: _spread(ref, run.outputs, runner)
            for key, run in runs.items()
            if key[0] == name
        }
    print(f"{'model':16} {'path':34} {'spread':>22} {'top-1 diff':>10}   ({len(models[0].inputs)} inputs each)")
    for name, rows in table.items():
        for path, s in rows.items():
            fig = f"{s['max_lsb']} LSB" if "max_lsb" in s else f"{s['max_rel']:.3g} rel"
            print(f"{name:16} {path:34} {fig:>22} {s['top1_disagree']:>10}")
    xnn = {r.path.name: r.xnnpack for r in runs.values()}
    print("XNNPACK delegate applied:", {k: v for k, v in xnn.items() if "XNNPACK" in k})
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
