"""Object detectors on tiers ``arm64`` and ``apk`` (real tools: qemu-user with the aarch64
``ai-edge-litert`` wheel; aapt2, kotlinc, D8, zipalign, apksigner, dexdump).

- arm64: the golden detection cases of the session's package folders (float32 with hostile
  labels; int8) run in one emulated aarch64 process, their four outputs mapped by the
  post-processing op's ports and judged by the host check's rule; a corrupted expected
  detection fails (exit 3).
- apk: the detector app and its golden test assembled and signed without Gradle, each Kotlin
  source's class found in its APK's dex and the golden set in the test APK; a broken resource
  reference fails (exit 3).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from edgesdk.detection.export import PORT_NAMES, output_order
from edgesdk.detection.verify import golden_detection_inputs
from edgesdk.toolchain import arm64 as tc
from edgesdk.verify.apk import APK_DIR, APP_APK, TEST_APK

from .det_fixtures import Packaged
from .helpers import run_cli
from .test_detection import _corrupt_top_class
from .test_verify_apk import apk_tools  # noqa: F401  (session fixture)
from .test_verify_arm64 import arm64_root  # noqa: F401  (session fixture)

pytestmark = [pytest.mark.toolchain, pytest.mark.slow]
ASSET = Path("android", "app", "src", "main", "assets", "model.tflite")


def _verify(out: Path, *args: str) -> tuple[int, dict]:
    res = run_cli("verify", out, *args, "--json")
    assert "Traceback" not in res.stderr, res.stderr
    return res.exit_code, json.loads(res.stdout)


def _status(obj: dict) -> dict[tuple[str, str], str]:
    return {(c["check"], c["tier"]): c["status"] for c in obj["checks"]}


def test_judge_maps_outputs_by_port_not_index(packaged: dict[str, Packaged]) -> None:
    """No qemu: the host's own LiteRT outputs (through the same runner script) pass the judge
    when handed over in the interpreter's order; the same arrays in another order fail."""
    from edgesdk.verify.kernels import Model, run_host

    out = packaged["float"].out
    model = (out / ASSET).read_bytes()
    golden = golden_detection_inputs(out, model)
    run = next(iter(run_host([Model("app", model, golden.tensors)]).values()))
    assert len(run.all_outputs) == 4 and len(run.output_names) == 4
    judged = golden.judge(run.all_outputs, run.output_names)
    assert len(judged.cases) == 6 and all(c.passed for c in judged.cases), judged
    assert all(c.input_match and c.raw_max_abs_diff == 0.0 for c in judged.cases)
    order = output_order(model)
    assert golden.rule["outputs_by_port"] == [PORT_NAMES[p] for p in order.ports]
    # The same arrays in another order (as if the interpreter's order were the op's): refused.
    shifted = run.all_outputs[1:] + run.all_outputs[:1]
    bad = golden.judge(shifted, run.output_names)
    assert bad.cases == () and "have shapes" in " ".join(bad.problems), bad
    # Boxes and scores kept, the scores' and classes' places exchanged: every case fails.
    by_port = [run.all_outputs[order.index_of(p)] for p in range(4)]
    crossed = list(run.all_outputs)
    crossed[order.index_of(1)], crossed[order.index_of(2)] = by_port[2], by_port[1]
    bad = golden.judge(crossed, run.output_names)
    assert len(bad.cases) == 6 and not any(c.passed for c in bad.cases), bad


@pytest.mark.parametrize("variant", ["float", "int8"])
def test_golden_detections_pass_on_arm64(
    arm64_root, packaged: dict[str, Packaged], variant: str  # noqa: F811
) -> None:
    code, obj = _verify(packaged[variant].out, "--arm64")
    arm = obj["arm64"]
    status = _status(obj)
    assert status[("golden", "arm64")] == "passed", arm
    assert arm["task"] == "object_detector" and arm["machine"] == "aarch64"
    assert arm["xnnpack"] is True and arm["cpu"] == tc.DEFAULT_CPU and arm["litert"] == "2.3.0"
    assert arm["output_dtype"] == "float32" and arm["max_lsb_diff"] is None
    assert len(arm["outputs"]) == 4 and arm["model_matches"] and arm["problems"] == []
    rule = arm["rule"]
    assert sorted(rule["outputs_by_port"]) == sorted(PORT_NAMES)
    assert len(arm["cases"]) == 6 and arm["failing_cases"] == []
    for c in arm["cases"]:
        assert c["passed"] and c["input_match"] and c["missing"] == 0 and c["unexpected"] == 0
        assert c["got"] == c["expected"] > 0
        assert c["min_iou"] >= rule["min_iou"]
        assert c["max_score_diff"] <= rule["score_tolerance"]
    print(
        f"\narm64 {variant}: max score diff {max(c['max_score_diff'] for c in arm['cases']):.3g}, "
        f"min IoU {min(c['min_iou'] for c in arm['cases']):.6f}, max raw diff "
        f"{max(c['raw_max_abs_diff'] for c in arm['cases']):.3g}, {arm['seconds']:.1f} s"
    )
    # Every other check passed too, host parity (Keras vs .tflite) included for int8.
    assert all(v in ("passed", "not_run") for v in status.values()), status
    assert code == 0


