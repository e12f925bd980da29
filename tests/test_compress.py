"""``edgesdk compress`` / :func:`edgesdk.compress` with real TF-MOT on tiny models.

The base model is a small_cnn trained by ``edgesdk train`` on the synthetic colour
images of ``test_train`` (3 classes, 36 held-out images). Bounds: held-out accuracy
after compression >= 0.9 and no more than 0.05 below before; pruning to 0.5 leaves
>= 0.45 zeros in every kernel, in the saved file and in the float TFLite model;
clustering to 4 leaves <= 4 distinct values per kernel; the QAT model converts to a
fully int8 TFLite model with held-out accuracy >= 0.9; the distilled student has
under a quarter of the teacher's parameters and accuracy >= 0.9.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgesdk import compress, train
from edgesdk.errors import ConfigError
from edgesdk.training.data import load_labeled, stratified_split
from edgesdk.training.files import load_model, read_class_names, read_model_info
from edgesdk.training.stats import kernel_stats

from .helpers import assert_nothing_written, assert_user_error
from .test_train import ACCURACY_BOUND, CLASSES, image_data, run  # noqa: F401  (fixture)

MAX_DROP = 0.05


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("compress")


@pytest.fixture(scope="session")
def base(image_data, work):  # noqa: F811
    result = train(image_data["folder"], work / "base.h5", epochs=6, seed=0)
    assert result.val_accuracy >= ACCURACY_BOUND
    return result.model_path


@pytest.fixture(scope="session")
def held_out(image_data):  # noqa: F811
    data = load_labeled(image_data["folder"])
    _, val = stratified_split(data.y, 0.2, seed=0)
    return data.x[val], data.y[val]


@pytest.fixture(scope="session")
def pruned(base, image_data, work):  # noqa: F811
    return compress(base, image_data["folder"], work / "pruned.h5", prune=0.5)


@pytest.fixture(scope="session")
def clustered(base, image_data, work):  # noqa: F811
    # --epochs fixes a short fine-tune (the default budget is tested with pruning).
    return compress(base, image_data["folder"], work / "clustered.keras", cluster=4, epochs=3)


@pytest.fixture(scope="session")
def qat(base, image_data, work):  # noqa: F811
    return compress(base, image_data["folder"], work / "qat.h5", qat=True, epochs=3)


def _tflite_weight_tensors(tflite: bytes) -> list[np.ndarray]:
    """Constant float tensors of rank >= 2 (conv / fully-connected weights)."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite)
    interp.allocate_tensors()
    io = {d["index"] for d in interp.get_input_details() + interp.get_output_details()}
    weights = []
    for d in interp.get_tensor_details():
        if d["index"] in io or d["dtype"] != np.float32 or len(d["shape"]) < 2:
            continue
        try:
            value = interp.get_tensor(d["index"])
        except ValueError:  # an activation tensor without data
            continue
        if value.size >= 16:
            weights.append(value)
    return weights


def _float_tflite(model) -> bytes:
    from edgesdk._tf import tf

    return tf().lite.TFLiteConverter.from_keras_model(model).convert()


# --------------------------------------------------------------------------- pruning


def test_prune_reaches_the_sparsity_and_keeps_accuracy(pruned):
    r = pruned
    assert r.methods == ("prune",)
    assert r.after.sparsity >= 0.45 and r.before.sparsity < 0.01
    assert all(k.sparsity >= 0.45 for k in r.after.kernels)
    assert r.accuracy_after >= ACCURACY_BOUND
    assert r.accuracy_after >= r.accuracy_before - MAX_DROP
    assert r.after.file_gzip_bytes < 0.75 * r.before.file_gzip_bytes  # zeros compress
    assert r.after.tflite_gzip_bytes < 0.75 * r.before.tflite_gzip_bytes
    # The default fine-tune (a budget from the data size) keeps an easy task within 1 point.
    assert r.within_budget and r.accuracy_after >= r.accuracy_before - 0.01, r.warnings
    assert r.config["epochs"] is None and r.history["prune"]["loss"]


def test_pruned_tflite_is_smaller_with_the_sparsity_encoding_and_computes_the_same(
    pruned, held_out
):
    """The dense float .tflite keeps every zero; TFLite's sparsity encoding stores them
    compactly, and the interpreter computes the same outputs from it."""
    from ai_edge_litert.interpreter import Interpreter

    from edgesdk.training.stats import tflite_float_bytes

    a = pruned.after
    assert a.tflite_bytes == pytest.approx(pruned.before.tflite_bytes, rel=0.02)
    assert a.tflite_sparse_bytes is not None and a.sparse_encoding_saves
    assert a.tflite_sparse_bytes < 0.8 * a.tflite_bytes
    assert pruned.to_dict()["tflite_sparse_encoding_saves"] is True
    model = load_model(pruned.model_path)
    dense, sparse = tflite_float_bytes(model), tflite_float_bytes(model, sparse=True)
    assert len(sparse) == a.tflite_sparse_bytes
    x = held_out[0][:8]
    outs = []
    for blob in (dense, sparse):
        interp = Interpreter(model_content=blob)
        interp.allocate_tensors()
        inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
        rows = []
        for xi in x:
            interp.set_tensor(inp["index"], xi[None].astype(np.float32))
            interp.invoke()
            rows.append(interp.get_tensor(out["index"])[0].copy())
        outs.append(np.stack(rows))
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-4)


