"""Transfer learning: ``--weights PATH`` / ``imagenet`` and the two-phase fine-tune (real TF).

No download: the backbone is one the test trains and saves itself (MobileNetV2, alpha
0.35, 32x32, on the colour images of ``test_train``). The ``imagenet`` path is checked
against a file placed where Keras caches the published weights (``~/.keras/models`` with
``HOME`` pointed at a temporary folder), with network connections refused.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest

from edgesdk import train
from edgesdk.errors import ConfigError
from edgesdk.training import architectures, transfer

from .helpers import assert_user_error
from .test_train import ACCURACY_BOUND, image_data, run  # noqa: F401  (fixture)

ALPHA = 0.35
SIDE = 32


@pytest.fixture(scope="session")
def backbone(image_data, tmp_path_factory):  # noqa: F811
    """A MobileNetV2 classifier the test trains itself: its backbone is the pretrained part."""
    out = tmp_path_factory.mktemp("backbone") / "backbone.h5"
    result = train(image_data["npz"], out, arch="mobilenet_v2", alpha=ALPHA, image_size=SIDE,
                   epochs=6, steps=120, seed=1)
    assert result.phases[0].name == "train"
    return out


def _opts(weights: str = "none", side: int = SIDE) -> architectures.BuildOptions:
    return architectures.BuildOptions(
        input_shape=(side, side, 3), num_classes=3, alpha=ALPHA, weights=weights, seed=0
    )


def _backbone_weights(model) -> dict[str, list[np.ndarray]]:
    return {
        layer.name: layer.get_weights()
        for layer in architectures.backbone_layers(model)
        if layer.weights
    }


def _assert_same_backbone(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and len(a) > 50
    for name in a:
        for wa, wb in zip(a[name], b[name], strict=True):
            np.testing.assert_array_equal(wa, wb, err_msg=name)


@pytest.mark.slow
def test_weights_from_a_model_file_and_from_a_notop_weights_file(backbone, tmp_path, keras2):
    source = keras2.models.load_model(backbone, compile=False)
    expected = _backbone_weights(source)
    spec = architectures.get("mobilenet_v2")

    fresh = architectures.build("mobilenet_v2", _opts())
    filled = transfer.load_backbone_weights(fresh, str(backbone), spec, _opts())
    assert filled == len(expected)
    _assert_same_backbone(_backbone_weights(fresh), expected)

    # The published format: save_weights of the no-top keras.applications model.
    notop = keras2.applications.MobileNetV2(
        input_shape=(SIDE, SIDE, 3), include_top=False, weights=None, alpha=ALPHA
    )
    by_name = {layer.name: layer for layer in source.layers}
    for layer in notop.layers:
        if layer.weights:
            layer.set_weights(by_name[layer.name].get_weights())
    weights_file = tmp_path / "notop.h5"
    notop.save_weights(weights_file)
    other = architectures.build("mobilenet_v2", _opts())
    transfer.load_backbone_weights(other, str(weights_file), spec, _opts())
    _assert_same_backbone(_backbone_weights(other), expected)

    # Weights for another width do not fit, and say so.
    wider = architectures.BuildOptions(input_shape=(SIDE, SIDE, 3), num_classes=3, alpha=0.5)
    with pytest.raises(ConfigError, match="do not fit mobilenet_v2 with alpha=0.5"):
        transfer.load_backbone_weights(
            architectures.build("mobilenet_v2", wider), str(weights_file), spec, wider
        )


@pytest.mark.slow
def test_two_phase_fine_tune_from_a_saved_backbone(backbone, image_data, tmp_path):  # noqa: F811
    out = tmp_path / "transfer.h5"
    res = run("train", image_data["npz"], "-o", out, "--arch", "mobilenet_v2", "--alpha", ALPHA,
              "--image-size", SIDE, "--weights", backbone, "--epochs", "6", "--steps", "60")
    assert res.exit_code == 0, res.stderr
    assert "head phase" in res.stderr and "fine-tune phase" in res.stderr
    import json

    report = json.loads(out.with_name("transfer.training.json").read_text())
    head, tune = report["phases"]
    assert (head["name"], tune["name"]) == ("head", "fine-tune")
    # Phase 1 trains the new classifier only: 1280 features x 3 classes + 3 biases.
    assert head["trainable_params"] == 1280 * 3 + 3
    # Phase 2 unfreezes the top of the backbone (BatchNorm stays frozen), at a tenth of the LR.
    assert tune["trainable_params"] > 50 * head["trainable_params"]
    assert tune["learning_rate"] == pytest.approx(head["learning_rate"] * 0.1)
    assert report["val_accuracy"] >= ACCURACY_BOUND


@pytest.mark.slow
def test_imagenet_path_builds_mobilenet_v2_with_its_preprocessing(tmp_path, monkeypatch, keras2):
    """The imagenet graph: Keras' published no-top file (here a stand-in in Keras' cache)
    loaded into MobileNetV2 behind a Rescaling to [-1, 1]; no network."""
    side = 96
    home = tmp_path / "home"
    cache = home / ".keras" / "models"
    cache.mkdir(parents=True)
    keras2.utils.set_random_seed(7)
    published = keras2.applications.MobileNetV2(
        input_shape=(side, side, 3), include_top=False, weights=None, alpha=ALPHA
    )
    name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{ALPHA}_{side}_no_top.h5"
    published.save_weights(cache / name)
    monkeypatch.setenv("HOME", str(home))

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    opts = _opts("imagenet", side)
    model = architectures.build("mobilenet_v2", opts)
    transfer.load_backbone_weights(model, "imagenet", architectures.get("mobilenet_v2"), opts)
    by_name = {layer.name: layer for layer in published.layers}
    for name_, weights in _backbone_weights(model).items():
        for got, want in zip(weights, by_name[name_].get_weights(), strict=True):
            np.testing.assert_array_equal(got, want)

    rescaling = model.get_layer("rescaling")
    assert model.layers.index(rescaling) == 1  # right after the input
    pixels = np.array([0.0, 127.5, 255.0], np.float32).reshape(1, 1, 3, 1).repeat(3, axis=-1)
    np.testing.assert_allclose(np.asarray(rescaling(pixels)).ravel(), [-1, -1, -1, 0, 0, 0, 1, 1, 1])
    spec = architectures.get("mobilenet_v2")
    assert (spec.mean, spec.std) == (127.5, 127.5)
    assert model.get_layer("Conv1").input.shape[1:] == (side, side, 3)
    assert model.output.shape[-1] == 3


def test_transfer_user_errors(image_data, tmp_path):  # noqa: F811
    missing = tmp_path / "nope.h5"
    assert_user_error(
        run("train", image_data["npz"], "-o", tmp_path / "m.h5", "--arch", "mobilenet_v2",
            "--weights", missing),
        "the weights file does not exist",
    )
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    assert_user_error(
        run("train", image_data["npz"], "-o", tmp_path / "m.h5", "--arch", "mobilenet_v2",
            "--image-size", SIDE, "--alpha", ALPHA, "--weights", junk),
        "neither HDF5 nor a .keras model",
    )
    assert not (tmp_path / "m.h5").exists()
