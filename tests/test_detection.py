"""Object detection end to end, on a tiny detector trained here on drawn shapes with boxes.

- ``edgesdk train --task object_detector`` (MobileNetV2 alpha 0.35, 96x96) in a session fixture;
- ``edgesdk package`` (float32 with hostile labels, and int8 with float post-processing): the
  ``TFLite_Detection_PostProcess`` op, four outputs, Task-Library metadata;
- the oracles: tflite-support's ``MetadataDisplayer`` reads our metadata field by field, and the
  TFLite Task Library's ObjectDetector (its own venv, ``tools/task_library_venv.py``) returns the
  same detections as our Python path (host, tier 1);
- tier 2: the detector app (wrapper, sample screen, golden test) compiles with kotlinc -Werror
  against android.jar and the LiteRT classes; tier 3: its pure pre/post-processing runs on the
  JVM (no android.jar, no LiteRT) on the golden files and gives Python's detections;
- a user's own detector with raw outputs packages with ``--anchors anchors.npy``.
"""

from __future__ import annotations

import json
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgesdk.detection import golden as dg
from edgesdk.detection.anchors import iou_matrix
from edgesdk.detection.data import load_detection_data
from edgesdk.detection.runner import DetectorRunner
from edgesdk.detection.verify import recheck_device_case

from .det_fixtures import HOSTILE, SIZE, Packaged
from .helpers import assert_user_error, report, run_cli

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tests" / "kotlin" / "DetectionHarness.kt.tmpl"


def _tools():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools import android_toolchain, task_library_venv

    return android_toolchain, task_library_venv


# ------------------------------------------------------------------------------ training


def test_trained_detector_carries_anchors_and_learns(detector_h5: Path) -> None:
    from edgesdk.detection.model import read_detector_info

    info = read_detector_info(detector_h5)
    assert info is not None
    assert info["class_names"] == ("circle", "square", "triangle")
    assert info["anchors"].shape == (6 * 6 * 4 + 3 * 3 * 4, 4)
    assert info["alpha"] == 0.35  # the detector's --alpha default (classifiers: 1.0)
    log = json.loads(detector_h5.with_name("det.training.json").read_text())
    assert log["task"] == "object_detector" and log["val_samples"] == 40
    # a real detector: far above chance on held-out images (0 for a model that learnt nothing)
    assert log["map50"] > 0.2, log["map50"]


# ------------------------------------------------------------------------------ packaging


def test_package_contract(packaged: dict[str, Packaged]) -> None:
    from edgesdk import metadata
    from edgesdk.detection.export import output_order

    for name, p in packaged.items():
        model = p.tflite.read_bytes()
        order = output_order(model)
        meta = metadata.read(model)
        assert meta is not None
        assert [t.name for t in meta.outputs] == list(order.names())
        assert sorted(order.names()) == sorted(
            ("location", "category", "score", "number of detections")
        )
        labels_file = meta.outputs[order.index_of(1)].associated_files[0]
        assert labels_file.content.decode("utf-8").splitlines() == list(p.labels)
        r = report(p.out)
        assert r["model"]["task"] == "object_detector"
        assert r["detection"]["anchors"] == {"count": 180, "source": "model"}
        assert {o["name"]: o["shape"] for o in r["outputs"]} == {
            "location": [1, 10, 4], "category": [1, 10], "score": [1, 10],
            "number of detections": [1],
        }  # fmt: skip
        assert all(o["dtype"] == "float32" for o in r["outputs"])
        (v,) = r["detection"]["variants"]
        assert v["mode"] == ("none" if name == "float" else "int8")
        assert r["parity"]["tier"] == "host"
        # float32: the .tflite reproduces the Keras detections (same class, IoU >= 0.9)
        if name == "float":
            assert r["parity"]["fraction"] >= 0.98, r["parity"]
        html = (p.out / "report.html").read_text(encoding="utf-8")
        assert "mAP@0.5" in html and "TFLite_Detection_PostProcess" in html
        print(
            f"\n{name}: {r['size']['tflite_bytes']:,} bytes, mAP@0.5 {v['map50']:.3f} "
            f"mAP {v['map']:.3f} (Keras {r['detection']['keras']['map50']:.3f}), "
            f"{v['latency_ms_host']:.2f} ms host, agreement {r['parity']['fraction']:.3f}"
        )