def test_accuracy_warnings_name_the_drop_and_a_size_that_did_not_shrink():
    from edgesdk.training.compression import accuracy_warnings
    from edgesdk.training.stats import ModelStats

    def stats(acc: float, sparsity: float, sparse_bytes: int | None) -> ModelStats:
        return ModelStats(acc, 0.1, 10, 100, 50, 1000, 500, sparsity, (), sparse_bytes)

    before = stats(1.0, 0.0, 1000)
    assert accuracy_warnings(before, stats(0.995, 0.5, 600), ["prune"]) == []
    msgs = accuracy_warnings(before, stats(0.945, 0.5, 1000), ["prune"])
    assert len(msgs) == 2
    assert "prune cost 5.5 points" in msgs[0] and "100.0% -> 94.5%" in msgs[0]
    assert "no smaller for the 50% sparsity" in msgs[1] and "gzip" in msgs[1]


def test_pruned_file_and_its_tflite_conversion_are_sparse(pruned):
    model = load_model(pruned.model_path)
    stats = kernel_stats(model)
    assert len(stats) == 5 and all(k.sparsity >= 0.45 for k in stats)
    weights = _tflite_weight_tensors(_float_tflite(model))
    assert len(weights) == 5  # BatchNorm folds into the convolutions; zeros stay zeros
    for w in weights:
        assert np.mean(w == 0) >= 0.45
    assert read_class_names(pruned.model_path) == CLASSES


def test_compress_json_records_before_and_after(pruned):
    report = json.loads(pruned.report_path.read_text())
    assert pruned.report_path.name == "pruned.compress.json"
    assert report["accuracy_before"] == pytest.approx(pruned.accuracy_before)
    assert report["accuracy_after"] == pytest.approx(pruned.accuracy_after)
    assert report["after"]["sparsity"] >= 0.45
    for key in ("file_bytes", "file_gzip_bytes", "tflite_bytes", "tflite_gzip_bytes"):
        assert report["before"][key] > 0 and report["after"][key] > 0
    assert set(report["unique_weights"]) == {k.name for k in pruned.after.kernels}
    assert report["config"]["prune"] == 0.5 and report["num_val"] == 36
    info = read_model_info(pruned.model_path)
    (record,) = info["compression"]
    assert record["method"] == "prune" and record["sparsity"] == 0.5
    assert record["steps"] >= 300 and record["steps"] == record["epochs"] * record["steps_per_epoch"]


# --------------------------------------------------------------------------- clustering


def test_cluster_leaves_at_most_n_values_per_kernel(clustered):
    r = clustered
    assert r.after.max_unique_weights <= 4 < r.before.max_unique_weights
    assert r.accuracy_after >= ACCURACY_BOUND
    model = load_model(r.model_path)  # the .keras file, reloaded
    assert all(k.unique <= 4 for k in kernel_stats(model))
    assert read_class_names(r.model_path) == CLASSES


# --------------------------------------------------------------------------- QAT


