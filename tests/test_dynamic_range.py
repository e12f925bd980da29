"""Dynamic-range models run right on older TFLite runtimes, not only on LiteRT 2.x (host, tier 1).

Older TFLite (the Task Library 0.4.4's own runtime, tflite-runtime 2.14) runs a
FULLY_CONNECTED with per-channel int8 weights as if its first channel's scale held for every
channel. ``edgesdk.convert.derive`` therefore keeps per-channel weights to CONV_2D and
DEPTHWISE_CONV_2D, gives FULLY_CONNECTED one scale with asymmetric input quantization, and
declares the op versions and ``min_runtime_version`` the hybrid ops need, so that a runtime
too old for an op refuses the model instead of computing wrong scores.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from edgesdk import convert as conv
from edgesdk.models import load_model

from .helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]


def _task_library():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools import task_library_venv as tl

    if not tl.supported_here():
        pytest.skip("no tflite-support wheel for this Python")
    return tl


def _ops(model: bytes) -> list[tuple[str, int, object, list]]:
    """(op name, op version, builtin options, int8 weight scales) of each operator."""
    from ai_edge_litert import schema_py_generated as tfl

    m = tfl.ModelT.InitFromPackedBuf(model, 0)
    names = {v: k for k, v in vars(tfl.BuiltinOperator).items() if not k.startswith("_")}
    out = []
    for op in m.subgraphs[0].operators:
        code = m.operatorCodes[op.opcodeIndex]
        tensors = [m.subgraphs[0].tensors[i] for i in op.inputs if i >= 0]
        scales = [
            list(t.quantization.scale)
            for t in tensors
            if t.type == tfl.TensorType.INT8 and t.quantization is not None
        ]
        name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        out.append((name, code.version, op.builtinOptions, scales))
    return out


def _min_runtime(model: bytes) -> str:
    from ai_edge_litert import schema_py_generated as tfl

    m = tfl.ModelT.InitFromPackedBuf(model, 0)
    entry = next(e for e in m.metadata if e.name == b"min_runtime_version")
    return bytes(m.buffers[entry.buffer].data).rstrip(b"\0").decode()


def test_dynamic_weights_and_op_versions(trained_h5) -> None:
    """Per-channel int8 weights on the convolutions, one scale on the dense layer with
    asymmetric inputs, the op versions TFLite gives those kernels, and 2.4.0 (the per-channel
    hybrid CONV_2D) as the model's minimum runtime."""
    res = conv.convert(load_model(trained_h5), "dynamic")
    ops = _ops(res.tflite)
    convs = [o for o in ops if o[0] == "CONV_2D"]
    assert len(convs) == 2 and all(v == 5 and len(s[0]) > 1 for _, v, _, s in convs), convs
    (fc,) = [o for o in ops if o[0] == "FULLY_CONNECTED"]
    assert fc[1] == 9 and len(fc[3][0]) == 1 and fc[2].asymmetricQuantizeInputs, fc
    assert _min_runtime(res.tflite) == "2.4.0"
    # the float model declares what it needs as it is: version 1 ops, no int8 weights
    plain = conv.convert(load_model(trained_h5), "none").tflite
    assert {v for _, v, _, _ in _ops(plain)} == {1}
    assert _min_runtime(plain) == "1.6.0"
    assert len(res.tflite) < 0.5 * len(plain)


def test_mark_hybrid_ops_declares_per_channel_fully_connected(trained_h5) -> None:
    """ai-edge-quantizer's own recipe (per-channel everywhere, op versions left at 1):
    marking gives its FULLY_CONNECTED version 12 and the model a 2.17.0 minimum runtime."""
    from ai_edge_quantizer import quantizer, recipe

    from edgesdk.metadata.model import inline_buffers

    plain = conv.convert(load_model(trained_h5), "none").tflite
    q = quantizer.Quantizer(plain)
    q.load_quantization_recipe(recipe.dynamic_wi8_afp32())
    raw = inline_buffers(bytes(q.quantize().quantized_model))
    assert {v for _, v, _, _ in _ops(raw)} == {1} and _min_runtime(raw) == "1.6.0"
    marked = conv.mark_hybrid_ops(raw)
    versions = {name: v for name, v, _, _ in _ops(marked)}
    assert versions["FULLY_CONNECTED"] == 12 and versions["CONV_2D"] == 5
    assert _min_runtime(marked) == "2.17.0"
    assert conv.mark_hybrid_ops(marked) == marked  # idempotent
    assert conv.mark_hybrid_ops(plain) == plain  # nothing hybrid: unchanged bytes


