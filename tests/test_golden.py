"""Golden vectors (tier 1): what ``package --target android`` writes, and ``verify`` re-running
them through the Python preprocessing and LiteRT on the host.

The JVM consumes the same files in ``tests/test_codegen_kotlin.py`` (tier 3); the device
orchestration is in ``tests/test_verify_device.py``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from edgesdk.verify import golden as gv
from edgesdk.verify.tolerance import output_steps

from .helpers import report, run_cli

GOLDEN = Path("android") / gv.ANDROID_ASSET_DIR


def _package(out: Path, model: Path, *extra: object) -> Path:
    res = run_cli("package", model, "-o", out, "--target", "android", *extra)
    assert res.exit_code == 0, res.stderr
    return out


@pytest.fixture(scope="module")
def out_float(cnn_h5, tmp_path_factory) -> Path:
    """Float32 RGB 16x16 model, no data: generated golden images."""
    return _package(tmp_path_factory.mktemp("g") / "out", cnn_h5)


@pytest.fixture(scope="module")
def out_int8(trained_h5, shapes_npz, tmp_path_factory) -> Path:
    """int8 model calibrated on a 16x16 .npz: golden cases from the calibration data."""
    return _package(
        tmp_path_factory.mktemp("g") / "out", trained_h5,
        "--quantize", "int8", "--calibration-data", shapes_npz,
    )  # fmt: skip


@pytest.fixture(scope="module")
def out_eval_folder(trained_h5, shapes_folder, tmp_path_factory) -> Path:
    """Evaluation data as a folder of 20x20 PNGs: golden cases keep that size."""
    return _package(
        tmp_path_factory.mktemp("g") / "out", trained_h5, "--eval-data", shapes_folder,
        "--golden-cases", 8,
    )  # fmt: skip


@pytest.fixture(scope="module")
def out_gray(gray_h5, tmp_path_factory) -> Path:
    return _package(tmp_path_factory.mktemp("g") / "out", gray_h5)


# ------------------------------------------------------------------------------ package


def test_package_writes_golden_vectors_into_the_android_test_assets(out_float: Path) -> None:
    folder = out_float / GOLDEN
    assert sorted(p.name for p in folder.iterdir()) == ["golden.bin", "golden.json"]
    rep = report(out_float)
    assert rep["golden"]["cases"] == 16 and rep["golden"]["source"] == "generated"
    assert rep["golden"]["bytes"] == gv.golden_bytes(folder)
    assert str(GOLDEN / "golden.bin") in rep["files"]
    g = gv.read_golden(folder)
    assert g.model_sha256 == hashlib.sha256((out_float / "model.tflite").read_bytes()).hexdigest()
    assert g.input_size == (16, 16, 3) and g.num_classes == 3 and g.quantization == "none"
    sizes = {(c.height, c.width) for c in g.cases}
    assert len(sizes) > 8, sizes  # varied, so several resize ratios run on the device
    for c in g.cases:  # generated images never have the model's size, and are not square
        assert (c.height, c.width) != (16, 16) and c.height != c.width
        assert c.channels == 3 and c.label is None and c.origin.startswith("generated")
        assert c.tolerance == pytest.approx(1e-4) and c.output == c.scores_array().tobytes()
    assert any(c.height > 16 for c in g.cases) and any(c.height < 16 for c in g.cases)


def test_golden_from_calibration_data_has_same_size_and_resized_cases(out_int8: Path) -> None:
    g = gv.read_golden(out_int8 / GOLDEN)
    assert g.source == "calibration_data" and g.output.dtype == "int8"
    same = [c for c in g.cases if (c.height, c.width) == (16, 16)]
    other = [c for c in g.cases if (c.height, c.width) != (16, 16)]
    assert len(same) == 8 and len(other) == 8  # every other case is given another size
    step = np.float32(g.output.scale * output_steps("int8") * 1.001)
    assert output_steps("int8") >= 5  # XNNPACK and built-in int8 kernels were 5 steps apart
    for c in g.cases:
        assert c.tolerance == step  # output quantization steps, from the measured spread
        raw = np.frombuffer(c.output, np.int8)
        deq = (raw.astype(np.float32) - g.output.zero_point) * np.float32(g.output.scale)
        np.testing.assert_array_equal(c.scores_array(), deq.astype(np.float32))
        assert c.top1 == int(np.argmax(c.scores_array()))
        assert c.label is not None and c.origin.startswith("shapes.npz:x[")


def test_golden_from_an_eval_folder_keeps_the_original_size(out_eval_folder: Path) -> None:
    g = gv.read_golden(out_eval_folder / GOLDEN)
    assert g.source == "eval_data" and len(g.cases) == 8
    assert {(c.height, c.width) for c in g.cases} == {(20, 20)}
    assert sorted({c.label for c in g.cases}) == [0, 1, 2, 3]  # spread over every class
    assert all(c.origin.endswith(".png") for c in g.cases)


def test_gray_model_gets_rgb_pixels_and_python_applies_the_pillow_formula(out_gray: Path) -> None:
    from PIL import Image

    from edgesdk.preprocess import prepare_input

    g = gv.read_golden(out_gray / GOLDEN)
    assert g.input_size == (12, 10, 1)
    case = g.cases[0]
    assert case.channels == 3
    gray = np.asarray(Image.fromarray(case.pixel_array(), "RGB").convert("L"))[..., None]
    tensor = prepare_input(gray, height=12, width=10, mean=g.mean, std=g.std)
    assert hashlib.sha256(tensor.astype("<f4").tobytes()).hexdigest() == case.input_sha256


def test_golden_cases_option(cnn_h5, tmp_path: Path) -> None:
    out = _package(tmp_path / "three", cnn_h5, "--golden-cases", 3)
    assert len(gv.read_golden(out / GOLDEN).cases) == 3
    none = _package(tmp_path / "none", cnn_h5, "--golden-cases", 0)
    assert not (none / GOLDEN).exists() and "golden" not in report(none)
    # the instrumented test is generated all the same; it reports the missing vectors itself
    assert list((none / "android/app/src/androidTest/java").rglob("GoldenInstrumentation.kt"))


# ------------------------------------------------------------------------------- format


def test_files_are_deterministic_and_round_trip(out_float: Path) -> None:
    from edgesdk.verify.host import TFLiteRunner

    folder = out_float / GOLDEN
    g = gv.read_golden(folder)
    blob, index = gv.encode(g)
    assert blob == (folder / "golden.bin").read_bytes()
    assert index == (folder / "golden.json").read_bytes()
    model = (out_float / "model.tflite").read_bytes()
    samples = gv.generated_samples(16, 16, 16)
    again = gv.build_golden(
        model, samples, mean=g.mean, std=g.std, quantization="none", source="generated",
        runner=TFLiteRunner(model),
    )  # fmt: skip
    assert gv.encode(again) == (blob, index)


def test_binary_layout(out_int8: Path) -> None:
    """The layout the Kotlin reader relies on: header, 76-byte records, 4-byte aligned data."""
    blob = (out_int8 / GOLDEN / "golden.bin").read_bytes()
    magic, version, n, classes = struct.unpack_from("<4sIII", blob)
    assert (magic, version, n, classes) == (b"EDGG", 1, 16, 4)
    index = json.loads((out_int8 / GOLDEN / "golden.json").read_text())
    for i, entry in enumerate(index["cases"]):
        w, h, ch, top1, tol, *offsets = struct.unpack_from("<IIIifIIIIII", blob, 16 + 76 * i)
        assert (w, h, ch, top1) == (entry["width"], entry["height"], 3, entry["top1"])
        assert offsets == entry["pixels"] + entry["output"] + entry["scores"]
        assert all(off % 4 == 0 for off in offsets[::2])
        assert offsets[3] == classes and offsets[5] == 4 * classes  # int8 raw, float32 scores


@pytest.mark.slow
def test_sixteen_cases_of_a_224_model_fit_in_256_kb(keras2, tmp_path: Path) -> None:
    k = keras2
    k.utils.set_random_seed(0)
    m = k.Sequential(
        [
            k.layers.Input((224, 224, 3)),
            k.layers.Rescaling(1 / 255.0),
            k.layers.Conv2D(8, 3, strides=8, activation="relu"),
            k.layers.GlobalAveragePooling2D(),
            k.layers.Dense(1000, activation="softmax"),
        ]
    )
    m.save(tmp_path / "m224.h5")
    out = _package(tmp_path / "out", tmp_path / "m224.h5")
    size = gv.golden_bytes(out / GOLDEN)
    g = gv.read_golden(out / GOLDEN)
    assert len(g.cases) == 16 and g.num_classes == 1000
    assert all(c.width * c.height <= gv.MAX_PIXELS for c in g.cases)
    assert size <= 256 * 1024, size
    print(f"\ngolden files, 16 cases, 224x224x3 float32 model, 1000 classes: {size:,} bytes")


def test_damaged_files_are_refused(out_float: Path, tmp_path: Path) -> None:
    folder = tmp_path / "golden"
    shutil.copytree(out_float / GOLDEN, folder)
    data = bytearray((folder / "golden.bin").read_bytes())
    data[-1] ^= 0xFF
    (folder / "golden.bin").write_bytes(bytes(data))
    with pytest.raises(gv.VerificationError, match="damaged"):
        gv.read_golden(folder)


# -------------------------------------------------------------------------------- check


def _case(scores: list[float], tolerance: float) -> gv.GoldenCase:
    s = np.asarray(scores, np.float32)
    top1, margin = gv.top1_of(s)
    return gv.GoldenCase(
        index=0, width=1, height=1, channels=3, pixels=b"\0\0\0", input_sha256="00" * 32,
        output=s.tobytes(), scores=tuple(float(v) for v in s), top1=top1, top1_margin=margin,
        tolerance=tolerance,
    )  # fmt: skip


def test_compare_case_rules() -> None:
    case = _case([0.1, 0.45, 0.45005, 0.0], 1e-4)
    assert case.top1 == 2
    # top-1 flipped inside a near-tie of the reference: passes
    assert gv.compare_case(case, np.array([0.1, 0.45004, 0.45003, 0.0])).passed
    flipped = gv.compare_case(case, np.array([0.1, 0.46, 0.45, 0.0]))
    assert (
        not flipped.passed
        and flipped.top1_got == 1
        and flipped.max_abs_diff == pytest.approx(0.01, rel=1e-4)
    )
    assert not gv.compare_case(case, np.array([0.1, np.nan, 0.45, 0.0])).passed
    assert gv.compare_case(case, np.array([0.1, np.nan, 0.45, 0.0])).max_abs_diff is None
    assert not gv.compare_case(case, np.array([0.1, 0.45])).passed  # wrong length
    assert not gv.compare_case(case, case.scores_array(), input_sha256="11" * 32).passed
    exact = gv.compare_case(case, case.scores_array(), input_sha256="00" * 32)
    assert exact.passed and exact.max_abs_diff == 0.0 and exact.input_match is True


# ------------------------------------------------------------------------------- verify


def test_verify_runs_the_golden_vectors_and_names_every_tier(out_int8: Path) -> None:
    res = run_cli("verify", out_int8, "--json")
    assert res.exit_code == 0, res.stderr
    obj = json.loads(res.stdout)
    assert obj["passed"] is True and obj["tier"] == "host"  # host parity stays at the top level
    assert obj["golden"]["tier"] == "host" and obj["golden"]["passed"] is True
    assert len(obj["golden"]["cases"]) == 16 and obj["golden"]["model_matches"] is True
    assert all(c["max_abs_diff"] == 0.0 and c["input_match"] for c in obj["golden"]["cases"])
    assert obj["device"]["tier"] == "device" and obj["device"]["status"] == "not_run"
    assert obj["device"]["ran"] is False and obj["device"]["cases"] == []
    assert [(c["check"], c["tier"], c["status"]) for c in obj["checks"]] == [
        ("host_parity", "host", "passed"),
        ("golden", "host", "passed"),
        ("golden", "device", "not_run"),
        ("golden_gpu", "device", "not_run"),
        ("golden", "android_host", "not_run"),
    ]


def test_verify_prints_a_table_and_says_the_device_did_not_run(out_float: Path) -> None:
    res = run_cli("verify", out_float)
    assert res.exit_code == 0, res.stderr
    text = res.stderr
    assert "Golden vectors on the host (tier 1) PASSED: 16/16" in text
    assert "Golden cases, host (tier 1)" in text
    assert "On device (tier 4) not run" in text
    assert "device (tier 4) PASSED" not in text


def _tamper(out: Path, dest: Path, case: int, delta: float) -> Path:
    """Copy ``out`` and shift one stored reference score (keeping the files consistent)."""
    shutil.copytree(out, dest)
    folder = dest / GOLDEN
    index = json.loads((folder / "golden.json").read_text())
    data = bytearray((folder / "golden.bin").read_bytes())
    offset = index["cases"][case]["scores"][0]
    (value,) = struct.unpack_from("<f", data, offset)
    struct.pack_into("<f", data, offset, value + delta)
    index["data"]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (folder / "golden.bin").write_bytes(bytes(data))
    (folder / "golden.json").write_text(json.dumps(index))
    return dest


def test_verify_exits_3_with_the_failing_case(out_float: Path, tmp_path: Path) -> None:
    out = _tamper(out_float, tmp_path / "out", case=5, delta=0.01)
    res = run_cli("verify", out, "--json")
    assert res.exit_code == 3, res.stderr
    obj = json.loads(res.stdout)
    assert obj["passed"] is False and obj["host_parity_passed"] is True
    assert obj["golden"]["failing_cases"] == [5]
    bad = obj["golden"]["cases"][5]
    assert bad["passed"] is False and bad["max_abs_diff"] == pytest.approx(0.01, rel=1e-3)
    human = run_cli("verify", out)
    assert human.exit_code == 3 and "FAILED: 15/16 cases" in human.stderr


def test_verify_exits_3_when_the_files_are_damaged(out_float: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(out_float, out)
    blob = out / GOLDEN / "golden.bin"
    blob.write_bytes(blob.read_bytes()[:-4] + b"\1\2\3\4")
    res = run_cli("verify", out)
    assert res.exit_code == 3 and "damaged" in res.stderr and "Traceback" not in res.stderr


def test_golden_of_another_model_fails(out_float: Path, out_int8: Path) -> None:
    result = gv.verify_golden(out_float / GOLDEN, (out_int8 / "model.tflite").read_bytes(), "int8")
    assert not result.passed and not result.model_matches
    assert "made for the model" in result.problems[0]


def test_verify_without_the_keras_model_skips_parity_and_says_so(
    out_float: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(out_float, out)
    rep = report(out)
    rep["model"]["source"] = str(tmp_path / "gone.h5")
    (out / "report.json").write_text(json.dumps(rep))
    res = run_cli("verify", out, "--json")
    assert res.exit_code == 0, res.stderr
    obj = json.loads(res.stdout)
    assert obj["host_parity"]["status"] == "skipped" and "gone.h5" in obj["host_parity"]["reason"]
    assert obj["checks"][0] == {
        "check": "host_parity", "tier": "host", "status": "skipped",
        "reason": obj["host_parity"]["reason"],
    }  # fmt: skip
    assert obj["golden"]["passed"] is True and "samples" not in obj  # no host-parity fields


def test_split_modules_keep_every_name_importable_from_golden() -> None:
    import importlib

    mod = importlib.import_module("edgesdk.verify.golden")
    for name in (*mod.__all__, "ANDROID_ASSET_DIR", "DATA_NAME", "INDEX_NAME", "MAX_PIXELS",
                 "DEFAULT_CASES", "FORMAT", "VERSION", "MAGIC", "top1_of", "tolerance_basis"):  # fmt: skip
        assert hasattr(mod, name), name
    assert mod.read_golden.__module__ == "edgesdk.verify.golden_format"
    assert mod.compare_case.__module__ == "edgesdk.verify.golden_check"
    assert mod.build_golden.__module__ == "edgesdk.verify.golden_build"