def test_report_html_shows_per_class_ap_and_detections(
    packaged: dict[str, Packaged], det_data
) -> None:
    """report.html: AP@0.5 per class (hostile labels escaped) and previews of the first eval
    images whose drawn boxes are exactly the shipped model's detections scoring >= 0.3."""
    import html as html_lib
    import re

    from edgesdk.detection.report import PREVIEW_IMAGES, PREVIEW_SCORE

    p = packaged["float"]
    r = report(p.out)
    (v,) = r["detection"]["variants"]
    assert len(v["per_class_ap50"]) == 3 and len(r["detection"]["keras"]["per_class_ap50"]) == 3
    page = (p.out / "report.html").read_text(encoding="utf-8")
    assert "AP@0.5 per class" in page
    for label in HOSTILE:
        assert html_lib.escape(label, quote=True) in page
    svgs = re.findall(r"<svg[^>]*class='pv'>.*?</svg>", page, re.S)
    assert len(svgs) == PREVIEW_IMAGES
    images, _, _ = load_detection_data(det_data["eval"]).resized(SIZE)
    norm = r["normalization"]
    runner = DetectorRunner(p.tflite.read_bytes(), norm["mean"], norm["std"])
    for svg, image in zip(svgs, images, strict=False):
        drawn = len(re.findall(r"<rect [^>]*stroke='#(?!fff)", svg))
        expected = int((runner.detect(image).scores >= PREVIEW_SCORE).sum())
        assert drawn == expected


def test_inspect_shows_postprocess_output_shapes(packaged: dict[str, Packaged]) -> None:
    """The post-processing op's outputs have no shape in the file (the op sets them at run
    time); inspect shows the shapes LiteRT gives them, read from the op's own attributes."""
    from ai_edge_litert.interpreter import Interpreter

    p = packaged["int8"]
    res = run_cli("inspect", p.tflite, "--json")
    assert res.exit_code == 0, res.stderr
    outputs = json.loads(res.stdout)["outputs"]
    interp = Interpreter(model_path=str(p.tflite))
    interp.allocate_tensors()
    runtime = {d["name"]: [int(x) for x in d["shape"]] for d in interp.get_output_details()}
    assert [o["shape"] for o in outputs] == [runtime[o["name"]] for o in outputs]
    assert sorted(map(len, runtime.values())) == [1, 2, 2, 3]
    assert all(o["shape_from"] == "TFLite_Detection_PostProcess (run time)" for o in outputs)
    text = run_cli("inspect", p.tflite)
    assert "* shape set by TFLite_Detection_PostProcess" in text.stderr  # the console


def test_int8_keeps_postprocessing_float(packaged: dict[str, Packaged]) -> None:
    from ai_edge_litert import schema_py_generated as tfl

    data = packaged["int8"].tflite.read_bytes()
    m = tfl.Model.GetRootAs(data, 0)
    sg = m.Subgraphs(0)
    assert sg.Tensors(sg.Inputs(0)).Type() == tfl.TensorType.UINT8
    ops = [sg.Operators(i) for i in range(sg.OperatorsLength())]
    post = [op for op in ops if m.OperatorCodes(op.OpcodeIndex()).CustomCode()
            == b"TFLite_Detection_PostProcess"]  # fmt: skip
    assert len(post) == 1
    types = [sg.Tensors(post[0].Inputs(i)).Type() for i in range(post[0].InputsLength())]
    assert types == [tfl.TensorType.FLOAT32] * 3, types
    quantized = [op for op in ops if any(
        sg.Tensors(op.Inputs(i)).Type() == tfl.TensorType.INT8 for i in range(op.InputsLength())
        if op.Inputs(i) >= 0)]  # fmt: skip
    assert len(quantized) > 20  # the network itself runs in int8


