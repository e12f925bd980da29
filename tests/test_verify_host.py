"""`edgesdk verify` tier 1 (host parity): passes on faithful models, exit 3 otherwise."""

from __future__ import annotations

import json

import pytest

from .helpers import assert_user_error, run_cli


@pytest.fixture(scope="module")
def packaged_int8(trained_h5, shapes_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("v") / "out"
    res = run_cli(
        "package",
        trained_h5,
        "-o",
        out,
        "--quantize",
        "int8",
        "--calibration-data",
        shapes_npz,
        "--target",
        "none",
    )
    assert res.exit_code == 0, res.stderr
    return out


def test_verify_output_folder_uses_recorded_reference(packaged_int8, shapes_eval_npz):
    res = run_cli("verify", packaged_int8, "--data", shapes_eval_npz, "--json")
    assert res.exit_code == 0, res.stderr
    obj = json.loads(res.stdout)
    assert obj["tier"] == "host" and obj["passed"] is True and obj["quantization"] == "int8"
    assert obj["samples"] == 100 and obj["top1_agreement"] >= 0.97
    assert obj["tolerance"]["min_agreement"] == 0.97


def test_verify_float_tflite_with_explicit_reference(cnn_h5, tmp_path):
    out = tmp_path / "out"
    assert run_cli("package", cnn_h5, "-o", out, "--target", "none").exit_code == 0
    res = run_cli("verify", out / "model.tflite", "--reference", cnn_h5)
    assert res.exit_code == 0, res.stderr
    assert "PASSED" in res.stderr and "tier 1" in res.stderr


def test_verify_against_the_wrong_reference_exits_3_with_cases(
    cnn_h5, cnn_no_rescaling_h5, tmp_path
):
    out = tmp_path / "out"
    assert run_cli("package", cnn_h5, "-o", out, "--target", "none").exit_code == 0
    res = run_cli("verify", out / "model.tflite", "--reference", cnn_no_rescaling_h5, "--json")
    assert res.exit_code == 3
    obj = json.loads(res.stdout)
    assert obj["passed"] is False and obj["max_abs_diff"] > 1e-4 and obj["failing_cases"]


def test_verify_tflite_without_reference_is_a_user_error(cnn_h5, tmp_path):
    out = tmp_path / "out"
    assert run_cli("package", cnn_h5, "-o", out, "--target", "none").exit_code == 0
    res = run_cli("verify", out / "model.tflite")
    assert_user_error(res, "needs the Keras model", "--reference")
