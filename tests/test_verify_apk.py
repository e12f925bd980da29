"""Tier ``apk``: the debug and androidTest APKs assembled and signed without Gradle, checked
with ``aapt2 dump``, ``apksigner verify`` and ``dexdump`` (all real tools)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from edgesdk.toolchain import _host
from edgesdk.toolchain import apk as tk
from edgesdk.verify.apk import APK_DIR, APP_APK, TEST_APK, gradle_facts

from .helpers import run_cli
from .test_verify_arm64 import demo_out

pytestmark = [pytest.mark.toolchain, pytest.mark.slow]


@pytest.fixture(scope="session")
def apk_tools() -> None:
    # No try/except: tools that cannot be installed are a test failure.
    tk.ensure(_host.default_dir(), print)


@pytest.fixture(scope="module")
def out_small(cnn_h5, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("apk") / "out"
    res = run_cli("package", cnn_h5, "-o", out, "--target", "android", "--golden-cases", 4)
    assert res.exit_code == 0, res.stderr
    return out


def _verify(out: Path) -> tuple[int, dict, str]:
    res = run_cli("verify", out, "--apk", "--json")
    assert "Traceback" not in res.stderr, res.stderr
    return res.exit_code, json.loads(res.stdout), res.stderr


def _check(obj: dict) -> dict:
    return next(c for c in obj["checks"] if c["tier"] == "apk")


def _assert_built(out: Path, obj: dict, package: str) -> None:
    apk = obj["apk"]
    assert apk["passed"] and _check(obj)["status"] == "passed", apk["problems"]
    app, test = apk["app"], apk["test"]
    assert app["package"] == package and app["launchable_activity"] == f"{package}.MainActivity"
    assert app["min_sdk"] == "24" and app["target_sdk"] == "35"
    assert app["model_stored"] and app["model_aligned"]
    assert "v2" in app["signature"] and "v2" in test["signature"]
    assert any(lib.startswith("lib/arm64-v8a/") for lib in app["native_libs"])
    assert test["package"] == package + ".test"
    assert test["instrumentation"] == f"{package}.GoldenInstrumentation"
    assert test["target_package"] == package
    assert "Not Gradle's build" in apk["not_proven"]
    folder = out / "android" / APK_DIR
    assert sorted(p.name for p in folder.iterdir()) == sorted([APP_APK, TEST_APK])
    with zipfile.ZipFile(folder / APP_APK) as z:
        info = z.getinfo("assets/model.tflite")
        assert info.compress_type == zipfile.ZIP_STORED
        assert z.read(info) == (out / "model.tflite").read_bytes()
    with zipfile.ZipFile(folder / TEST_APK) as z:
        assert "assets/golden/golden.bin" in z.namelist()


def test_small_package_builds_signed_apks(apk_tools, out_small) -> None:
    code, obj, _ = _verify(out_small)
    assert code == 0, obj["apk"]
    package = gradle_facts(out_small / "android" / "app").application_id
    _assert_built(out_small, obj, package)


def test_demo_app_builds_signed_apks(apk_tools, tmp_path) -> None:
    out = demo_out(tmp_path / "demo")
    code, obj, _ = _verify(out)
    assert code == 0, obj["apk"]
    _assert_built(out, obj, "dev.edgesdk.demo.shapes")
    assert obj["apk"]["app"]["dex_files"] == 2  # the app's dex + the cached library dex


def test_broken_resource_fails_with_aapt2s_message(apk_tools, out_small, tmp_path) -> None:
    out = tmp_path / "broken"
    shutil.copytree(out_small, out)
    manifest = out / "android" / "app" / "src" / "main" / "AndroidManifest.xml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("@string/app_name", "@string/no_such_name"), encoding="utf-8")
    code, obj, _ = _verify(out)
    assert code == 3
    assert _check(obj)["status"] == "failed"
    problems = " ".join(obj["apk"]["problems"])
    assert "aapt2 link rejected the app" in problems and "no_such_name" in problems, problems
    assert obj["apk"]["app"] is None
    assert not (out / "android" / APK_DIR / APP_APK).exists()


def test_missing_tools_is_exit_4(out_small, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EDGESDK_TOOLCHAIN_DIR", str(tmp_path / "empty"))
    res = run_cli("verify", out_small, "--apk", "--json")
    assert res.exit_code == 4, res.stdout + res.stderr
    check = _check(json.loads(res.stdout))
    assert check["status"] == "environment_error"
    assert "edgesdk toolchain install" in check["reason"] and "r8" in check["reason"]


def test_status_names_what_is_installed_and_what_is_missing(apk_tools, tmp_path) -> None:
    st = tk.status(_host.default_dir())
    assert st["installed"] and st["missing"] == [] and st["versions"] == {"r8": "8.5.35"}
    empty = tk.status(tmp_path)
    assert empty["installed"] is False and set(empty["missing"]) == {"r8", "debug-key"}