def test_metadata_displayer_reads_detector_metadata(packaged: dict[str, Packaged]) -> None:
    md = pytest.importorskip("tensorflow_lite_support.metadata.python.metadata")
    p = packaged["float"]
    shown = md.MetadataDisplayer.with_model_buffer(p.tflite.read_bytes())
    doc = json.loads(shown.get_metadata_json())
    assert doc["min_parser_version"] == "1.2.0"
    sg = doc["subgraph_metadata"][0]
    image = sg["input_tensor_metadata"][0]
    assert image["content"]["content_properties"]["color_space"] == "RGB"
    assert image["process_units"][0]["options"] == {"mean": [0.0] * 3, "std": [1.0] * 3}
    outs = {t["name"]: t for t in sg["output_tensor_metadata"]}
    loc = outs["location"]["content"]
    assert loc["content_properties_type"] == "BoundingBoxProperties"
    assert loc["content_properties"] == {"index": [1, 0, 3, 2], "type": "BOUNDARIES"}
    for name in ("location", "category", "score"):
        assert outs[name]["content"]["range"] == {"min": 2, "max": 2}
    assert outs["category"]["associated_files"][0]["type"] == "TENSOR_VALUE_LABELS"
    unit = outs["score"]["process_units"][0]
    assert unit["options_type"] == "ScoreThresholdingOptions"
    assert unit["options"]["global_score_threshold"] == pytest.approx(0.05)
    assert sg["output_tensor_groups"] == [
        {"name": "detection_result", "tensor_names": ["location", "category", "score"]}
    ]
    assert shown.get_packed_associated_file_list() == ["labels.txt"]
    labels = shown.get_associated_file_buffer("labels.txt").decode("utf-8")
    assert labels.splitlines() == list(HOSTILE)


@pytest.mark.parametrize("variant", ["float", "int8"])
def test_task_library_detects_what_python_detects(
    packaged: dict[str, Packaged], det_data, variant: str
) -> None:
    """The Task Library's ObjectDetector (the C++ core of tensorflow-lite-task-vision) reads
    the model from its metadata alone and returns our detections (host, tier 1)."""
    _, tl = _tools()
    if not tl.supported_here():
        pytest.skip("no tflite-support wheel for this Python")
    p = packaged[variant]
    images = np.stack([s.image for s in load_detection_data(det_data["eval"]).samples[:12]])
    theirs = tl.run_task("object_detector", p.tflite, images)
    runner = DetectorRunner(p.tflite.read_bytes())
    total = 0
    ious = []
    for im, got in zip(images, theirs, strict=True):
        ours = runner.detect(im)
        assert len(got) == len(ours)
        total += len(ours)
        for d, t in zip(sorted(got, key=lambda d: -d["score"]), range(len(ours)), strict=True):
            assert d["index"] == int(ours.classes[t])
            assert d["label"] == p.labels[int(ours.classes[t])]
            assert d["score"] == pytest.approx(float(ours.scores[t]), abs=1e-4)
            y0, x0, y1, x1 = (ours.boxes[t] * SIZE).tolist()
            x, y, w, h = d["box"]
            theirs_box = np.clip([y, x, y + h, x + w], 0, SIZE)
            # the Task Library reports whole pixels (origin truncated, size rounded): every
            # edge within 1.5 pixels of ours
            assert np.abs(theirs_box - [y0, x0, y1, x1]).max() <= 1.5, (theirs_box, ours.boxes[t])
            ious.append(float(iou_matrix(np.array([[y0, x0, y1, x1]]), theirs_box[None])[0, 0]))
    assert total >= 12
    assert np.mean(ious) >= 0.9, np.mean(ious)


