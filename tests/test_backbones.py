"""keras.applications backbones: recognised, normalized by family, folded where metadata
cannot say it, and checked against the user's own pipeline (the family's preprocess_input).

Random-weight bases (weights=None) under a head, at small input sizes; the reduced DenseNet
and NASNet are the same family code with fewer blocks. Models are built once per session.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import assert_user_error, report, run_cli

# family module -> (Keras: 2 = tf_keras .h5, 3 = Keras 3 .keras, builder name, input size)
CASES: dict[str, tuple[int, str, int]] = {
    "vgg16": (2, "VGG16", 32),
    "vgg19": (3, "VGG19", 32),
    "resnet": (2, "ResNet50", 32),
    "resnet_v2": (3, "ResNet50V2", 32),
    "densenet": (2, "small_densenet", 32),
    "mobilenet": (2, "MobileNet", 32),
    "mobilenet_v2": (3, "MobileNetV2", 32),
    "mobilenet_v3": (2, "MobileNetV3Small", 32),
    "inception_v3": (2, "InceptionV3", 75),
    "inception_resnet_v2": (3, "InceptionResNetV2", 75),
    "xception": (3, "Xception", 71),
    "nasnet": (3, "small_nasnet", 32),
    "efficientnet": (2, "EfficientNetB0", 32),
    "efficientnet_v2": (3, "EfficientNetV2B0", 32),
    "convnext": (3, "ConvNeXtTiny", 32),
    "regnet": (2, "RegNetX002", 32),
    "resnet_rs": (2, "ResNetRS50", 32),
}
# Large graphs: building and converting them takes the longest.
SLOW = {
    "resnet",
    "resnet_v2",
    "inception_v3",
    "inception_resnet_v2",
    "nasnet",
    "efficientnet",
    "efficientnet_v2",
    "resnet_rs",
    "convnext",
    "regnet",
}
IN_MODEL = {"mobilenet_v3", "efficientnet", "efficientnet_v2", "convnext", "regnet", "resnet_rs"}
CAFFE = {"vgg16", "vgg19", "resnet"}


def _keras(version: int):
    from edgesdk._tf import keras3, tf_keras

    return tf_keras() if version == 2 else keras3()


def _base(k, builder: str, size: int):
    shape = (size, size, 3)
    if builder == "small_densenet":
        mod = __import__(f"{k.__name__}.src.applications.densenet", fromlist=["DenseNet"])
        return mod.DenseNet([1, 1, 1, 1], include_top=False, weights=None, input_shape=shape)
    if builder == "small_nasnet":
        mod = __import__(f"{k.__name__}.src.applications.nasnet", fromlist=["NASNet"])
        return mod.NASNet(
            input_shape=shape,
            penultimate_filters=96,
            num_blocks=1,
            stem_block_filters=8,
            skip_reduction=False,
            include_top=False,
            weights=None,
        )
    kwargs = {"alpha": 0.25} if builder == "MobileNet" else {}
    if builder == "MobileNetV2":
        kwargs = {"alpha": 0.35}
    return getattr(k.applications, builder)(
        include_top=False, weights=None, input_shape=shape, **kwargs
    )


def _nested(k, base, size: int, classes: int = 3, name: str = "my_classifier"):
    """The notebook pattern: Model(inp, Dense(GAP(base(inp)))), outer model renamed."""
    inp = k.Input((size, size, 3))
    x = k.layers.GlobalAveragePooling2D()(base(inp))
    return k.Model(inp, k.layers.Dense(classes, activation="softmax")(x), name=name)


class _Built:
    """Per-session cache of saved backbone models (build each family once)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths: dict[str, Path] = {}

    def get(self, family: str) -> Path:
        if family not in self.paths:
            version, builder, size = CASES[family]
            k = _keras(version)
            k.utils.set_random_seed(0)
            model = _nested(k, _base(k, builder, size), size)
            path = self.root / f"{family}.{'h5' if version == 2 else 'keras'}"
            model.save(path)
            self.paths[family] = path
        return self.paths[family]


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> _Built:
    return _Built(tmp_path_factory.mktemp("backbones"))


def _eval_npz(root: Path, size: int, n: int = 6) -> Path:
    path = root / f"eval_{size}.npz"
    if not path.exists():
        rng = np.random.default_rng(1)
        x = rng.uniform(0, 255, (n, size, size, 3)).astype(np.float32)
        np.savez(path, x=x, y=np.arange(n) % 3)
    return path


def _user_pipeline_diff(model_path: Path, tflite: Path, family: str, x: np.ndarray) -> float:
    """Independent of edgesdk's parity code: the .tflite fed raw pixels normalized by its
    own metadata vs the Keras model fed the family's preprocess_input."""
    from edgesdk import metadata
    from edgesdk.models import load_model
    from edgesdk.verify.host import TFLiteRunner

    data = tflite.read_bytes()
    meta = metadata.read(data)
    mean, std = meta.inputs[0].mean, meta.inputs[0].std
    runner = TFLiteRunner(data)
    cand = np.stack([runner.run(s, mean, std) for s in x])
    loaded = load_model(model_path)
    k = _keras(3 if loaded.framework == "keras3" else 2)
    pre = getattr(k.applications, family).preprocess_input(x.copy())
    ref = np.asarray(loaded.model(pre, training=False))
    return float(np.abs(ref - cand).max())


