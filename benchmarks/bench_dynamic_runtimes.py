"""Benchmark: dynamic-range models on LiteRT 2.x and on older TFLite runtimes (prints figures;
not a test).

Compares, for an image classifier (and optionally a detector), the float32 model, the dynamic
variant as ai-edge-quantizer's own recipe writes it (``before``: per-channel int8 weights on
every op, op versions and ``min_runtime_version`` left as in the float model) and as
``edgesdk.convert.derive`` writes it (``after``: per-channel only on CONV_2D and
DEPTHWISE_CONV_2D, asymmetric FULLY_CONNECTED inputs, declared op versions). Per variant: size,
host latency (LiteRT, one thread, median of 50 runs; the machine's load shows in it), and agreement with float32 (top-1 and
max |diff| of the scores) on LiteRT 2.x, on the TFLite Task Library 0.4.4 (its own TFLite;
``tools/task_library_venv.py``) and, with ``--old-python``, on another runtime's
``tflite_runtime`` (e.g. tflite-runtime 2.14 in a scratch venv). With ``--old-python`` it also
prints the per-op table: one-op models with channelwise / tensorwise int8 weights.

Usage:
  python benchmarks/bench_dynamic_runtimes.py [--model M.h5 --data EVAL.npz]
         [--old-python /tmp/venv214/bin/python] [--detector D.h5 --det-data COCO_DIR]

Without ``--model`` it trains the tests' small CNN on the shapes data (about 20 s).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

OLD_RUNNER = r"""
import sys, numpy as np
from tflite_runtime.interpreter import Interpreter
x = np.load(sys.argv[2])
try:
    it = Interpreter(model_path=sys.argv[1], num_threads=1); it.allocate_tensors()
except Exception as e:
    print("refused: " + str(e).strip().splitlines()[0][:120]); sys.exit(3)
outs = []
for s in x:
    it.set_tensor(it.get_input_details()[0]["index"], s[None].astype(x.dtype)); it.invoke()
    outs.append(it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1).copy())
np.save(sys.argv[3], np.stack(outs))
"""


@contextlib.contextmanager
def recipe(which: str) -> Iterator[None]:
    """``before``: ai-edge-quantizer's dynamic recipe, nothing marked; ``after``: ours."""
    from ai_edge_quantizer import recipe as aeq

    from edgesdk import convert as conv

    saved = conv._DYNAMIC_RECIPE, conv.mark_hybrid_ops
    if which == "before":
        conv._DYNAMIC_RECIPE = aeq.dynamic_wi8_afp32()
        conv.mark_hybrid_ops = lambda model: model  # type: ignore[assignment]
    try:
        yield
    finally:
        conv._DYNAMIC_RECIPE, conv.mark_hybrid_ops = saved


def package(model: Path, out: Path, mode: str, which: str) -> Path:
    from edgesdk.config import PackageConfig
    from edgesdk.pipeline import package as run

    with recipe(which):
        run(PackageConfig(model=model, output=out, target="none", quantize=mode))
    return out / "model.tflite"