# ------------------------------------------------------------------------------ Kotlin


@pytest.fixture(scope="session")
def detector_kotlin(packaged: dict[str, Packaged], tmp_path_factory):
    at, _ = _tools()
    tc = at.ensure()
    work = tmp_path_factory.mktemp("det_kotlin")
    kotlin, java = [], []
    template = HARNESS.read_text(encoding="utf-8")
    for name, p in packaged.items():
        android = p.out / "android"
        main = android / "app" / "src" / "main"
        r_dir = at.aapt2_link(tc, main / "res", main / "AndroidManifest.xml", work / f"{name}-r",
                              package=p.package, min_sdk=24, target_sdk=35)  # fmt: skip
        java += sorted(r_dir.rglob("*.java"))
        kotlin += sorted((main / "java").rglob("*.kt"))
        kotlin += sorted((android / "app" / "src" / "androidTest" / "java").rglob("*.kt"))
        harness = work / "harness" / name / "DetectionHarness.kt"
        harness.parent.mkdir(parents=True)
        harness.write_text(
            template.replace("@NAME@", name).replace("@PACKAGE@", p.package)
            .replace("@PRE@", p.class_name + "Preprocessing"),
            encoding="utf-8",
        )  # fmt: skip
        kotlin.append(harness)
    classes = work / "classes"
    t = time.perf_counter()
    at.kotlinc(tc, kotlin, classes, list(tc.android_classpath), java, extra_args=["-Werror"])
    at.javac(tc, java, classes, [classes, *tc.android_classpath, tc.kotlin_stdlib])
    print(f"\nkotlinc (2 detector apps + harnesses): {time.perf_counter() - t:.1f}s")
    return at, tc, classes


@pytest.mark.toolchain
def test_detector_app_compiles(detector_kotlin, packaged: dict[str, Packaged]) -> None:
    """Tier 2: wrapper, sample screen and golden test compile (-Werror) with hostile labels."""
    _, _, classes = detector_kotlin
    for p in packaged.values():
        pkg = classes / p.package.replace(".", "/")
        for cls in (p.class_name, f"{p.class_name}$Detection", f"{p.class_name}Preprocessing",
                    "MainActivity", "GoldenInstrumentation", "GoldenVectors", "GoldenCheck",
                    "GoldenSuite"):  # fmt: skip
            assert (pkg / f"{cls}.class").is_file(), cls
        wrapper = (p.out / "kotlin" / f"{p.class_name}.kt").read_text(encoding="utf-8")
        assert "fun detect(" in wrapper and "RectF" in wrapper
        app_copy = p.out / "android" / "app" / "src" / "main" / "java"
        assert (app_copy / p.package.replace(".", "/") / f"{p.class_name}.kt").read_text(
            encoding="utf-8"
        ) == wrapper


