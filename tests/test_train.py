"""``edgesdk train`` / :func:`edgesdk.train` on tiny synthetic images (real TF).

The data: 3 classes of 16x16 RGB images whose class is the colour channel that
dominates (plus uniform noise), 60 images per class -- separable, and unchanged by
the training augmentation (flips, small shifts). Accuracy bound used throughout:
>= 0.9 on the 36 held-out images.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from edgesdk import train
from edgesdk.cli import compress as compress_cli
from edgesdk.cli import train as train_cli
from edgesdk.errors import ModelLoadError
from edgesdk.training.data import stratified_split
from edgesdk.training.files import read_class_names, read_model_info

from .helpers import assert_nothing_written, assert_user_error

#: Class names in sub-folder (sorted) order, and the channel each one boosts.
CLASSES = ("blue", "green", "red")
CHANNEL = {"red": 0, "green": 1, "blue": 2}
ACCURACY_BOUND = 0.9


def make_images(
    n_per_class: int = 60, size: int = 16, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Raw uint8 pixels ``(3n, size, size, 3)`` and labels (index into ``CLASSES``)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, name in enumerate(CLASSES):
        x = rng.uniform(0, 110, (n_per_class, size, size, 3))
        x[..., CHANNEL[name]] += rng.uniform(90, 145, (n_per_class, 1, 1))
        xs.append(x)
        ys += [label] * n_per_class
    return np.clip(np.concatenate(xs), 0, 255).astype(np.uint8), np.asarray(ys, np.int64)


@pytest.fixture(scope="session")
def image_data(tmp_path_factory) -> dict[str, Path]:
    """The same images as a class-folder tree of PNGs and as an .npz (with class_names)."""
    root = tmp_path_factory.mktemp("colour_data")
    x, y = make_images()
    folder = root / "images"
    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        d = folder / CLASSES[label]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(d / f"{i:03d}.png")
    npz = root / "colours.npz"
    np.savez(npz, x=x, y=y, class_names=np.asarray(CLASSES))
    return {"folder": folder, "npz": npz, "root": root}


def cli_app() -> typer.Typer:
    """An app with just these commands (the real one lists them too; see test_cli_startup)."""
    app = typer.Typer()

    @app.callback()
    def _main() -> None:
        """edgesdk (test app)."""

    train_cli.register(app)
    compress_cli.register(app)
    return app


def run(*args: object):
    return CliRunner().invoke(cli_app(), [str(a) for a in args])


@pytest.fixture(scope="session")
def trained(image_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "colours.h5"
    epochs = []
    result = train(image_data["folder"], out, epochs=6, seed=0, on_epoch=epochs.append)
    return result, epochs


# --------------------------------------------------------------------------- happy paths


def test_training_reaches_high_held_out_accuracy(trained):
    result, epochs = trained
    assert result.val_accuracy >= ACCURACY_BOUND
    assert result.class_names == CLASSES
    assert (result.num_train, result.num_val) == (144, 36)
    assert result.epochs == 6 and len(result.history["val_accuracy"]) == 6
    assert [e.epoch for e in epochs] == [1, 2, 3, 4, 5, 6]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(epochs[-1].metrics)
    assert result.seconds > 0


def test_training_report_and_curves_are_written_beside_the_model(trained):
    result, _ = trained
    assert result.report_path == result.model_path.with_name("colours.training.json")
    report = json.loads(result.report_path.read_text())
    assert report["val_accuracy"] == pytest.approx(result.val_accuracy)
    assert report["history"]["loss"] == list(result.history["loss"])
    assert report["config"]["arch"] == "small_cnn" and report["config"]["seed"] == 0
    assert report["versions"]["tf_keras"].startswith("2.")
    with Image.open(result.plot_path) as img:
        assert img.format == "PNG" and img.size[0] > 400


def test_saved_h5_takes_raw_pixels_and_carries_class_names(trained, image_data, keras2):
    result, _ = trained
    model = keras2.models.load_model(result.model_path, compile=False)
    first = model.layers[1]
    assert type(first).__name__ == "Rescaling"
    assert first.scale == pytest.approx(1 / 255) and first.offset == 0
    assert read_class_names(result.model_path) == CLASSES
    info = read_model_info(result.model_path)
    assert info["arch"] == "small_cnn" and info["preprocessing"]["std"] == pytest.approx(255)
    x, y = make_images(20, seed=7)  # fresh images, raw 0..255 pixels straight in
    pred = model.predict(x.astype(np.float32), verbose=0).argmax(-1)
    assert np.mean(pred == y) >= ACCURACY_BOUND


def test_npz_to_keras_format_loads_back_with_tf_keras(image_data, tmp_path, keras2):
    out = tmp_path / "colours.keras"
    result = train(image_data["npz"], out, epochs=3)
    assert result.val_accuracy >= ACCURACY_BOUND
    with zipfile.ZipFile(out) as z:
        assert "edgesdk_class_names.json" in z.namelist()
        assert json.loads(z.read("metadata.json"))["keras_version"].startswith("2.")
    model = keras2.models.load_model(out, compile=False)
    assert type(model.layers[1]).__name__ == "Rescaling"
    assert read_class_names(out) == CLASSES  # from the npz's class_names


def test_cli_train_json_under_mirrored_strategy(image_data, tmp_path):
    out = tmp_path / "m.h5"
    res = run("train", image_data["npz"], "-o", out, "--epochs", "2", "--distribute", "mirrored",
              "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)  # stdout holds only the JSON object
    assert data["model_path"] == str(out) and data["config"]["distribute"] == "mirrored"
    assert data["class_names"] == list(CLASSES)
    assert "epoch 2/2" in res.stderr and "val accuracy" in res.stderr
    assert read_class_names(out) == CLASSES


def test_multiworker_strategy_runs_on_one_machine(image_data, tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    result = train(image_data["npz"], tmp_path / "mw.h5", epochs=1, distribute="multiworker")
    assert result.config["distribute"] == "multiworker"
    assert result.model_path.is_file()


def test_same_seed_gives_the_same_training(image_data, tmp_path):
    a = train(image_data["npz"], tmp_path / "a.h5", epochs=2, seed=3)
    b = train(image_data["npz"], tmp_path / "b.h5", epochs=2, seed=3)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(a.history[key], b.history[key], rtol=1e-5)


@pytest.mark.slow
def test_mobilenet_v2_scales_to_minus_one_one(image_data, tmp_path, keras2):
    out = tmp_path / "mnv2.keras"
    result = train(image_data["npz"], out, arch="mobilenet_v2", alpha=0.35, image_size=32,
                   epochs=1, batch_size=64)
    assert result.input_shape == (32, 32, 3)
    model = keras2.models.load_model(out, compile=False)
    first = model.layers[1]
    assert type(first).__name__ == "Rescaling"
    assert first.scale == pytest.approx(1 / 127.5) and first.offset == pytest.approx(-1)
    assert any(type(layer).__name__ == "DepthwiseConv2D" for layer in model.layers)
    assert read_class_names(out) == CLASSES


# --------------------------------------------------------------------------- helpers


def test_stratified_split_is_seeded_disjoint_and_per_class():
    y = np.repeat(np.arange(3), [10, 20, 5])
    tr, va = stratified_split(y, 0.2, seed=1)
    tr2, va2 = stratified_split(y, 0.2, seed=1)
    assert np.array_equal(va, va2) and np.array_equal(tr, tr2)
    assert not set(tr) & set(va) and len(tr) + len(va) == len(y)
    assert np.bincount(y[va]).tolist() == [2, 4, 1]
    assert not np.array_equal(va, stratified_split(y, 0.2, seed=2)[1])


def test_read_class_names_sidecar_none_and_missing(tmp_path, cnn_h5):
    assert read_class_names(cnn_h5) is None  # a model from elsewhere, no names
    copy = tmp_path / "plain.h5"
    copy.write_bytes(cnn_h5.read_bytes())
    (tmp_path / "plain.h5.labels.txt").write_text("cat\ndog\nbird\n")
    assert read_class_names(copy) == ("cat", "dog", "bird")
    with pytest.raises(ModelLoadError, match="does not exist"):
        read_class_names(tmp_path / "nope.h5")


def test_importing_train_and_compress_does_not_import_tensorflow():
    modules = ", ".join(
        f"edgesdk.training.{m}"
        for m in ("trainer", "compression", "architectures", "schedules", "transfer", "pruning",
                  "clustering", "qat", "distillation", "stats", "files", "data", "reports")
    )
    code = (
        f"import sys, edgesdk, {modules}\n"
        "heavy = [m for m in ('tensorflow', 'tf_keras', 'keras', 'tensorflow_model_optimization')"
        " if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY:\n" in proc.stdout


def test_public_functions_do_not_shadow_modules():
    """``edgesdk.train`` / ``edgesdk.compress`` are the functions, and the package has no
    module of those names that an import could put in their place."""
    code = (
        "import pathlib, edgesdk\n"
        "pkg = pathlib.Path(edgesdk.__file__).parent\n"
        "assert callable(edgesdk.train) and callable(edgesdk.compress)\n"
        "for n in ('train', 'compress', 'architectures'):\n"
        "    assert not (pkg / (n + '.py')).exists() and not (pkg / n).is_dir(), n\n"
        "print('OK')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr


# --------------------------------------------------------------------------- user errors


def _one_class(root: Path) -> Path:
    d = root / "one" / "cats"
    d.mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(d / f"{i}.png")
    return root / "one"


def _unreadable(root: Path) -> Path:
    base = root / "broken"
    for name in ("a", "b"):
        (base / name).mkdir(parents=True)
        Image.fromarray(np.full((8, 8, 3), 99, np.uint8)).save(base / name / "ok.png")
    (base / "b" / "bad.png").write_bytes(b"definitely not a png")
    return base


def _mismatch(root: Path) -> Path:
    p = root / "mismatch.npz"
    np.savez(p, x=np.full((10, 8, 8, 3), 100.0), y=np.zeros(9, np.int64))
    return p


def _normalized(root: Path) -> Path:
    p = root / "normalized.npz"
    x, y = make_images(5, size=8)
    np.savez(p, x=x / 255.0, y=y)
    return p


def _empty(root: Path) -> Path:
    (root / "empty").mkdir()
    return root / "empty"


@pytest.mark.parametrize(
    "make_data, extra, fragments",
    [
        (_empty, [], ["has no class sub-folders"]),
        (_one_class, [], ["needs at least 2 classes", "'cats'"]),
        (_unreadable, [], ["not usable images", "bad.png"]),
        (_mismatch, [], ["x and y", "do not match", "x.shape=(10, 8, 8, 3), y.shape=(9,)"]),
        (_normalized, [], ["look normalized", "raw pixel values 0..255"]),
        (None, ["--val-split", "1"], ["strictly between 0 and 1", "val_split=1.0"]),
        (None, ["--arch", "resnet"], ["unknown architecture 'resnet'", "small_cnn, mobilenet_v2"]),
        (None, ["--weights", "imagenet"], ["small_cnn has no pretrained weights"]),
        (None, ["--arch", "mobilenet_v2", "--image-size", "16"], ["too small for mobilenet_v2"]),
        (None, ["--distribute", "tpu"], ["unknown distribution strategy", "mirrored"]),
        (None, ["--epochs", "0"], ["epochs must be a positive integer"]),
    ],
)
def test_cli_train_user_errors(make_data, extra, fragments, image_data, tmp_path):
    data = make_data(tmp_path) if make_data else image_data["npz"]
    out = tmp_path / "out" / "model.h5"
    out.parent.mkdir()
    res = run("train", data, "-o", out, "--epochs", "1", *extra)
    assert_user_error(res, *fragments)
    assert_nothing_written(out)
    assert sorted(p.name for p in out.parent.iterdir()) == []


def test_cli_train_refuses_existing_output_and_bad_suffix(image_data, tmp_path):
    existing = tmp_path / "model.h5"
    existing.write_bytes(b"keep me")
    assert_user_error(run("train", image_data["npz"], "-o", existing), "already exists", "--force")
    assert existing.read_bytes() == b"keep me"
    bad = tmp_path / "model.pt"
    assert_user_error(run("train", image_data["npz"], "-o", bad), "unsupported model file type",
                      ".h5 or .hdf5 or .keras")
    assert_nothing_written(bad)