@pytest.mark.slow
def test_qat_model_converts_to_full_int8(qat, held_out, keras2):
    from ai_edge_litert.interpreter import Interpreter

    from edgesdk._tf import tf

    assert qat.accuracy_after >= ACCURACY_BOUND
    # Plain tf_keras cannot load it: the TF-MOT layers need quantize_scope().
    with pytest.raises(ValueError, match="Unknown layer: 'Quantize"):
        keras2.models.load_model(qat.model_path, compile=False)
    model = load_model(qat.model_path)  # loads inside quantize_scope()
    x, y = held_out

    def representative():
        for i in range(0, len(x), 4):
            yield [x[i : i + 1]]

    T = tf()
    converter = T.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [T.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [T.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = T.uint8
    converter.inference_output_type = T.uint8
    interp = Interpreter(model_content=converter.convert())
    interp.allocate_tensors()
    dtypes = {d["dtype"] for d in interp.get_tensor_details()}
    assert dtypes <= {np.int8, np.uint8, np.int32}, dtypes
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    scale, zero = inp["quantization"]
    correct = 0
    for xi, yi in zip(x, y, strict=True):
        q = np.clip(np.floor(xi / scale + 0.5) + zero, 0, 255).astype(np.uint8)
        interp.set_tensor(inp["index"], q[None])
        interp.invoke()
        correct += int(np.argmax(interp.get_tensor(out["index"])) == yi)
    assert correct / len(y) >= ACCURACY_BOUND


# --------------------------------------------------------------------------- distillation


def test_distillation_trains_a_smaller_student(base, image_data, work, keras2):  # noqa: F811
    out = work / "student.h5"
    r = compress(base, image_data["folder"], out, distill_from=base, arch="small_cnn",
                 alpha=0.25, epochs=20)
    assert r.methods == ("distill",)
    assert r.teacher_accuracy >= ACCURACY_BOUND
    assert r.after.params < r.before.params / 4
    assert r.accuracy_after >= ACCURACY_BOUND
    assert set(r.history["distill"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    student = keras2.models.load_model(out, compile=False)
    assert type(student.layers[1]).__name__ == "Rescaling"
    assert read_class_names(out) == CLASSES
    assert read_model_info(out)["alpha"] == 0.25


@pytest.mark.slow
def test_prune_then_qat_keeps_the_zeros(base, image_data, work):  # noqa: F811
    r = compress(base, image_data["folder"], work / "pqat.h5", prune=0.5, qat=True)
    assert r.methods == ("prune", "qat")
    assert r.after.sparsity >= 0.45 and r.accuracy_after >= ACCURACY_BOUND
    assert kernel_stats(load_model(r.model_path))[0].sparsity >= 0.45


# --------------------------------------------------------------------------- user errors


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--prune", "1.0"], ["sparsity must be a fraction in [0, 1)", "prune=1.0"]),
        (["--prune", "-0.1"], ["sparsity must be a fraction in [0, 1)", "prune=-0.1"]),
        (["--cluster", "1"], ["at least 2 clusters", "cluster=1"]),
        ([], ["no compression method was chosen"]),
        (["--cluster", "8", "--qat"],
         ["--cluster cannot be combined with --qat", "--quantize int8"]),
        (["--temperature", "3", "--prune", "0.5"], ["--temperature apply only to distillation"]),
        (["--distill-from", "T", "--alpha", "0.5"], ["--alpha sets the width", "needs --arch"]),
        (["--distill-from", "T", "--arch", "vgg"], ["unknown architecture 'vgg'"]),
    ],
)
def test_cli_compress_option_errors(args, fragments, base, image_data, tmp_path):  # noqa: F811
    out = tmp_path / "out.h5"
    res = run("compress", base, "--data", image_data["folder"], "-o", out, *args)
    assert_user_error(res, *fragments)
    assert_nothing_written(out)


def test_cli_compress_qat_needs_h5_output(base, image_data, tmp_path):  # noqa: F811
    out = tmp_path / "out.keras"
    res = run("compress", base, "--data", image_data["folder"], "-o", out, "--qat")
    assert_user_error(res, "a QAT model must be saved as .h5", "output=")
    assert_nothing_written(out)


@pytest.mark.parametrize("fixture", ["keras3_keras", "keras3_h5"])
def test_keras3_model_is_refused_with_what_works_instead(
    fixture, request, image_data, tmp_path  # noqa: F811
):
    model = request.getfixturevalue(fixture)
    out = tmp_path / "out.h5"
    res = run("compress", model, "--data", image_data["folder"], "-o", out, "--prune", "0.5")
    assert_user_error(res, "saved by Keras 3", "accepts only tf_keras", "edgesdk package MODEL",
                      "--quantize", "edgesdk train")
    assert_nothing_written(out)


def test_missing_model_and_teacher(base, image_data, tmp_path):  # noqa: F811
    out = tmp_path / "out.h5"
    res = run("compress", tmp_path / "nope.h5", "--data", image_data["folder"], "-o", out,
              "--prune", "0.5")
    assert_user_error(res, "does not exist", "nope.h5")
    res = run("compress", base, "--data", image_data["folder"], "-o", out,
              "--distill-from", tmp_path / "teacher.h5")
    assert_user_error(res, "the teacher", "does not exist")
    assert_nothing_written(out)


def _two_classes(root: Path) -> Path:
    from .test_train import make_images

    x, y = make_images(10)
    keep = y < 2
    p = root / "two.npz"
    np.savez(p, x=x[keep], y=y[keep], class_names=np.asarray(CLASSES[:2]))
    return p


def _one_class(root: Path) -> Path:
    p = root / "one.npz"
    np.savez(p, x=np.full((6, 16, 16, 3), 100.0), y=np.zeros(6, np.int64))
    return p


def _mismatch(root: Path) -> Path:
    p = root / "mismatch.npz"
    np.savez(p, x=np.full((6, 16, 16, 3), 100.0), y=np.zeros(5, np.int64))
    return p


@pytest.mark.parametrize(
    "make_data, fragments",
    [
        (_two_classes, ["the data have 2 classes but", "outputs 3"]),
        (_one_class, ["needs at least 2 classes"]),
        (_mismatch, ["do not match", "y.shape=(5,)"]),
    ],
)
def test_cli_compress_data_errors(make_data, fragments, base, tmp_path):
    out = tmp_path / "out.h5"
    res = run("compress", base, "--data", make_data(tmp_path), "-o", out, "--prune", "0.5")
    assert_user_error(res, *fragments)
    assert_nothing_written(out)


def test_api_raises_config_error():
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        compress("m.h5", "d", "o.h5", prune=1.5)