@pytest.mark.toolchain
def test_kotlin_postprocessing_gives_python_detections(
    detector_kotlin, packaged: dict[str, Packaged], tmp_path: Path
) -> None:
    """Tier 3: the generated pure Kotlin (no android.jar, no LiteRT on the classpath) turns the
    golden pixels into Python's input tensor and the host's raw outputs into Python's detections,
    and the generated golden check passes every case."""
    at, tc, classes = detector_kotlin
    for name, p in packaged.items():
        golden_dir = p.out / "android" / "app" / "src" / "androidTest" / "assets" / "golden"
        golden = dg.read(golden_dir)
        results = tmp_path / f"{name}.txt"
        at.run_jvm(tc, [classes], f"dev.edgesdk.harness.{name}.DetectionHarnessKt",
                   [golden_dir / "golden.bin", results], check=True)  # fmt: skip
        lines = results.read_text().splitlines()
        assert len(lines) == len(golden.cases) == 6
        n_det = 0
        for line, case in zip(lines, golden.cases, strict=True):
            parts = line.split(" ")
            assert parts[1] == case.input_sha256.hex()  # the Kotlin tensor is Python's
            check = json.loads(parts[2])
            assert check["passed"] and check["input_match"] is True, check
            # the host's re-check of what the on-device test reports (same Kotlin, same line)
            assert recheck_device_case(check, case, golden)
            for lie in ({"missing": 1}, {"unexpected": 1}, {"input_match": False},
                        {"min_iou": 0.5}, {"expected": len(case.expected) + 1}):  # fmt: skip
                assert not recheck_device_case({**check, **lie}, case, golden), lie
            n = int(parts[3])
            assert n == len(case.expected)
            vals = parts[4:]
            for k, e in enumerate(case.expected):
                cls, *floats = vals[6 * k : 6 * k + 6]
                got = [struct.unpack("<f", struct.pack("<I", int(f, 16)))[0] for f in floats]
                assert int(cls) == e.index
                assert got[0] == pytest.approx(e.score, abs=0)
                np.testing.assert_allclose(got[1:], e.box, atol=1e-4)
            n_det += n
        assert n_det > 0


# ------------------------------------------------------------------------------ user detector


def test_user_detector_with_anchors_npy(keras2, tmp_path: Path) -> None:
    """A detector built outside edgesdk (raw box and score outputs, no anchors inside)."""
    k = keras2
    inp = k.Input((64, 64, 3))
    x = k.layers.Rescaling(1 / 255.0)(inp)
    x = k.layers.Conv2D(8, 3, strides=8, padding="same", activation="relu")(x)
    boxes = k.layers.Reshape((-1, 4), name="box_encodings")(k.layers.Conv2D(8, 1)(x))
    scores = k.layers.Reshape((-1, 2))(k.layers.Conv2D(4, 1, activation="sigmoid")(x))
    model = k.Model(inp, [boxes, scores])
    path = tmp_path / "user.h5"
    model.save(path)
    n = 8 * 8 * 2
    res = run_cli("package", path, "-o", tmp_path / "o1", "--target", "none")
    assert_user_error(res, "anchors are unknown", "--anchors anchors.npy")
    bad = tmp_path / "bad.npy"
    np.save(bad, np.ones((n + 1, 4), np.float32))
    res = run_cli("package", path, "-o", tmp_path / "o2", "--target", "none", "--anchors", bad)
    assert_user_error(res, "does not match", f"{n + 1} anchors, model predicts {n} boxes")
    good = tmp_path / "anchors.npy"
    c = (np.arange(8) + 0.5) / 8
    yy, xx = np.meshgrid(c, c, indexing="ij")
    anchors = np.repeat(np.stack([yy.ravel(), xx.ravel()], 1), 2, axis=0)
    np.save(good, np.concatenate([anchors, np.full((n, 2), 0.25)], 1).astype(np.float32))
    res = run_cli("package", path, "-o", tmp_path / "o3", "--target", "none", "--anchors", good)
    assert res.exit_code == 0, res.stderr
    r = report(tmp_path / "o3")
    assert r["model"]["task"] == "object_detector"
    assert r["detection"]["anchors"] == {"count": n, "source": "file"}
    assert r["labels"]["source"] == "generated"
    assert len(r["outputs"]) == 4


# ------------------------------------------------------------------------------ verify


def _corrupt_top_class(golden_bin: Path, num_classes: int) -> int:
    """Give the best-scoring stored detection of one case another class; its case index."""
    data = bytearray(golden_bin.read_bytes())
    n = struct.unpack_from("<I", data, 8)[0]
    thr, _, tol = struct.unpack_from("<fff", data, 20)
    for i in range(n):
        rec = struct.unpack_from("<8I", data, 32 + 64 * i)
        exp_off, count = rec[5], rec[6]
        if count:
            cls, score = struct.unpack_from("<if", data, exp_off)
            assert score >= thr + tol  # counted by the rule (not a borderline detection)
            struct.pack_into("<i", data, exp_off, (cls + 1) % num_classes)
            golden_bin.write_bytes(bytes(data))
            return i
    raise AssertionError("no stored detection to corrupt")


