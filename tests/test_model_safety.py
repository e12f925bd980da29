"""Models that carry code are refused before anything of them runs, unless trusted."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.model_safety import UntrustedModelError, check_model, scan_model, unsafe_ops
from edgesdk.models import detect_framework

from .helpers import assert_nothing_written, assert_user_error, run_cli


def _marker_lambda(marker):
    # The path is a constant of the function's own code, so it survives marshalling.
    return eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")  # noqa: S307


@pytest.fixture(scope="module")
def lambda_h5(keras2, tmp_path_factory):
    """A legacy .h5 whose Lambda layer creates ``marker`` when the model is built."""
    folder = tmp_path_factory.mktemp("evil")
    marker = folder / "pwned"
    k = keras2
    model = k.Sequential([
        k.layers.Input((8, 8, 3)), k.layers.Rescaling(1 / 255.0),
        k.layers.Lambda(_marker_lambda(marker)), k.layers.GlobalAveragePooling2D(),
        k.layers.Dense(3, activation="softmax"),
    ])  # fmt: skip
    path = folder / "evil.h5"
    model.save(path)
    marker.unlink(missing_ok=True)  # building the model above ran it once
    return path, marker


@pytest.fixture(scope="module")
def lambda_keras3(keras3, tmp_path_factory):
    k = keras3
    inp = k.Input((4,))
    out = k.layers.Dense(2)(k.layers.Lambda(lambda t: t * 2.0)(inp))
    path = tmp_path_factory.mktemp("evil3") / "lam.keras"
    k.Model(inp, out).save(path)
    return path


@pytest.fixture(scope="module")
def custom_layer_h5(keras2, tmp_path_factory):
    k = keras2

    class Doubler(k.layers.Layer):
        def call(self, x):
            return x * 2.0

    model = k.Sequential([k.layers.Input((4,)), Doubler(), k.layers.Dense(2)])
    path = tmp_path_factory.mktemp("custom") / "custom.h5"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def write_file_saved_model(tmp_path_factory):
    from edgesdk import _tf

    tf = _tf.tf()
    folder = tmp_path_factory.mktemp("sm")
    marker = folder / "written.txt"

    class M(tf.Module):
        def __init__(self):
            self.w = tf.Variable(tf.ones((4, 2)))

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def serve(self, x):
            tf.io.write_file(str(marker), "x")
            return {"y": tf.matmul(x, self.w)}

    m = M()
    path = folder / "evil_sm"
    tf.saved_model.save(m, str(path), signatures={"serving_default": m.serve})
    return path


def test_lambda_h5_is_refused_and_runs_nothing(lambda_h5, tmp_path):
    path, marker = lambda_h5
    marker.unlink(missing_ok=True)
    out = tmp_path / "out"
    res = run_cli("package", path, "--target", "none", "-o", out)
    assert_user_error(
        res, "Lambda", "layers[2]", "'lambda'", "can run on this machine", "--trust-model",
        "trust_model=True",
    )  # fmt: skip
    assert not marker.exists()
    assert_nothing_written(out)


def test_trusted_lambda_h5_loads_as_before(lambda_h5, tmp_path):
    path, marker = lambda_h5
    out = tmp_path / "out"
    res = run_cli("package", path, "--target", "none", "-o", out, "--trust-model")
    assert res.exit_code == 0, res.stderr
    assert marker.exists()  # the code ran: that is what trusting means
    assert (out / "model.tflite").is_file()


def test_keras3_lambda_is_refused_and_trusted_with_safe_mode_off(lambda_keras3, tmp_path):
    res = run_cli("package", lambda_keras3, "--target", "none", "-o", tmp_path / "a")
    assert_user_error(res, "Lambda", "__lambda__", "config.json", "--trust-model")
    assert_nothing_written(tmp_path / "a")
    res = run_cli("package", lambda_keras3, "--target", "none", "-o", tmp_path / "b",
                  "--trust-model")  # fmt: skip
    assert res.exit_code == 0, res.stderr


def test_custom_object_is_refused(custom_layer_h5):
    with pytest.raises(UntrustedModelError) as err:
        check_model(custom_layer_h5, trust_model=False)
    assert "custom object" in str(err.value) and "Doubler" in str(err.value)


def test_saved_model_with_write_file_is_refused(write_file_saved_model, tmp_path):
    res = run_cli("package", write_file_saved_model, "--target", "none", "-o", tmp_path / "o")
    assert_user_error(res, "WriteFile", "function", "__inference_serve", "--trust-model")
    assert not (write_file_saved_model.parent / "written.txt").exists()
    assert_nothing_written(tmp_path / "o")


def test_verify_reference_and_compress_check_too(
    lambda_h5, cnn_h5, trained_h5, shapes_npz, tmp_path
):
    path, marker = lambda_h5
    marker.unlink(missing_ok=True)  # a trusted run elsewhere may have made it
    out = tmp_path / "out"
    assert run_cli("package", cnn_h5, "--target", "none", "-o", out).exit_code == 0
    res = run_cli("verify", out / "model.tflite", "--reference", path)
    assert_user_error(res, "Lambda", "--trust-model")
    res = run_cli("compress", path, "--prune", "0.5", "--data", shapes_npz, "-o",
                  tmp_path / "c.h5")  # fmt: skip
    assert_user_error(res, "Lambda", "--trust-model")
    res = run_cli("compress", trained_h5, "--distill-from", path, "--data", shapes_npz, "-o",
                  tmp_path / "d.h5", "--epochs", "1")  # fmt: skip
    assert_user_error(res, "Lambda", "--trust-model")
    assert not marker.exists()
    assert not (tmp_path / "c.h5").exists() and not (tmp_path / "d.h5").exists()


def test_ordinary_models_have_no_findings(
    cnn_h5, keras3_keras, keras3_h5, saved_model_dir, trained_h5, features_h5
):
    for path in (cnn_h5, keras3_keras, keras3_h5, saved_model_dir, trained_h5, features_h5):
        assert scan_model(path, detect_framework(path)) == [], path


def test_qat_model_is_not_a_custom_object(keras2, tmp_path):
    import tensorflow_model_optimization as tfmot

    k = keras2
    base = k.Sequential([k.layers.Input((8, 8, 3)), k.layers.Conv2D(2, 3),
                         k.layers.Flatten(), k.layers.Dense(2)])  # fmt: skip
    q = tfmot.quantization.keras.quantize_model(base)
    path = tmp_path / "qat.h5"
    q.save(path)
    assert scan_model(path, "tf_keras") == []


def test_unsafe_ops_come_from_the_registry():
    ops = unsafe_ops()
    for name in ("WriteFile", "ReadFile", "MatchingFiles", "MergeV2Checkpoints", "SaveV2",
                 "RestoreV2", "PyFunc", "EagerPyFunc", "PrintV2", "ImmutableConst",
                 "TFRecordDataset", "InitializeTableFromTextFileV2", "DecodeProtoV2"):  # fmt: skip
        assert name in ops, name
    for name in ("Conv2D", "MatMul", "Relu", "Softmax", "ReadVariableOp", "VarHandleOp",
                 "StatefulPartitionedCall", "Placeholder", "Identity", "Const"):  # fmt: skip
        assert name not in ops, name


def test_tf_op_lambda_file_call_is_refused(keras2, tmp_path):
    from edgesdk import _tf

    tf = _tf.tf()
    k = keras2
    x = k.Input((4,))
    y = tf.math.add(x, 1.0)
    ok = tmp_path / "ok.h5"
    k.Model(x, y).save(ok)
    assert scan_model(ok, "tf_keras") == []
    import h5py

    with h5py.File(ok, "r+") as f:  # the config a hostile file would carry
        f.attrs["model_config"] = f.attrs["model_config"].replace("math.add", "io.write_file")
    findings = scan_model(ok, "tf_keras")
    assert [f.name for f in findings] == ["tf.io.write_file"]
    assert np.all([f.kind == "TensorFlow call" for f in findings])
