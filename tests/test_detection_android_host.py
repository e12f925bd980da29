"""Tier android_host for object detectors: the generated detector app's own code (wrapper,
GoldenSuite with ``detect(pixels)`` and ``detect(bitmap)``) on the host JVM under Robolectric,
with TFLite's real Android x86_64 library, on the session's two package folders (float32 with
hostile labels; int8).

Real runs: kotlinc compiles each app as generated (once per app: the copies below reuse the
classes, their sources being unchanged), Robolectric runs the golden cases, and the host
re-checks every reported case by the detector's rule. They need ``edgesdk toolchain install``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from edgesdk.detection import golden as dg
from edgesdk.detection.android import GOLDEN_ASSET_DIR
from edgesdk.toolchain import android_host as tch
from edgesdk.verify import android_host as ah

from .det_fixtures import Packaged
from .helpers import run_cli
from .test_detection import _corrupt_top_class

pytestmark = [pytest.mark.toolchain, pytest.mark.slow]


@pytest.fixture(scope="module")
def host_tc() -> tch.HostToolchain:
    # No try/except: a toolchain that cannot be provisioned is a test failure.
    return tch.ensure()


def _verify(out: Path) -> tuple[int, dict]:
    res = run_cli("verify", out, "--android-host", "--json")
    assert res.stdout.strip(), res.stderr
    return res.exit_code, json.loads(res.stdout)


def _checks(d: dict) -> dict[tuple[str, str], str]:
    return {(c["check"], c["tier"]): c["status"] for c in d["checks"]}


@pytest.mark.parametrize("variant", ["float", "int8"])
def test_detector_app_passes_android_host(
    host_tc, packaged: dict[str, Packaged], variant: str
) -> None:
    """Every golden case through create(context), detect(pixels) and detect(bitmap): Python's
    exact input tensor and detections (same class, IoU, score), both entry points agreeing;
    the wrapper's overhead measured against a bare runForMultipleInputsOutputs."""
    p = packaged[variant]
    code, d = _verify(p.out)
    checks = _checks(d)
    assert checks[("golden", "android_host")] == "passed", d["android_host"]
    assert all(v in ("passed", "not_run", "skipped") for v in checks.values()), checks
    assert code == 0
    run = d["android_host"]
    golden = dg.read(p.out / "android" / GOLDEN_ASSET_DIR)
    assert run["task"] == "object_detector" and run["status"] == "passed" and not run["problems"]
    assert run["expected_cases"] == len(golden.cases) == 6
    assert [c["index"] for c in run["cases"]] == list(range(6))
    for c, case in zip(run["cases"], golden.cases, strict=True):
        assert c["passed"] and c["input_match"] is True, c
        assert c["expected"] == len(case.expected) and c["missing"] == c["unexpected"] == 0, c
        assert c["bitmap_agrees"] is True and c["bitmap_got"] == c["got"], c
        assert c["bitmap_missing"] == c["bitmap_unexpected"] == 0, c
        assert c["min_iou"] >= golden.min_iou and c["max_score_diff"] <= golden.score_tolerance
        assert c["latency_ms"] > 0
    assert sum(c["expected"] for c in run["cases"]) > 0
    app_model = p.out / "android" / "app" / "src" / "main" / "assets" / "model.tflite"
    assert run["summary"]["model_sha256"] == hashlib.sha256(app_model.read_bytes()).hexdigest()
    golden_bin = p.out / "android" / GOLDEN_ASSET_DIR / "golden.bin"
    assert run["summary"]["golden_sha256"] == hashlib.sha256(golden_bin.read_bytes()).hexdigest()
    assert run["runtime"]["xnnpack"] == "on"
    o = run["overhead"]
    assert o["interpreter_run_ms"] > 0 and o["detect_bitmap_ms"] > 0 and o["detect_pixels_ms"] > 0
    text = run_cli("verify", p.out, "--android-host")
    assert "App code on the host JVM (tier android_host) PASSED: 6/6" in text.stderr
    assert "detect(bitmap)" in text.stderr
    print(f"\nandroid_host {variant}: {run['timings_s']}, overhead {o}")


def test_detector_android_host_fails_on_a_wrong_golden_or_model(
    host_tc, packaged: dict[str, Packaged], tmp_path: Path
) -> None:
    """Copies of the float folder (their compiled classes reused: only assets differ): a stored
    detection given another class fails that case; the int8 model in the app's assets fails
    the run. Exit 3."""
    src = packaged["float"].out
    compiled = (src / "android" / ah.BUILD_DIR / "classes").is_dir()  # by the passing test

    bad = tmp_path / "bad_golden"
    shutil.copytree(src, bad)
    golden_bin = bad / "android" / GOLDEN_ASSET_DIR / "golden.bin"
    broken = _corrupt_top_class(golden_bin, len(packaged["float"].labels))
    code, d = _verify(bad)
    assert code == 3
    assert _checks(d)[("golden", "android_host")] == "failed"
    run = d["android_host"]
    if compiled:
        assert run["timings_s"]["compile"] == 0.0  # the copy reused the compiled classes
    assert run["failing_cases"] == [broken], run
    case = run["cases"][broken]
    assert case["missing"] >= 1 and case["unexpected"] >= 1 and case["input_match"] is True
    assert case["bitmap_missing"] >= 1  # detect(bitmap) is held to the same rule

    swapped = tmp_path / "swapped"
    shutil.copytree(bad, swapped)  # with bad's compiled classes
    shutil.copyfile(src / "android" / GOLDEN_ASSET_DIR / "golden.bin",
                    swapped / "android" / GOLDEN_ASSET_DIR / "golden.bin")  # fmt: skip
    asset = swapped / "android" / "app" / "src" / "main" / "assets" / "model.tflite"
    asset.write_bytes(packaged["int8"].tflite.read_bytes())
    code, d = _verify(swapped)
    assert code == 3
    assert _checks(d)[("golden", "android_host")] == "failed"
    run = d["android_host"]
    assert run["status"] in ("failed", "crashed") and run["timings_s"]["compile"] == 0.0
    assert any("another model" in p for p in run["problems"]), run["problems"]
    # the wrapper refuses a model whose input tensor is not the one it was generated for
    assert any("does not match" in p for p in run["problems"]), run["problems"]


@pytest.fixture(scope="module")
def dynamic_out(detector_h5, det_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("det_dynamic") / "out"
    res = run_cli(
        "package", detector_h5, "-o", out, "--quantize", "dynamic", "--golden-cases", 8,
        "--eval-data", det_data["eval"], "--android-package", "dev.edgesdk.det_dynamic",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr + res.stdout
    return out


def test_dynamic_range_detector_passes_on_androids_kernels(host_tc, dynamic_out: Path) -> None:
    """Android's TFLite runs a dynamic-range model on its built-in hybrid kernels, which
    quantize activations on the fly unlike the host's XNNPACK: the golden rule of that mode
    (detections scoring >= 0.2, scores within 0.08) holds there for every case."""
    golden = dg.read(dynamic_out / "android" / GOLDEN_ASSET_DIR)
    assert golden.score_threshold == pytest.approx(dg.GOLDEN_MIN_SCORE["dynamic"])
    assert golden.score_tolerance == pytest.approx(dg.SCORE_TOLERANCE["dynamic"])
    code, d = _verify(dynamic_out)
    run = d["android_host"]
    assert run["status"] == "passed", [c for c in run["cases"] if not c["passed"]]
    assert code == 0, _checks(d)
    assert len(run["cases"]) == 8 and sum(c["expected"] for c in run["cases"]) > 0