def test_verify_detector_output(
    packaged: dict[str, Packaged], det_data, tmp_path: Path, monkeypatch
) -> None:
    """``edgesdk verify`` on a detector folder (host, tier 1): the golden detections re-run
    from raw pixels through LiteRT pass by the device's rule, and the Keras model's detections
    are reproduced (mAP with ``--data``); a corrupted expected detection and another model in
    the app both fail (exit 3)."""
    import shutil

    src = packaged["float"].out
    res = run_cli("verify", src, "--data", det_data["eval"], "--json")
    assert res.exit_code == 0, res.stderr + res.stdout
    v = json.loads(res.stdout)
    checks = {(c["check"], c["tier"]): c["status"] for c in v["checks"]}
    assert checks[("golden", "host")] == "passed"
    assert checks[("host_parity", "host")] == "passed"
    assert checks[("golden", "device")] == "not_run"
    cases = v["golden"]["cases"]
    assert len(cases) == 6 and v["golden"]["failing_cases"] == []
    assert all(c["input_match"] and c["missing"] == 0 and c["unexpected"] == 0 for c in cases)
    assert sum(c["expected"] for c in cases) > 0
    assert v["golden"]["rule"]["min_iou"] == pytest.approx(0.9)
    # the host's re-check of device-reported case lines (the same fields as the Kotlin's)
    golden = dg.read(src / "android" / dg_asset())
    for c, case in zip(cases, golden.cases, strict=True):
        assert recheck_device_case(c, case, golden)
        for lie in ({"missing": 1}, {"unexpected": 1}, {"input_match": False},
                    {"min_iou": 0.5}, {"max_score_diff": 1.0}, {"min_iou": None}):  # fmt: skip
            assert not recheck_device_case({**c, **lie}, case, golden), lie
    # a GPU run (compiled-model apps) widens the score tolerance as the app's test does
    from edgesdk.codegen.runtime import GPU_RELATIVE_TOLERANCE
    from edgesdk.detection.verify import ReportedDetectionCase, read_checker

    checker = read_checker(src / "android" / dg_asset())
    c = next(c for c in cases if c["expected"] > 0)
    for diff, cpu, gpu in ((0.0, True, True), (GPU_RELATIVE_TOLERANCE / 2, False, True),
                           (GPU_RELATIVE_TOLERANCE * 2, False, False)):  # fmt: skip
        line = {**c, "max_score_diff": diff, "bitmap_missing": 0, "bitmap_unexpected": 0,
                "bitmap_min_iou": c["min_iou"], "bitmap_max_score_diff": diff,
                "bitmap_agrees": True}  # fmt: skip
        reported = ReportedDetectionCase(c["index"], line, True)
        assert (checker.recheck(reported), checker.recheck(reported, "GPU")) == (cpu, gpu), diff
    assert v["golden"]["rule"]["score_tolerance"] == pytest.approx(dg.SCORE_TOLERANCE["none"])
    parity = v["host_parity"]
    assert parity["source"] == "data_images"
    assert parity["box_agreement"]["fraction"] >= 0.9
    assert parity["box_agreement"]["reference_detections"] > 0
    # the same mAP package recorded for the shipped variant, on the same 32 images
    r = report(src)
    shipped = r["quantization"]["mode"]
    recorded = next(x for x in r["detection"]["variants"] if x["mode"] == shipped)
    assert parity["map"]["tflite"]["map50"] == pytest.approx(recorded["map50"], abs=1e-4)
    assert parity["box_agreement"]["min_reference_score"] == pytest.approx(0.3)

    # int8: quantization moves the near-threshold detections, not the ones an app shows
    res = run_cli("verify", packaged["int8"].out, "--json", "--data", det_data["eval"])
    assert res.exit_code == 0, res.stderr + res.stdout
    a = json.loads(res.stdout)["host_parity"]["box_agreement"]
    assert a["fraction"] >= 0.9 and a["reference_detections"] > 0, a

    bad = tmp_path / "bad_box"
    shutil.copytree(src, bad)
    golden_bin = bad / "android" / dg_asset() / "golden.bin"
    broken = _corrupt_top_class(golden_bin, len(packaged["float"].labels))
    res = run_cli("verify", bad, "--json")
    assert res.exit_code == 3, res.stderr + res.stdout
    v = json.loads(res.stdout)
    assert v["golden"]["failing_cases"] == [broken]
    case = v["golden"]["cases"][broken]
    assert case["missing"] >= 1 and case["unexpected"] >= 1 and case["input_match"]
    assert {"check": "golden", "tier": "host", "status": "failed"} in v["checks"]
    text = run_cli("verify", bad)
    assert text.exit_code == 3 and f"case {broken}" in text.stderr + text.stdout

    swapped = tmp_path / "swapped"
    shutil.copytree(src, swapped)
    asset = swapped / "android" / "app" / "src" / "main" / "assets" / "model.tflite"
    asset.write_bytes(packaged["int8"].tflite.read_bytes())
    res = run_cli("verify", swapped, "--json")
    assert res.exit_code == 3, res.stderr + res.stdout
    v = json.loads(res.stdout)
    assert v["golden"]["failing_cases"], v["golden"]
    assert any("differs from" in p for p in v["golden"]["problems"])

    # a tier the task does not list is refused before anything runs
    from edgesdk.tasks.object_detector import ObjectDetector

    monkeypatch.setattr(ObjectDetector, "supported_tiers", frozenset({"device"}))
    res = run_cli("verify", src, "--android-host")
    assert_user_error(res, "cannot run tier android_host for object_detector folders", "device")


