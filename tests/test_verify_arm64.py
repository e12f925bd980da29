"""Tier ``arm64``: the golden inputs through aarch64 LiteRT under qemu-user, XNNPACK on.

Real runs: the Debian arm64 root with the aarch64 ``ai-edge-litert`` wheel is installed (once,
cached) by :func:`edgesdk.toolchain.arm64.ensure`; every ``verify --arm64`` is one emulated
process for all golden cases.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edgesdk.toolchain import _host
from edgesdk.toolchain import arm64 as tc

from .helpers import run_cli

pytestmark = [pytest.mark.toolchain, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
ASSET = Path("android", "app", "src", "main", "assets", "model.tflite")


@pytest.fixture(scope="session")
def arm64_root() -> Path:
    # No try/except: a root that cannot be installed is a test failure.
    tc.ensure(_host.default_dir(), print)
    return tc.root_dir(_host.default_dir())


def _package(out: Path, model: Path, *extra: object) -> Path:
    res = run_cli("package", model, "-o", out, "--target", "android", *extra)
    assert res.exit_code == 0, res.stderr
    return out


@pytest.fixture(scope="module")
def out_int8(trained_h5, shapes_npz, tmp_path_factory) -> Path:
    return _package(
        tmp_path_factory.mktemp("a") / "out", trained_h5, "--quantize", "int8",
        "--calibration-data", shapes_npz, "--golden-cases", 8,
    )  # fmt: skip


def demo_out(dest: Path) -> Path:
    """The committed demo app (android_sample/) as a package folder."""
    shutil.copytree(ROOT / "android_sample", dest / "android")
    shutil.copyfile(dest / ASSET, dest / "model.tflite")
    return dest


def _verify(out: Path, *args: str) -> tuple[int, dict]:
    res = run_cli("verify", out, "--arm64", "--json", *args)
    assert "Traceback" not in res.stderr, res.stderr
    return res.exit_code, json.loads(res.stdout)


def _check(obj: dict, tier: str) -> dict:
    return next(c for c in obj["checks"] if c["tier"] == tier)


def test_int8_model_is_within_one_lsb_on_arm64(arm64_root, out_int8) -> None:
    code, obj = _verify(out_int8)
    arm = obj["arm64"]
    assert code == 0, arm
    assert _check(obj, "arm64")["status"] == "passed"
    assert arm["machine"] == "aarch64" and arm["xnnpack"] is True, arm
    assert arm["cpu"] == tc.DEFAULT_CPU and arm["output_dtype"] == "int8"
    assert arm["max_lsb_diff"] is not None and arm["max_lsb_diff"] <= 1
    assert len(arm["cases"]) == 8 and all(c["input_match"] for c in arm["cases"])


def test_demo_app_passes_on_arm64(arm64_root, tmp_path) -> None:
    code, obj = _verify(demo_out(tmp_path / "demo"))
    arm = obj["arm64"]
    assert code == 0, arm
    assert arm["output_dtype"] == "float32" and arm["max_lsb_diff"] is None
    assert len(arm["cases"]) == 16 and all(c["passed"] for c in arm["cases"])
    # Real ARM kernels ran: float results are close to, not bit-identical with, x86's.
    assert max(c["max_abs_diff"] for c in arm["cases"]) <= min(c["tolerance"] for c in arm["cases"])


def test_other_weights_fail_on_arm64(arm64_root, keras2, out_int8, shapes_npz, tmp_path) -> None:
    """Same tensor shapes and types, other weights in the app's assets: exit 3."""
    from .conftest import _tiny_cnn

    other = tmp_path / "other.h5"
    _tiny_cnn(keras2, shape=(16, 16, 3), classes=4, seed=7).save(other)
    _package(tmp_path / "other", other, "--quantize", "int8", "--calibration-data", shapes_npz)
    out = tmp_path / "swapped"
    shutil.copytree(out_int8, out)
    shutil.copyfile(tmp_path / "other" / "model.tflite", out / ASSET)
    code, obj = _verify(out)
    assert code == 3
    assert _check(obj, "arm64")["status"] == "failed"
    assert obj["arm64"]["failing_cases"], obj["arm64"]
    assert obj["arm64"]["machine"] == "aarch64"
    assert any("SHA-256" in p for p in obj["arm64"]["problems"])


def test_missing_root_is_exit_4(out_int8, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EDGESDK_TOOLCHAIN_DIR", str(tmp_path / "empty"))
    res = run_cli("verify", out_int8, "--arm64", "--json")
    assert res.exit_code == 4, res.stdout + res.stderr
    obj = json.loads(res.stdout)
    check = _check(obj, "arm64")
    assert check["status"] == "environment_error"
    assert "edgesdk toolchain install" in check["reason"] and "arm64" in check["reason"]


def test_cpuinfo_describes_the_emulated_core() -> None:
    text = tc.cpuinfo("cortex-a53", 2)
    assert text.count("processor\t:") == 2
    assert "CPU implementer\t: 0x41" in text and "CPU part\t: 0xd03" in text
    with pytest.raises(KeyError):
        tc.cpuinfo("pentium", 1)


def test_status_names_what_is_installed_and_what_is_missing(arm64_root, tmp_path) -> None:
    st = tc.status(_host.default_dir())
    assert st["installed"] and st["missing"] == [] and st["root"]["ai-edge-litert"] == "2.3.0"
    assert (arm64_root / "READY").is_file()
    empty = tc.status(tmp_path)
    assert empty["installed"] is False and empty["missing"] == ["root"]