def _params():
    return [pytest.param(f, marks=[pytest.mark.slow] if f in SLOW else []) for f in sorted(CASES)]


@pytest.mark.parametrize("family", _params())
def test_family_recognised_and_matches_the_users_pipeline(family, built, tmp_path):
    path = built.get(family)
    _, _, size = CASES[family]
    eval_npz = _eval_npz(built.root, size)
    out = tmp_path / "out"
    res = run_cli("package", path, "--target", "none", "-o", out, "--eval-data", eval_npz)
    assert res.exit_code == 0, res.stderr
    rep = report(out)
    norm = rep["normalization"]
    assert norm["source"] == f"keras_applications:{family}"
    assert norm["backbone"]["family"] == family
    assert f"keras_applications:{family}" in " ".join(res.stderr.split())
    assert not any("assuming it takes inputs" in w for w in rep["warnings"])
    if family in IN_MODEL:
        assert norm["backbone"]["placement"] == "in_model"
        assert (norm["mean"], norm["std"]) == ([0.0] * 3, [1.0] * 3)
        assert "folded" not in norm
    else:
        assert norm["backbone"]["placement"] == "outside"
        assert norm["reference_preprocessing"] == (f"keras.applications.{family}.preprocess_input")
    if family in CAFFE:
        # BGR order and offsets are in the model: the app feeds plain RGB pixels.
        assert (norm["mean"], norm["std"]) == ([0.0] * 3, [1.0] * 3)
        assert norm["folded"]["permutation"] == [2, 1, 0]
        assert norm["folded"]["mean"] == [103.939, 116.779, 123.68]
        # The permutation is fused into the first convolution; the offset stays an ADD.
        assert norm["folded"]["cost"]["operators_added"] == {"ADD": 1}
    # Host parity (tier 1) in the report is against the family's preprocess_input ...
    assert rep["parity"]["source"] == "eval_data"
    assert rep["parity"]["max_abs_diff"] <= 1e-4
    # ... and so is an independent re-computation from the .tflite's metadata alone.
    x = np.load(eval_npz)["x"]
    assert _user_pipeline_diff(path, out / "model.tflite", family, x) <= 1e-4


def test_without_recognition_the_metadata_would_be_wrong(built, tmp_path):
    """The problem being solved: the [0, 1] assumption is far off the user's pipeline."""
    path = built.get("vgg16")
    eval_npz = _eval_npz(built.root, 32)
    out = tmp_path / "out"
    res = run_cli("package", path, "--target", "none", "-o", out, "--mean", "0", "--std", "255")
    assert res.exit_code == 0, res.stderr
    assert report(out)["normalization"]["source"] == "cli"  # --mean/--std win
    x = np.load(eval_npz)["x"]
    assert _user_pipeline_diff(path, out / "model.tflite", "vgg16", x) > 1e-3


def test_sequential_inlined_and_renamed_backbones(keras2, keras3, tmp_path):
    from edgesdk.backbones import recognise

    keras2.utils.set_random_seed(0)
    base = keras2.applications.MobileNet(
        include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.25
    )
    seq = keras2.Sequential(
        [
            keras2.Input((32, 32, 3)),
            keras2.layers.RandomFlip(),
            base,
            keras2.layers.GlobalAveragePooling2D(),
            keras2.layers.Dense(2),
        ],
        name="renamed_outer",
    )
    (bb,), note = recognise(seq)
    assert (bb.family.module, bb.placement, bb.name, note) == (
        "mobilenet",
        "outside",
        base.name,
        None,
    )

    inp = keras3.Input((32, 32, 3))
    inlined = keras3.applications.DenseNet121(
        include_top=False, weights=None, input_tensor=inp, name="renamed_base"
    )
    head = keras3.layers.Dense(2)(keras3.layers.GlobalAveragePooling2D()(inlined.output))
    (bb,), _ = recognise(keras3.Model(inp, head, name="x"))
    assert (bb.family.module, bb.placement) == ("densenet", "outside")


def test_unknown_model_keeps_the_assumption_and_warning(cnn_no_rescaling_h5):
    from edgesdk.backbones import recognise
    from edgesdk.models import load_model

    assert recognise(load_model(cnn_no_rescaling_h5).model) == ([], None)