def test_corrupted_golden_detection_fails_on_arm64(
    arm64_root, packaged: dict[str, Packaged], tmp_path: Path  # noqa: F811
) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(packaged["float"].out, bad)
    golden_bin = bad / "android" / "app" / "src" / "androidTest" / "assets" / "golden" / "golden.bin"
    broken = _corrupt_top_class(golden_bin, len(packaged["float"].labels))
    res = run_cli("verify", bad, "--arm64")
    assert res.exit_code == 3 and "Traceback" not in res.stderr, res.stdout + res.stderr
    text = " ".join((res.stdout + res.stderr).split())
    assert "tier arm64" in text and "FAILED" in text and "Golden detections, aarch64" in text
    code, obj = _verify(bad, "--arm64")
    assert code == 3
    arm = obj["arm64"]
    assert _status(obj)[("golden", "arm64")] == "failed"
    assert arm["failing_cases"] == [broken], arm
    case = arm["cases"][broken]
    assert case["missing"] >= 1 and case["unexpected"] >= 1 and case["input_match"]
    assert arm["machine"] == "aarch64" and arm["xnnpack"] is True


def test_detector_app_builds_signed_apks(
    apk_tools, packaged: dict[str, Packaged], tmp_path: Path  # noqa: F811
) -> None:
    from edgesdk.toolchain import apk as tk
    from edgesdk.verify import apk as va

    p = packaged["float"]  # hostile labels in the wrapper's sources
    out = tmp_path / "float"
    shutil.copytree(p.out, out)
    code, obj = _verify(out, "--apk")
    apk = obj["apk"]
    assert code == 0 and _status(obj)[("apk", "apk")] == "passed", apk["problems"]
    app, test = apk["app"], apk["test"]
    assert app["package"] == p.package and app["launchable_activity"] == f"{p.package}.MainActivity"
    assert app["model_stored"] and app["model_aligned"]
    assert "v2" in app["signature"] and "v2" in test["signature"]
    assert test["instrumentation"] == f"{p.package}.GoldenInstrumentation"
    assert test["target_package"] == p.package
    for cls in (p.class_name, "MainActivity", "GoldenInstrumentation", "GoldenVectors"):
        assert f"{p.package}.{cls}" in apk["source_classes"], apk["source_classes"]
    folder = out / "android" / APK_DIR
    with zipfile.ZipFile(folder / APP_APK) as z:
        assert z.read("assets/model.tflite") == p.tflite.read_bytes()
    with zipfile.ZipFile(folder / TEST_APK) as z:
        golden = out / "android" / "app" / "src" / "androidTest" / "assets" / "golden"
        assert z.read("assets/golden/golden.bin") == (golden / "golden.bin").read_bytes()
    print(
        f"\napk detector: app {app['bytes']} B, test {test['bytes']} B, {apk['seconds']:.0f} s, "
        f"steps {apk['steps']}"
    )

    # The source check reads the real dex: a Kotlin file the APKs were not built from is
    # reported missing from them.
    extra = out / "android" / "app" / "src" / "androidTest" / "java" / "Extra.kt"
    extra.write_text("package dev.nowhere\n\nobject Extra\n", encoding="utf-8")
    tools = tk.find()
    work = tmp_path / "dump"
    work.mkdir()
    app_dex, _ = va._dex_classes(tools, folder / APP_APK, work)
    test_dex, _ = va._dex_classes(tools, folder / TEST_APK, work)
    assert f"{p.package}.{p.class_name}".replace(".", "/") in app_dex
    assert f"{p.package}.GoldenVectors".replace(".", "/") in test_dex
    problems = va._judge_sources(
        out / "android" / "app", app_dex, test_dex, folder / APP_APK, folder / TEST_APK
    )
    assert problems == [f"{TEST_APK}: class dev.nowhere.Extra (from src/androidTest) is not in its dex"]


def test_broken_detector_app_fails_apk(
    apk_tools, packaged: dict[str, Packaged], tmp_path: Path  # noqa: F811
) -> None:
    out = tmp_path / "broken"
    shutil.copytree(packaged["int8"].out, out)
    manifest = out / "android" / "app" / "src" / "main" / "AndroidManifest.xml"
    text = manifest.read_text(encoding="utf-8")
    assert "@string/app_name" in text
    manifest.write_text(text.replace("@string/app_name", "@string/no_such_name"), encoding="utf-8")
    code, obj = _verify(out, "--apk")
    assert code == 3 and _status(obj)[("apk", "apk")] == "failed"
    problems = " ".join(obj["apk"]["problems"])
    assert "aapt2 link rejected the app" in problems and "no_such_name" in problems, problems
    assert obj["apk"]["app"] is None
