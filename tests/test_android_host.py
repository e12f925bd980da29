"""Tier android_host: the generated app's own code on the host JVM (Robolectric, native
graphics, LiteRT's Android x86_64 library through the bionic compatibility library).

Real runs: kotlinc compiles the app as generated, Robolectric runs GoldenSuite, the real
``org.tensorflow.lite`` classes run the model. They need ``edgesdk toolchain install`` and fail
(never skip) without it; the missing-toolchain test points the cache at an empty folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgesdk.toolchain import COMPONENTS, component
from edgesdk.toolchain import android_host as tch
from edgesdk.verify import android_host as ah
from edgesdk.verify import golden as gv

from .helpers import assert_user_error, run_cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "android_sample"

pytestmark = [pytest.mark.toolchain]


@pytest.fixture(scope="module")
def host_tc() -> tch.HostToolchain:
    # No try/except: a toolchain that cannot be provisioned is a test failure.
    return tch.ensure()


@pytest.fixture(scope="module")
def out_float(cnn_h5, tmp_path_factory) -> Path:
    """Float32 RGB 16x16 model packaged for Android with 6 golden cases."""
    out = tmp_path_factory.mktemp("ah") / "out"
    res = run_cli(
        "package", cnn_h5, "-o", out, "--target", "android", "--golden-cases", "6",
        "--android-package", "dev.edgesdk.hosttest", "--class-name", "TinyClassifier",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return out


# ------------------------------------------------------------------------- the toolchain


def test_every_component_has_the_interface() -> None:
    for name in COMPONENTS:
        mod = component(name)
        assert callable(mod.ensure) and callable(mod.status), name


def test_status_of_an_empty_cache_names_every_piece_and_installs_nothing(tmp_path: Path) -> None:
    report = tch.status(tmp_path)
    assert report["installed"] is False
    assert "org.robolectric:robolectric:4.16" in report["pieces"]
    assert "org.robolectric:android-all-instrumented:14-robolectric-10818077-i7" in report["pieces"]
    assert not any(tmp_path.iterdir())


def test_toolchain_status_cli_on_an_empty_cache_exits_4_and_names_what_is_missing(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("EDGESDK_TOOLCHAIN_DIR", str(tmp_path / "empty"))
    res = run_cli("toolchain", "status", "android_host", "--json")
    assert res.exit_code == 4, res.stderr
    report = json.loads(res.stdout)
    comp = report["components"]["android_host"]
    assert comp["installed"] is False
    assert comp["pieces"]["org.robolectric:nativeruntime-dist-compat:1.0.18"]["installed"] is False
    assert "edgesdk toolchain install" in res.stderr
    res2 = run_cli("toolchain", "status", "nonsense")
    assert_user_error(res2, "unknown toolchain component", "android_host", code=1)


def test_toolchain_status_cli_lists_every_component_with_its_missing_pieces(
    tmp_path: Path, monkeypatch
) -> None:
    """All registered components (their status tables differ in shape) print and report JSON."""
    monkeypatch.setenv("EDGESDK_TOOLCHAIN_DIR", str(tmp_path / "empty"))
    res = run_cli("toolchain", "status")
    assert res.exit_code == 4, res.stderr
    assert "Traceback" not in res.stderr
    for name in COMPONENTS:
        assert f"{name}: incomplete" in res.stderr, res.stderr
    assert "missing root" in res.stderr and "missing r8" in res.stderr
    report = json.loads(run_cli("toolchain", "status", "--json").stdout)
    assert set(report["components"]) == set(COMPONENTS)
    empty = tmp_path / "empty"
    assert not empty.exists() or not any(empty.iterdir())  # status installs nothing


def test_every_robolectric_jar_is_pinned_by_sha256() -> None:
    names = {a.coordinate for a in tch.ROBOLECTRIC_ARTIFACTS}
    assert "org.robolectric:shadows-framework:4.16" in names
    for a in (*tch.ROBOLECTRIC_ARTIFACTS, tch.ANDROID_ALL_INSTRUMENTED, tch.NATIVE_RUNTIME):
        assert len(a.sha256) == 64 and int(a.sha256, 16) >= 0, a


def test_the_compat_table_covers_every_libc_import_of_the_jni_library(
    host_tc: tch.HostToolchain,
) -> None:
    """Every LIBC-versioned import of libtensorflowlite_jni.so is forwarded or adapted, and the
    forwarded ones are not also adapted (one definition each)."""
    readelf = shutil.which("readelf")
    assert readelf, "binutils' readelf is needed (it comes with the C compiler)"
    out = subprocess.run(
        [readelf, "--dyn-syms", "-W", str(host_tc.native_dir / "libtensorflowlite_jni.so")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    imports = {
        line.split()[7].split("@")[0]
        for line in out.splitlines()
        if " UND " in line and "@LIBC" in line
    }
    forwarded = set(tch.forwarded_symbols())
    adapted = set(tch.BIONIC_ADAPTED)
    assert len(imports) > 100
    assert imports <= forwarded | adapted, sorted(imports - forwarded - adapted)
    assert not forwarded & adapted


def test_the_compat_library_aligns_memalign_to_64_bytes(host_tc: tch.HostToolchain) -> None:
    """XNNPACK in the Android x86_64 library asks memalign for 32-byte blocks and its AVX-512
    kernels read them with 64-byte aligned loads (a random SIGSEGV with int8 models): the
    compat library's memalign and posix_memalign (bionic's, version LIBC) give 64."""
    import ctypes

    lib = ctypes.CDLL(str(host_tc.native_dir / "libc.so"))
    glibc = ctypes.CDLL(None)
    glibc.dlvsym.restype = ctypes.c_void_p
    glibc.dlvsym.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    glibc.free.argtypes = [ctypes.c_void_p]
    memalign = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t)(
        glibc.dlvsym(lib._handle, b"memalign", b"LIBC")
    )
    posix_memalign = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t, ctypes.c_size_t
    )(glibc.dlvsym(lib._handle, b"posix_memalign", b"LIBC"))
    blocks = [memalign(32, 40 + 8 * i) for i in range(64)]
    for i in range(64):
        out = ctypes.c_void_p()
        assert posix_memalign(ctypes.byref(out), 16, 24 + 8 * i) == 0
        blocks.append(out.value)
    assert all(b and b % 64 == 0 for b in blocks), [hex(b or 0) for b in blocks if (b or 1) % 64]
    big = memalign(4096, 100)
    assert big % 4096 == 0  # larger alignments stay glibc's
    out = ctypes.c_void_p()
    assert posix_memalign(ctypes.byref(out), 24, 8) != 0  # not a power of two: EINVAL, as glibc
    for b in (*blocks, big):
        glibc.free(b)


def _tiny_tflite(keras2, path: Path) -> np.ndarray:
    from edgesdk._tf import tf as tf_module

    tf = tf_module()
    keras2.utils.set_random_seed(3)
    model = keras2.Sequential(
        [keras2.layers.Input((6,)), keras2.layers.Dense(5, activation="tanh"), keras2.layers.Dense(3)]
    )
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    from ai_edge_litert.interpreter import Interpreter

    x = np.array([[0.5 if i % 2 == 0 else -0.25 for i in range(6)]], np.float32)
    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1)


@pytest.mark.slow
def test_compat_library_built_from_source_loads_the_jni_library_and_runs_a_model(
    host_tc: tch.HostToolchain, keras2, tmp_path: Path
) -> None:
    """Build the compatibility library afresh with cc, load LiteRT's Android library through
    it on a plain JVM, run a model: Python's numbers, XNNPACK on (and off when the reported
    SDK level is below 20, as on Android)."""
    native = tch.build_bionic_compat(
        tmp_path / "native", host_tc.native_dir / "libtensorflowlite_jni.so"
    )
    tc = tch.HostToolchain(
        host_tc.base, host_tc.aapt, host_tc.android_all, host_tc.robolectric,
        host_tc.native_runtime, native,
    )  # fmt: skip
    expected = _tiny_tflite(keras2, tmp_path / "tiny.tflite")
    proc = tch.run_probe(tc, tmp_path / "tiny.tflite", tmp_path / "probe")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("OUTPUT"))
    got = np.array([float(v) for v in line.split()[1:]], np.float32)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert "TfLiteXNNPackDelegate" in proc.stdout + proc.stderr

    os.environ["EDGESDK_ANDROID_SDK"] = "19"
    try:
        old = tch.run_probe(tc, tmp_path / "tiny.tflite", tmp_path / "probe19")
    finally:
        del os.environ["EDGESDK_ANDROID_SDK"]
    assert old.returncode == 0, old.stdout + old.stderr
    assert "TfLiteXNNPackDelegate" not in old.stdout + old.stderr


# ---------------------------------------------------------------------------- the tier


def test_missing_toolchain_exits_4_naming_the_install_command(
    out_float: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("EDGESDK_TOOLCHAIN_DIR", str(tmp_path / "empty"))
    res = run_cli("verify", out_float, "--android-host", "--json")
    assert_user_error(res, "android_host", "edgesdk toolchain install", code=4)
    assert res.stdout == ""


def test_android_host_needs_a_package_output(out_float: Path) -> None:
    res = run_cli("verify", out_float / "model.tflite", "--android-host")
    assert_user_error(res, "android_host", "output folder", code=1)


def test_a_compiled_model_app_gets_android_host_and_apk_as_not_run(
    cnn_h5, tmp_path: Path, monkeypatch
) -> None:
    """Tiers android_host and apk run the app on TFLite 2.16.1's Interpreter classes: for a
    compiled-model app they are not run (exit 4, naming the way to get them), never a build or
    parity failure, and no toolchain is looked up for them."""
    monkeypatch.setenv("EDGESDK_TOOLCHAIN_DIR", str(tmp_path / "empty"))
    out = tmp_path / "cm"
    res = run_cli(
        "package", cnn_h5, "-o", out, "--target", "android", "--golden-cases", "2",
        "--android-runtime", "compiled-model",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    res = run_cli("verify", out, "--android-host", "--apk", "--json")
    assert res.exit_code == 4, res.stderr
    d = json.loads(res.stdout)
    by_tier = {c["tier"]: c for c in d["checks"]}
    for tier in ("android_host", "apk"):
        entry = by_tier[tier]
        assert entry["status"] == "not_run", entry
        assert "compiled-model" in entry["reason"], entry
        assert "--android-runtime interpreter" in entry["reason"], entry
        assert d[tier]["status"] == "not_run"
    assert by_tier["host"]["status"] == "passed"  # the other tiers still ran
    human = run_cli("verify", out, "--android-host")
    assert human.exit_code == 4
    assert "Tier android_host NOT RUN" in human.stderr
    assert "--android-runtime interpreter" in " ".join(human.stderr.split())
    # without report.json the runtime is read from the generated wrapper
    (out / "report.json").unlink()
    res = run_cli("verify", out, "--android-host", "--json")
    assert res.exit_code == 4, res.stderr
    entry = next(c for c in json.loads(res.stdout)["checks"] if c["tier"] == "android_host")
    assert entry["status"] == "not_run" and "compiled-model" in entry["reason"], entry


@pytest.mark.slow
def test_android_host_passes_on_a_packaged_model_and_fails_on_other_weights(
    host_tc, out_float: Path, cnn_h5, tmp_path: Path
) -> None:
    res = run_cli("verify", out_float, "--android-host", "--json")
    assert res.exit_code == 0, res.stderr
    d = json.loads(res.stdout)
    assert {"check": "golden", "tier": "android_host", "status": "passed"} in d["checks"]
    run = d["android_host"]
    assert run["status"] == "passed" and run["expected_cases"] == 6
    assert [c["index"] for c in run["cases"]] == list(range(6))
    for c in run["cases"]:
        assert c["passed"] and c["input_match"] is True, c
        assert c["top1_got"] == c["top1_expected"] == c["bitmap_top1"], c
        assert c["max_abs_diff"] <= c["tolerance"] and c["latency_ms"] > 0, c
    assert run["runtime"]["xnnpack"] == "on"
    assert run["runtime"]["tflite"] == "2.16.1" and "not ART" in run["not_proven"]
    o = run["overhead"]
    assert o["interpreter_run_ms"] > 0 and o["classify_bitmap_ms"] > 0, o
    device = next(c for c in d["checks"] if c["tier"] == "device")
    assert device["status"] == "not_run"

    # Same tensor shapes, other weights, in the app's assets: the app's own code must fail.
    from edgesdk._tf import tf_keras

    other = tf_keras().models.load_model(cnn_h5)
    other.set_weights([w + 0.5 for w in other.get_weights()])
    other_h5 = tmp_path / "other.h5"
    other.save(other_h5)
    res2 = run_cli("package", other_h5, "-o", tmp_path / "other", "--target", "none")
    assert res2.exit_code == 0, res2.stderr
    swapped = tmp_path / "swapped"
    shutil.copytree(out_float, swapped)
    asset = swapped / "android" / "app" / "src" / "main" / "assets" / "model.tflite"
    asset.write_bytes((tmp_path / "other" / "model.tflite").read_bytes())
    before = len(list((swapped / "android" / ah.BUILD_DIR / "classes").rglob("*.class")))
    res3 = run_cli("verify", swapped, "--android-host", "--json")
    assert res3.exit_code == 3, res3.stderr
    d3 = json.loads(res3.stdout)
    assert {"check": "golden", "tier": "android_host", "status": "failed"} in d3["checks"]
    bad = d3["android_host"]
    assert bad["status"] == "failed" and bad["failing_cases"], bad
    assert any("another model" in p for p in bad["problems"]), bad["problems"]
    assert before > 0  # the copied build was reused: sources unchanged, only the asset moved


@pytest.mark.slow
def test_android_host_on_the_demo_app(host_tc, tmp_path: Path) -> None:
    """The committed demo app, as generated: every case runs through create(context),
    scores(pixels) and classify(bitmap), with Python's exact input tensor and top-1, and passes.

    The demo model is dynamic-range quantized: Android's TFLite 2.16.1 runs its weight-quantized
    kernels without XNNPACK while Python's references came from LiteRT with XNNPACK; the golden
    tolerance for dynamic models (measured kernel spread, ``edgesdk/verify/tolerance.py``)
    covers that difference."""
    app = tmp_path / "android_sample"
    shutil.copytree(SAMPLE, app, ignore=shutil.ignore_patterns("build"))
    run = ah.verify_android_host(app)
    golden = gv.read_golden(app / gv.ANDROID_ASSET_DIR)
    assert golden.quantization == "dynamic"
    assert len(run.cases) == len(golden.cases) == 16
    for c in run.cases:
        assert c.input_match is True, c
        assert c.top1_got == c.top1_expected == c.bitmap_top1, c
        assert c.max_abs_diff is not None and c.max_abs_diff <= c.tolerance, c
    assert run.status == "passed" and run.passed, run.problems
    assert not run.problems, run.problems
