"""Shared fixtures: tiny real models built once per session, and small data sets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]

from .det_fixtures import det_data, detector_h5, packaged  # noqa: E402,F401  (session fixtures)


@pytest.fixture(scope="session")
def keras2():
    from edgesdk._tf import tf_keras

    return tf_keras()


@pytest.fixture(scope="session")
def keras3():
    from edgesdk._tf import keras3 as k3

    return k3()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


def _tiny_cnn(k, shape=(16, 16, 3), classes=3, rescaling=True, seed=0):
    k.utils.set_random_seed(seed)
    layers = [k.layers.Input(shape)]
    if rescaling:
        layers.append(k.layers.Rescaling(1 / 255.0))
    layers += [
        k.layers.Conv2D(4, 3, activation="relu"),
        k.layers.GlobalAveragePooling2D(),
        k.layers.Dense(classes, activation="softmax"),
    ]
    return k.Sequential(layers)


@pytest.fixture(scope="session")
def cnn_h5(keras2, model_dir) -> Path:
    """Legacy Keras 2 HDF5, RGB 16x16 input with a Rescaling layer, 3 classes."""
    path = model_dir / "cnn.h5"
    _tiny_cnn(keras2).save(path)
    return path


@pytest.fixture(scope="session")
def cnn_no_rescaling_h5(keras2, model_dir) -> Path:
    path = model_dir / "cnn_plain.h5"
    _tiny_cnn(keras2, rescaling=False).save(path)
    return path


@pytest.fixture(scope="session")
def gray_h5(keras2, model_dir) -> Path:
    path = model_dir / "gray.h5"
    _tiny_cnn(keras2, shape=(12, 10, 1), classes=4).save(path)
    return path


@pytest.fixture(scope="session")
def keras3_keras(keras3, model_dir) -> Path:
    path = model_dir / "k3.keras"
    _tiny_cnn(keras3).save(path)
    return path


@pytest.fixture(scope="session")
def keras3_h5(keras3, model_dir) -> Path:
    path = model_dir / "k3.h5"
    _tiny_cnn(keras3).save(path)
    return path


@pytest.fixture(scope="session")
def saved_model_dir(keras2, model_dir) -> Path:
    from edgesdk._tf import tf

    path = model_dir / "saved_model"
    tf().saved_model.save(_tiny_cnn(keras2), str(path))
    return path


@pytest.fixture(scope="session")
def features_h5(keras2, model_dir) -> Path:
    """A non-image model: [1, 10] features -> 4 scores."""
    keras2.utils.set_random_seed(1)
    m = keras2.Sequential(
        [
            keras2.layers.Input((10,)),
            keras2.layers.Dense(8, activation="relu"),
            keras2.layers.Dense(4, activation="softmax"),
        ]
    )
    path = model_dir / "features.h5"
    m.save(path)
    return path


@pytest.fixture(scope="session")
def shapes_npz(tmp_path_factory) -> Path:
    """The demo's shapes data: 4 classes, 16x16 RGB raw pixels, x/y/class_names."""
    from edgesdk.demo_data import write_shapes_npz

    return write_shapes_npz(tmp_path_factory.mktemp("data") / "shapes.npz", 120, 16, seed=3)


@pytest.fixture(scope="session")
def shapes_eval_npz(tmp_path_factory) -> Path:
    from edgesdk.demo_data import write_shapes_npz

    return write_shapes_npz(tmp_path_factory.mktemp("data") / "shapes_eval.npz", 40, 16, seed=4)


@pytest.fixture(scope="session")
def shapes_folder(tmp_path_factory) -> Path:
    from edgesdk.demo_data import write_shapes_folder

    return write_shapes_folder(tmp_path_factory.mktemp("data") / "shapes", 12, 20, seed=5)


@pytest.fixture(scope="session")
def trained_h5(keras2, shapes_npz, model_dir) -> Path:
    """A small CNN trained on the shapes data (raw pixels in, Rescaling inside)."""
    k = keras2
    k.utils.set_random_seed(0)
    d = np.load(shapes_npz)
    x, y = d["x"].astype("float32"), d["y"]
    m = k.Sequential(
        [
            k.layers.Input((16, 16, 3)),
            k.layers.Rescaling(1 / 255.0),
            k.layers.Conv2D(16, 3, activation="relu", padding="same"),
            k.layers.MaxPooling2D(),
            k.layers.Conv2D(32, 3, activation="relu", padding="same"),
            k.layers.GlobalAveragePooling2D(),
            k.layers.Dense(4, activation="softmax"),
        ]
    )
    m.compile(
        optimizer=k.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    m.fit(x, y, epochs=25, batch_size=32, verbose=0)
    path = model_dir / "trained.h5"
    m.save(path)
    return path


@pytest.fixture
def labels_file(tmp_path) -> Path:
    p = tmp_path / "labels.txt"
    p.write_text("cat\ndog\nbird\n", encoding="utf-8")
    return p