def dg_asset() -> Path:
    from edgesdk.detection.android import GOLDEN_ASSET_DIR

    return GOLDEN_ASSET_DIR


# ------------------------------------------------------------------------------ demo and auto


@pytest.mark.slow
def test_detector_demo_with_auto_quantization(tmp_path: Path) -> None:
    """``edgesdk demo --task object_detector`` at a small size: data -> train -> package with
    ``--quantize auto`` (four variants measured in mAP) -> app and report.html."""
    from edgesdk.detection.demo import run_detector_demo

    out = tmp_path / "demo"
    result = run_detector_demo(out, epochs=3, train_images=60, image_size=64)
    r = report(out / "app")
    modes = [v["mode"] for v in r["detection"]["variants"]]
    assert modes == ["none", "float16", "dynamic", "int8"]
    chosen = r["quantization"]["mode"]
    assert r["quantization"]["requested"] == "auto"
    budget = r["quantization"]["auto"]["budget_map_points"]
    base = r["detection"]["variants"][0]["map50"]
    by_mode = {v["mode"]: v for v in r["detection"]["variants"]}
    for v in by_mode.values():
        assert v["within_budget"] == ((base - v["map50"]) * 100 <= budget)
    within = [v for v in by_mode.values() if v["within_budget"]]
    assert chosen == min(within, key=lambda v: v["tflite_bytes"])["mode"]
    assert (out / "report.html").is_file()
    assert (out / "app" / "android" / "app" / "src" / "main" / "assets" / "model.tflite").is_file()
    assert result["package"]["quantization"] == chosen
    res = run_cli("verify", out / "app", "--json")
    assert res.exit_code == 0, res.stderr + res.stdout
    v = json.loads(res.stdout)
    assert v["golden"]["status"] == "passed" and v["golden"]["cases"]
    assert v["host_parity"]["status"] == "passed"