@pytest.mark.slow
def test_task_library_refuses_or_miscomputes_per_channel_fully_connected(
    trained_h5, shapes_eval_npz, tmp_path: Path, monkeypatch
) -> None:
    """What the recipe guards against, on the Task Library's own runtime: ai-edge-quantizer's
    per-channel FULLY_CONNECTED gives scores far from LiteRT 2.x's (the classifier check of
    test_task_library_classifier.py fails on it); once its version is declared, the Task
    Library refuses the model with a clear error instead."""
    from ai_edge_quantizer import recipe

    from edgesdk.verify.host import TFLiteRunner

    tl = _task_library()
    images = np.load(shapes_eval_npz)["x"][:16].astype(np.uint8)
    monkeypatch.setattr(conv, "_DYNAMIC_RECIPE", recipe.dynamic_wi8_afp32())
    unmarked = tmp_path / "unmarked"
    with monkeypatch.context() as m:
        m.setattr(conv, "mark_hybrid_ops", lambda model: model)
        res = run_cli("package", trained_h5, "-o", unmarked, "--target", "none",
                      "--quantize", "dynamic")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    theirs = tl.run_task("image_classifier", unmarked / "model.tflite", images)
    runner = TFLiteRunner((unmarked / "model.tflite").read_bytes())
    ours = np.stack([np.asarray(runner.run(im.astype(np.float32), (0.0,), (1.0,))).reshape(-1)
                     for im in images])  # fmt: skip
    top1 = np.array([got[0]["index"] for got in theirs])
    worst = max(abs(c["score"] - ours[i, c["index"]]) for i, g in enumerate(theirs) for c in g)
    assert worst > 0.2 and np.mean(top1 == ours.argmax(1)) < 0.9, (worst, top1)

    marked = tmp_path / "marked"
    res = run_cli("package", trained_h5, "-o", marked, "--target", "none", "--quantize", "dynamic")
    assert res.exit_code == 0, res.stderr
    with pytest.raises(RuntimeError, match="FULLY_CONNECTED' version '12'"):
        tl.run_task("image_classifier", marked / "model.tflite", images)


def _tl_detections(got: list, size: int):
    from edgesdk.detection.postprocess import Detections

    boxes = np.array(
        [[y / size, x / size, (y + h) / size, (x + w) / size] for x, y, w, h in
         (d["box"] for d in got)],
        np.float32,
    ).reshape(-1, 4)  # fmt: skip
    return Detections(
        boxes,
        np.array([d["index"] for d in got], np.int32),
        np.array([d["score"] for d in got], np.float32),
    )


def _agreement(ours: list, theirs: list, min_score: float = 0.3) -> tuple[int, float, float, int]:
    """Over our detections scoring ``min_score`` or more: how many, the mean IoU of each with
    the best-overlapping detection of the same class in ``theirs``, the mean score difference
    of those pairs, and how many have no same-class detection overlapping by 0.5 or more."""
    from edgesdk.detection.anchors import iou_matrix

    ious, diffs, unmatched = [], [], 0
    for a, b in zip(ours, theirs, strict=True):
        for box, cls, score in zip(a.boxes, a.classes, a.scores, strict=True):
            if score < min_score:
                continue
            same = np.flatnonzero(b.classes == cls)
            iou = iou_matrix(box[None], b.boxes[same])[0] if len(same) else np.zeros(1)
            j = int(iou.argmax())
            ious.append(float(iou[j]))
            diffs.append(abs(float(b.scores[same[j]]) - float(score)) if len(same) else 1.0)
            unmatched += int(iou[j] < 0.5)
    return len(ious), float(np.mean(ious)), float(np.mean(diffs)), unmatched


def _agrees(n: int, iou: float, diff: float, unmatched: int) -> bool:
    return n >= 20 and iou >= 0.8 and diff <= 0.05 and unmatched <= 0.1 * n


@pytest.mark.slow
def test_task_library_detects_with_the_dynamic_detector(
    detector_h5, det_data, tmp_path: Path
) -> None:
    """The dynamic-range detector in the Task Library: its detections are ours within the
    spread of the hybrid kernels (LiteRT 2.x's XNNPACK and the Task Library's own kernels
    quantize activations differently on the fly, so not to the digit as for float32).
    Measured on the 32 evaluation images: 52 detections, IoU 0.91, score difference 0.02, 2
    unmatched; the same check on detections paired with the wrong images fails (IoU 0.18)."""
    from edgesdk.detection.data import load_detection_data
    from edgesdk.detection.runner import DetectorRunner

    tl = _task_library()
    out = tmp_path / "dyn"
    res = run_cli("package", detector_h5, "-o", out, "--target", "none",
                  "--quantize", "dynamic")  # fmt: skip
    assert res.exit_code == 0, res.stderr + res.stdout
    model = (out / "model.tflite").read_bytes()
    assert {n: v for n, v, _, _ in _ops(model)}["DEPTHWISE_CONV_2D"] == 6
    assert _min_runtime(model) == "2.4.0"
    images = np.stack([s.image for s in load_detection_data(det_data["eval"]).samples])
    runner = DetectorRunner(model)
    ours = [runner.detect(im) for im in images]
    found = tl.run_task("object_detector", out / "model.tflite", images)
    theirs = [_tl_detections(g, images.shape[1]) for g in found]
    got = _agreement(ours, theirs)
    print(f"\ndynamic detector, Task Library vs LiteRT: {got[0]} detections, IoU {got[1]:.3f}, "
          f"|score diff| {got[2]:.3f}, unmatched {got[3]}")  # fmt: skip
    assert _agrees(*got), got
    wrong = _agreement(ours, theirs[1:] + theirs[:1])
    assert not _agrees(*wrong), wrong