@pytest.mark.slow
def test_preprocess_input_inside_the_model_is_not_applied_twice(keras2, keras3, tmp_path):
    """The transfer-learning tutorial pattern: preprocess_input as TF op layers (tf_keras)
    or Keras 3 ops in front of the base. edgesdk cannot read code: warn, do not guess."""
    for k, ext in ((keras2, "h5"), (keras3, "keras")):
        k.utils.set_random_seed(0)
        inp = k.Input((32, 32, 3))
        base = k.applications.MobileNetV2(
            include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35
        )
        x = base(k.applications.mobilenet_v2.preprocess_input(inp))
        model = k.Model(inp, k.layers.Dense(2)(k.layers.GlobalAveragePooling2D()(x)))
        path = tmp_path / f"pre.{ext}"
        model.save(path)
        out = tmp_path / f"out_{ext}"
        res = run_cli("package", path, "--target", "none", "-o", out, "--trust-model")
        if res.exit_code != 0 and "--trust-model" in res.stderr + res.stdout:
            res = run_cli("package", path, "--target", "none", "-o", out)
        assert res.exit_code == 0, res.stderr
        rep = report(out)
        assert rep["normalization"]["source"] == "assumed_unit_range"
        text = " ".join(rep["warnings"])
        assert "mobilenet_v2 backbone" in text and "--mean 0 --std 1" in text


def test_backbone_after_a_rescaling_layer_keeps_the_models_preprocessing(keras2, tmp_path):
    """What `edgesdk train --arch mobilenet_v2` builds: Rescaling, then the base."""
    keras2.utils.set_random_seed(0)
    inp = keras2.Input((32, 32, 3))
    x = keras2.layers.Rescaling(1 / 127.5, offset=-1)(inp)
    base = keras2.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35
    )
    out_t = keras2.layers.Dense(2)(keras2.layers.GlobalAveragePooling2D()(base(x)))
    path = tmp_path / "trained.h5"
    keras2.Model(inp, out_t).save(path)
    out = tmp_path / "out"
    res = run_cli("package", path, "--target", "none", "-o", out)
    assert res.exit_code == 0, res.stderr
    norm = report(out)["normalization"]
    assert norm["source"] == "model_layer:Rescaling"
    assert (norm["mean"], norm["std"]) == ([0.0] * 3, [1.0] * 3)
    assert norm["backbone"]["placement"] == "in_model"
    assert report(out)["parity"]["max_abs_diff"] <= 1e-4


def test_fold_normalization_on_any_model(cnn_no_rescaling_h5, shapes_eval_npz, tmp_path):
    """--fold-normalization: metadata says mean 0 std 1; golden vectors, Kotlin, report and
    verify follow."""
    from edgesdk import metadata

    out = tmp_path / "out"
    res = run_cli(
        "package",
        cnn_no_rescaling_h5,
        "-o",
        out,
        "--mean",
        "127.5",
        "--std",
        "127.5",
        "--fold-normalization",
        "--golden-cases",
        "3",
    )
    assert res.exit_code == 0, res.stderr
    rep = report(out)
    norm = rep["normalization"]
    assert (norm["mean"], norm["std"], norm["source"]) == ([0.0] * 3, [1.0] * 3, "cli")
    assert norm["folded"]["mean"] == [127.5] * 3 and norm["folded"]["permutation"] is None
    cost = norm["folded"]["cost"]
    assert {"size_bytes", "latency_ms", "operators_added"} <= set(cost)
    meta = metadata.read((out / "model.tflite").read_bytes())
    assert tuple(meta.inputs[0].mean) == (0.0,) * 3 and tuple(meta.inputs[0].std) == (1.0,) * 3
    assert rep["parity"]["max_abs_diff"] <= 1e-4
    kotlin = next((out / "kotlin").rglob("*.kt")).read_text(encoding="utf-8")
    assert "mean = floatArrayOf(0.0f, 0.0f, 0.0f)" in kotlin
    assert "std = floatArrayOf(1.0f, 1.0f, 1.0f)" in kotlin
    assert rep["golden"]["cases"] == 3
    # The folded model fed raw pixels equals the Keras model fed (x - 127.5) / 127.5.
    ver = run_cli("verify", out, "--json")
    assert ver.exit_code == 0, ver.stdout + ver.stderr
    assert json.loads(ver.stdout)["checks"]


@pytest.mark.slow
def test_caffe_fold_with_int8(built, tmp_path):
    path = built.get("vgg16")
    calib = _eval_npz(built.root, 32)
    out = tmp_path / "out"
    res = run_cli(
        "package",
        path,
        "--target",
        "none",
        "-o",
        out,
        "--quantize",
        "int8",
        "--calibration-data",
        calib,
    )
    assert res.exit_code == 0, res.stderr
    rep = report(out)
    assert rep["normalization"]["folded"]["permutation"] == [2, 1, 0]
    assert rep["inputs"][0]["dtype"] == "int8"
    assert rep["parity"]["top1_agreement"] >= 0.8


def test_cli_mean_std_win_over_the_family(built, tmp_path):
    out = tmp_path / "out"
    res = run_cli(
        "package",
        built.get("mobilenet_v2"),
        "--target",
        "none",
        "-o",
        out,
        "--mean",
        "1",
        "--std",
        "2",
    )
    assert res.exit_code == 0, res.stderr
    norm = report(out)["normalization"]
    assert norm == {"mean": [1.0] * 3, "std": [2.0] * 3, "source": "cli"}


def test_fold_normalization_flag_needs_no_value():
    res = run_cli("package", "missing.h5", "--fold-normalization", "-o", "x")
    assert_user_error(res, "does not exist")
