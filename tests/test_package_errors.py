"""Every user error of `edgesdk package`: exit 1, one clear message, nothing written."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import assert_nothing_written, assert_user_error, run_cli


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out"


def test_missing_model_file(tmp_path, out):
    res = run_cli("package", tmp_path / "nope.h5", "-o", out)
    assert_user_error(res, "does not exist", "Received:")
    assert_nothing_written(out)


def test_file_that_is_not_a_model(tmp_path, out):
    bad = tmp_path / "model.h5"
    bad.write_text("this is not a model")
    res = run_cli("package", bad, "-o", out)
    assert_user_error(res, "is not a model file", "Supported:", ".keras")
    assert_nothing_written(out)


def test_hdf5_without_model(tmp_path, out):
    import h5py

    p = tmp_path / "weights.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("w", data=np.zeros(3))
    res = run_cli("package", p, "-o", out)
    assert_user_error(res, "holds no Keras model", "save_weights")
    assert_nothing_written(out)


def test_tflite_given_as_model(tmp_path, out, cnn_h5):
    first = tmp_path / "first"
    assert run_cli("package", cnn_h5, "-o", first, "--target", "none").exit_code == 0
    res = run_cli("package", first / "model.tflite", "-o", out)
    assert_user_error(res, "already a TFLite model", "edgesdk inspect")
    assert_nothing_written(out)


def test_unsupported_folder(tmp_path, out):
    d = tmp_path / "notamodel"
    d.mkdir()
    (d / "x.txt").write_text("x")
    res = run_cli("package", d, "-o", out)
    assert_user_error(res, "not a SavedModel")
    assert_nothing_written(out)


def test_label_count_mismatch(cnn_h5, tmp_path, out):
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\n")
    res = run_cli("package", cnn_h5, "--labels", labels, "-o", out)
    assert_user_error(res, "number of labels does not match", "3 classes", "2 labels")
    assert_nothing_written(out)


def test_empty_labels_file(cnn_h5, tmp_path, out):
    labels = tmp_path / "labels.txt"
    labels.write_text("\n\n")
    res = run_cli("package", cnn_h5, "--labels", labels, "-o", out)
    assert_user_error(res, "is empty")
    assert_nothing_written(out)


def test_undecodable_labels_file(cnn_h5, tmp_path, out):
    labels = tmp_path / "labels.txt"
    labels.write_bytes(b"caf\xe9\ndog\nbird\n")
    res = run_cli("package", cnn_h5, "--labels", labels, "-o", out)
    assert_user_error(res, "not valid UTF-8", "offset 3")
    assert_nothing_written(out)


def test_mean_count_not_one_and_not_channels(cnn_h5, out):
    res = run_cli("package", cnn_h5, "--mean", "1", "--mean", "2", "--std", "1", "-o", out)
    assert_user_error(res, "--mean was given 2 times", "3 channels")
    assert_nothing_written(out)


@pytest.mark.parametrize(
    "std,fragment", [("0", "must not be 0"), ("nan", "finite"), ("inf", "finite")]
)
def test_bad_std(cnn_h5, out, std, fragment):
    res = run_cli("package", cnn_h5, "--mean", "0", "--std", std, "-o", out)
    assert_user_error(res, fragment)
    assert_nothing_written(out)


def test_int8_without_calibration(cnn_h5, out):
    res = run_cli("package", cnn_h5, "--quantize", "int8", "-o", out)
    assert_user_error(res, "int8 quantization needs calibration data", "--calibration-data")
    assert_nothing_written(out)


def test_calibration_data_of_wrong_shape(cnn_h5, tmp_path, out):
    p = tmp_path / "calib.npz"
    np.savez(p, x=np.zeros((5, 10), np.float32))
    res = run_cli("package", cnn_h5, "--quantize", "int8", "--calibration-data", p, "-o", out)
    assert_user_error(res, "does not fit the model's input", "(10,)", "(16, 16, 3)")
    assert_nothing_written(out)


def test_calibration_folder_without_images(cnn_h5, tmp_path, out):
    d = tmp_path / "calib"
    (d / "cat").mkdir(parents=True)
    (d / "cat" / "notes.txt").write_text("x")
    res = run_cli("package", cnn_h5, "--quantize", "int8", "--calibration-data", d, "-o", out)
    assert_user_error(res, "no images found")
    assert_nothing_written(out)


def test_unknown_quantization(cnn_h5, out):
    res = run_cli("package", cnn_h5, "--quantize", "int4", "-o", out)
    assert_user_error(res, "unknown quantization mode", "int4", "float16")


def test_existing_output_without_force(cnn_h5, out):
    out.mkdir()
    (out / "keep.txt").write_text("keep")
    res = run_cli("package", cnn_h5, "-o", out)
    assert_user_error(res, "already exists", "--force")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_output_that_cannot_be_written(cnn_h5, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = blocker / "out"
    res = run_cli("package", cnn_h5, "-o", out)
    assert_user_error(res, "cannot write the output folder")
    assert blocker.read_text() == "x"


def test_unsupported_ops_are_named(tmp_path, out):
    from edgesdk._tf import tf

    t = tf()

    class M(t.Module):
        @t.function(input_signature=[t.TensorSpec([None, 4], t.float32, name="x")])
        def __call__(self, x):
            return {"y": t.math.erfinv(x)}

    m = M()
    sm = tmp_path / "sm"
    t.saved_model.save(m, str(sm), signatures={"serving_default": m.__call__})
    res = run_cli("package", sm, "-o", out)
    assert_user_error(res, "cannot express", "Erfinv", "Replace those ops")
    assert_nothing_written(out)


@pytest.mark.parametrize(
    "option,value,fragment",
    [
        ("--class-name", "object", "object"),
        ("--class-name", "My Model", "My Model"),
        ("--android-package", "com.example.fun", "fun"),
        ("--android-package", "com..x", "com..x"),
        ("--android-package", 'com.example"; evil', "evil"),
    ],
)
def test_invalid_kotlin_names_are_refused_before_any_work(cnn_h5, out, option, value, fragment):
    res = run_cli("package", cnn_h5, option, value, "-o", out)
    assert_user_error(res, fragment)
    assert_nothing_written(out)