def old_runtime(py: str | None, model: Path, x: np.ndarray) -> np.ndarray | str:
    if not py:
        return "-"
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", x)
        proc = subprocess.run(
            [py, "-c", OLD_RUNNER, str(model), f"{tmp}/x.npy", f"{tmp}/y.npy"],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            return proc.stdout.strip() or proc.stderr.strip()[-120:]
        return np.load(Path(tmp) / "y.npy")


def versions(model: bytes) -> str:
    from ai_edge_litert import schema_py_generated as tfl

    m = tfl.ModelT.InitFromPackedBuf(model, 0)
    names = {v: k for k, v in vars(tfl.BuiltinOperator).items() if not k.startswith("_")}
    wanted = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    ops = sorted(
        {
            f"{names[max(c.builtinCode, c.deprecatedBuiltinCode)]}:{c.version}"
            for c in m.operatorCodes
            if names.get(max(c.builtinCode, c.deprecatedBuiltinCode)) in wanted
        }
    )
    entry = next((e for e in m.metadata or [] if e.name == b"min_runtime_version"), None)
    runtime = bytes(m.buffers[entry.buffer].data).rstrip(b"\0").decode() if entry else "?"
    return f"{' '.join(ops)}; min runtime {runtime}"


def agreement(ref: np.ndarray, got: Any) -> str:
    if isinstance(got, str):
        return f"{got[:44]:>22}"
    top1 = float(np.mean(ref.argmax(1) == got.argmax(1)))
    return f"{top1:>7.3f} {float(np.abs(ref - got).max()):>14.5f}"


def classifier(args: argparse.Namespace, work: Path) -> None:
    from edgesdk import metadata
    from edgesdk.verify.host import TFLiteRunner
    from tools import task_library_venv as tl

    model, data = args.model, args.data
    if model is None:
        model, data = train_small_cnn(work)
    d = np.load(data)
    x = d["x"][: args.n].astype(np.float32)
    outs: dict[str, np.ndarray] = {}
    print(f"\nclassifier {model.name}: {len(x)} images of {data}")
    print(
        f"{'variant':8} {'bytes':>8} {'ms':>6} | {'LiteRT 2.x top1':>15} {'max|d|':>7} | "
        f"{'Task Lib top1':>13} {'max|d|':>7} | {'old rt top1':>11} {'max|d|':>7} | op versions"
    )
    for mode, which in (("none", "after"), ("dynamic", "before"), ("dynamic", "after")):
        name = "float32" if mode == "none" else which
        path = package(model, work / f"cls_{name}", mode, which)
        raw = path.read_bytes()
        runner = TFLiteRunner(raw, num_threads=1)
        meta = metadata.read(raw)
        assert meta is not None
        norm = meta.inputs[0].mean or (0.0,), meta.inputs[0].std or (1.0,)
        tensors = np.stack([runner.prepare(s, *norm) for s in x])
        ours = np.stack([runner.run_tensor(t).reshape(-1) for t in tensors])
        times = []
        for _ in range(50):
            t = time.perf_counter()
            runner.run_tensor(tensors[0])
            times.append((time.perf_counter() - t) * 1000)
        theirs = tl.run_task("image_classifier", path, x.astype(np.uint8))
        tl_scores = np.zeros_like(ours)
        for i, got in enumerate(theirs):
            for c in got:
                tl_scores[i, c["index"]] = c["score"]
        old = old_runtime(args.old_python, path, tensors)
        if mode == "none":
            outs = {"ref": ours}
        ref = outs["ref"]
        print(
            f"{name:8} {len(raw):>8,} {statistics.median(times):>6.3f} | "
            f"{agreement(ref, ours)} | {agreement(ref, tl_scores)} | {agreement(ref, old)} | "
            f"{versions(raw)}"
        )


def train_small_cnn(work: Path) -> tuple[Path, Path]:
    from edgesdk._tf import tf_keras
    from edgesdk.demo_data import write_shapes_npz

    train = write_shapes_npz(work / "shapes.npz", 120, 16, seed=3)
    ev = write_shapes_npz(work / "shapes_eval.npz", 200, 16, seed=4)
    k = tf_keras()
    k.utils.set_random_seed(0)
    d = np.load(train)
    m = k.Sequential(
        [
            k.layers.Input((16, 16, 3)),
            k.layers.Rescaling(1 / 255.0),
            k.layers.Conv2D(16, 3, activation="relu", padding="same"),
            k.layers.MaxPooling2D(),
            k.layers.Conv2D(32, 3, activation="relu", padding="same"),
            k.layers.GlobalAveragePooling2D(),
            k.layers.Dense(4, activation="softmax"),
        ]
    )
    m.compile(optimizer=k.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    m.fit(d["x"].astype("float32"), d["y"], epochs=25, batch_size=32, verbose=0)
    m.save(work / "cnn.h5")
    return work / "cnn.h5", ev


def per_op(args: argparse.Namespace, work: Path) -> None:
    """One-op float models -> ai-edge-quantizer dynamic variants, channelwise and tensorwise;
    max |diff| against the float model relative to its largest output."""
    import copy

    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer
    from ai_edge_quantizer import recipe as aeq

    from edgesdk._tf import tf, tf_keras
    from edgesdk.metadata.model import inline_buffers

    t, k = tf(), tf_keras()
    k.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    L = k.layers
    cases = {
        "CONV_2D": ((1, 8, 8, 16), L.Conv2D(32, 3), -1),
        "DEPTHWISE_CONV_2D": ((1, 8, 8, 16), L.DepthwiseConv2D(3), -2),
        "FULLY_CONNECTED": ((1, 64), L.Dense(32), -1),
        "TRANSPOSE_CONV": ((1, 8, 8, 16), L.Conv2DTranspose(32, 3), -2),
    }
    print("\nper op (max |diff| vs float / max |float|; 'refused': the runtime would not load it)")
    print(f"{'op':18} {'weights':12} {'LiteRT 2.x':>10} {'old runtime':>12}")
    for name, (shape, layer, axis) in cases.items():
        inp = k.Input(shape[1:], batch_size=1)
        m = k.Model(inp, layer(inp))
        w = layer.get_weights()
        n = w[0].shape[axis]
        spread = [1] * w[0].ndim
        spread[axis] = n
        # output channels over three decades of weight range: per-tensor vs per-channel shows
        w[0] = w[0] * np.logspace(-2, 1, n, dtype=np.float32).reshape(spread)
        layer.set_weights(w)
        fn = t.function(lambda v, m=m: m(v, training=False))
        cf = fn.get_concrete_function(t.TensorSpec(shape, t.float32))
        flt = t.lite.TFLiteConverter.from_concrete_functions([cf], fn).convert()
        x = rng.standard_normal((4, *shape[1:])).astype(np.float32)

        def run(model: bytes, x: np.ndarray = x) -> np.ndarray:
            it = Interpreter(model_content=model, num_threads=1)
            it.allocate_tensors()
            outs = []
            for s in x:
                it.set_tensor(it.get_input_details()[0]["index"], s[None])
                it.invoke()
                outs.append(it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1))
            return np.stack(outs)

        ref = run(flt)
        scale = float(np.abs(ref).max())
        for gran in ("CHANNELWISE", "TENSORWISE"):
            r = copy.deepcopy(aeq.dynamic_wi8_afp32())
            r[0]["op_config"]["weight_tensor_config"]["granularity"] = gran
            with contextlib.redirect_stdout(sys.stderr):
                q = quantizer.Quantizer(flt)
                q.load_quantization_recipe(r)
                model = inline_buffers(bytes(q.quantize().quantized_model))
            path = work / f"op_{name}_{gran}.tflite"
            path.write_bytes(model)
            new = run(model)
            old = old_runtime(args.old_python, path, x)
            olds = old[:24] if isinstance(old, str) else f"{np.abs(old - ref).max() / scale:.4f}"
            print(
                f"{name:18} {gran.lower():12} {np.abs(new - ref).max() / scale:>10.4f} {olds:>12}"
            )


def detector(args: argparse.Namespace, work: Path) -> None:
    from edgesdk.detection.data import load_detection_data
    from edgesdk.detection.metrics import mean_average_precision
    from edgesdk.detection.postprocess import Detections
    from edgesdk.detection.runner import DetectorRunner
    from tools import task_library_venv as tl

    data = load_detection_data(args.det_data)
    images = np.stack([s.image for s in data.samples])
    gt = [s.boxes for s in data.samples], [s.classes for s in data.samples]
    size = images.shape[1]
    print(f"\ndetector {args.detector.name}: {len(images)} images of {args.det_data}")
    print(f"{'variant':8} {'bytes':>9} {'ms':>6} {'mAP50 LiteRT':>12} {'mAP50 Task Lib':>14}")
    for mode, which in (("none", "after"), ("dynamic", "before"), ("dynamic", "after")):
        name = "float32" if mode == "none" else which
        path = package(args.detector, work / f"det_{name}", mode, which)
        runner = DetectorRunner(path.read_bytes())
        ours = [runner.detect(im) for im in images]
        x = runner.model_input(images[0])
        times = []
        for _ in range(50):
            t = time.perf_counter()
            runner.interpreter.set_tensor(runner.input["index"], x)
            runner.interpreter.invoke()
            times.append((time.perf_counter() - t) * 1000)
        theirs = []
        for got in tl.run_task("object_detector", path, images):
            boxes = np.array(
                [[y / size, x / size, (y + h) / size, (x + w) / size]
                 for x, y, w, h in (d["box"] for d in got)], np.float32,
            ).reshape(-1, 4)  # fmt: skip
            theirs.append(Detections(np.clip(boxes, 0, 1), np.array([d["index"] for d in got]),
                                     np.array([d["score"] for d in got], np.float32)))  # fmt: skip
        n = len(data.class_names)
        a = mean_average_precision(ours, *gt, n)["map50"] * 100
        b = mean_average_precision(theirs, *gt, n)["map50"] * 100
        print(
            f"{name:8} {path.stat().st_size:>9,} {statistics.median(times):>6.2f} {a:>12.1f} "
            f"{b:>14.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, help="a Keras image classifier (raw pixels in)")
    ap.add_argument("--data", type=Path, help=".npz with x (raw pixels) for --model")
    ap.add_argument("--n", type=int, default=200, help="images to compare on")
    ap.add_argument("--old-python", help="a python whose tflite_runtime is the old runtime")
    ap.add_argument("--detector", type=Path)
    ap.add_argument("--det-data", type=Path, help="COCO or VOC folder for --detector")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgesdk-bench-dyn-") as tmp:
        work = Path(tmp)
        classifier(args, work)
        if args.old_python:
            per_op(args, work)
        if args.detector:
            detector(args, work)


if __name__ == "__main__":
    main()
