"""Every reader of a .tflite, the golden files and image folders on hostile bytes: a correct
read or an EdgeSdkError, bounded, never a traceback."""

from __future__ import annotations

import importlib.util
import io
import json
import random
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgesdk import metadata
from edgesdk.errors import DataError, EdgeSdkError, MetadataError, VerificationError

from .conftest import ROOT
from .helpers import assert_user_error, run_cli


def _fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_readers", ROOT / "benchmarks" / "fuzz_readers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fuzz = _fuzz_module()


@pytest.fixture(scope="module")
def packaged(cnn_h5, shapes_npz, tmp_path_factory):
    """A float32 model with golden vectors and an int8 model, both with labels."""
    base = tmp_path_factory.mktemp("hostile")
    labels = base / "labels.txt"
    labels.write_text("cat\ndog\nbird\n", encoding="utf-8")
    f32 = base / "f32"
    res = run_cli("package", cnn_h5, "-o", f32, "--labels", labels, "--golden-cases", "4")
    assert res.exit_code == 0, res.stderr
    q = base / "int8"
    npz = base / "calib.npz"
    np.savez(npz, x=np.random.default_rng(0).uniform(0, 255, (16, 16, 16, 3)).astype("f4"))
    res = run_cli("package", cnn_h5, "-o", q, "--labels", labels, "--target", "none",
                  "--quantize", "int8", "--calibration-data", npz)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return f32, q


def test_fuzzed_models_give_a_read_or_an_edgesdk_error(packaged):
    models = [(p / "model.tflite").read_bytes() for p in packaged]
    result = fuzz.run(models, runs=3000, seed=1)
    assert result["outcomes"].get("CRASH", 0) == 0, "\n".join(result["crashes"])
    assert result["outcomes"]["read"] > 100  # the mutations do not all break the header
    assert result["slowest_retimed_s"] < 1.0


def test_unmutated_models_read_correctly(packaged):
    from edgesdk.inspection import inspect_bytes

    for folder in packaged:
        info = inspect_bytes((folder / "model.tflite").read_bytes())
        assert info.labels == ("cat", "dog", "bird")
        assert info.task == "image_classifier"


def test_zip_bomb_is_refused_from_declared_sizes(packaged):
    bomb = fuzz.bomb_model((packaged[0] / "model.tflite").read_bytes(), inflated=256 * 2**20)
    with pytest.raises(MetadataError, match="declare more bytes than the limit"):
        metadata.read_associated_files(bomb)
    with pytest.raises(MetadataError):
        metadata.read(bomb)


def test_inflation_beyond_declared_size_stops_at_the_limit(packaged, monkeypatch):
    from edgesdk.metadata import model as md_model

    monkeypatch.setattr(md_model, "MAX_ASSOCIATED_FILE_BYTES", 1000)
    data = (packaged[0] / "model.tflite").read_bytes()
    base = data[: data.find(b"PK\x03\x04")]
    out = io.BytesIO()
    out.write(base)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("labels.txt", b"a\n" * 5000)
    blob = bytearray(out.getvalue())
    # Lie in both headers: 500 bytes declared, 10,000 inflated.
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = bytes(blob).find(sig, len(base))
        struct.pack_into("<I", blob, at + size_at, 500)
    with pytest.raises(MetadataError):
        metadata.read_associated_files(bytes(blob))


def test_too_many_associated_files_are_refused(packaged):
    data = (packaged[0] / "model.tflite").read_bytes()
    out = io.BytesIO()
    out.write(data[: data.find(b"PK\x03\x04")])
    with zipfile.ZipFile(out, "w") as zf:
        for i in range(1100):
            zf.writestr(f"f{i}.txt", b"x")
    with pytest.raises(MetadataError, match="too many files"):
        metadata.read_associated_files(out.getvalue())


def test_inspect_cli_on_damaged_model_is_one_message(packaged, tmp_path):
    data = bytearray((packaged[0] / "model.tflite").read_bytes())
    struct.pack_into("<I", data, 0, 0xFFFFFFF0)  # root offset far outside the file
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(bytes(data))
    assert_user_error(run_cli("inspect", bad), "corrupt TFLite model")
    assert_user_error(run_cli("inspect", bad, "--json"), "corrupt TFLite model")


def test_verify_on_damaged_model_is_one_message(packaged, cnn_h5, tmp_path):
    data = bytearray((packaged[0] / "model.tflite").read_bytes())
    struct.pack_into("<I", data, 0, 0xFFFFFFF0)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(bytes(data))
    assert_user_error(run_cli("verify", bad, "--reference", cnn_h5), "malformed")


def test_fuzzed_golden_files_give_verification_errors(packaged, tmp_path):
    from edgesdk.verify.golden import read_golden

    src = packaged[0] / "android" / "app" / "src" / "androidTest" / "assets" / "golden"
    files = {p.name: p.read_bytes() for p in src.iterdir()}
    work = tmp_path / "g"
    outcomes = {"read": 0, "error": 0}
    for i in range(300):
        rng = random.Random(i)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        victim = rng.choice(sorted(files))
        for name, content in files.items():
            (work / name).write_bytes(fuzz.mutate(content, rng) if name == victim else content)
        if victim == "golden.bin" and rng.random() < 0.5:  # keep the checksum consistent
            import hashlib

            index = json.loads(files["golden.json"])
            index["data"]["sha256"] = hashlib.sha256((work / "golden.bin").read_bytes()).hexdigest()
            (work / "golden.json").write_text(json.dumps(index))
        try:
            read_golden(work)
            outcomes["read"] += 1
        except VerificationError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0


# ------------------------------------------------------------------------------ images


def _png(path: Path, arr: np.ndarray, mode: str | None = None, **kw) -> Path:
    from PIL import Image

    Image.fromarray(arr, mode).save(path, **kw)
    return path


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("imgs") / "data"
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            _png(root / cls / f"ok{i}.png", rng.integers(0, 255, (20, 20, 3), dtype=np.uint8))
    (root / "a" / "text.png").write_text("not an image", encoding="utf-8")
    good = (root / "a" / "ok0.png").read_bytes()
    (root / "b" / "truncated.png").write_bytes(good[: len(good) // 2])
    fuzz.png_bomb(root / "b" / "bomb.png")
    return root


def test_bad_images_are_refused_with_all_of_them_named(hostile_folder):
    from edgesdk.data import load_dataset

    with pytest.raises(DataError) as err:
        load_dataset(hostile_folder, size=(16, 16), channels=3)
    msg = str(err.value)
    assert "3 file(s)" in msg and "text.png" in msg and "truncated.png" in msg
    assert "bomb.png" in msg and "decompression bomb" in msg


def test_bad_images_are_skipped_with_one_warning(hostile_folder):
    from edgesdk.data import load_dataset

    warnings: list[str] = []
    ds = load_dataset(hostile_folder, size=(16, 16), channels=3, bad_images="skip",
                      on_warning=warnings.append)  # fmt: skip
    assert len(ds) == 6 and len(warnings) == 1
    assert "skipped 3 file(s)" in warnings[0] and "bomb.png" in warnings[0]


def test_package_skips_bad_calibration_images_and_refuses_bad_eval_images(
    cnn_h5, hostile_folder, tmp_path
):
    out = tmp_path / "o"
    res = run_cli("package", cnn_h5, "-o", out, "--target", "none", "--quantize", "int8",
                  "--calibration-data", hostile_folder)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "skipped 3 file(s)" in " ".join(res.stderr.split())
    out2 = tmp_path / "o2"
    res = run_cli("package", cnn_h5, "-o", out2, "--target", "none", "--eval-data", hostile_folder)
    assert_user_error(res, "not usable images", "bomb.png")
    assert not out2.exists()


def test_odd_modes_convert_as_documented(tmp_path):
    from PIL import Image

    from edgesdk.data import read_image

    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = [[0, 255], [128, 255]]
    got = read_image(_png(tmp_path / "rgba.png", rgba, "RGBA"), 3)
    assert got[0, 0].tolist() == [0, 0, 0]  # fully transparent: black, as getPixels gives
    assert got[1, 0].tolist() == [200, 200, 200] and got[0, 1].tolist() == [200, 200, 200]

    pal = Image.fromarray(np.full((3, 3, 3), 90, np.uint8)).convert("P", palette=Image.ADAPTIVE)
    pal.save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png", 3).tolist() == np.full((3, 3, 3), 90).tolist()

    wide = np.array([[0, 256, 65535]], dtype=np.uint16)
    Image.fromarray(wide).save(tmp_path / "g16.png")
    assert read_image(tmp_path / "g16.png", 1)[..., 0].tolist() == [[0, 1, 255]]

    Image.new("CMYK", (2, 2), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)
    r, g, b = read_image(tmp_path / "c.jpg", 3)[0, 0].tolist()
    assert r > 200 and g < 60 and b < 60  # red

    upright = np.zeros((2, 4, 3), np.uint8)
    upright[0, 0] = 255  # top-left white, 2 rows x 4 columns
    img = Image.fromarray(upright)
    exif = img.getexif()
    exif[0x0112] = 6  # stored rotated: viewers turn it 90 degrees clockwise
    img.save(tmp_path / "rot.jpg", exif=exif, quality=100)
    shown = read_image(tmp_path / "rot.jpg", 3)
    assert shown.shape == (4, 2, 3)  # EXIF orientation applied


def test_image_formats_are_restricted(tmp_path):
    from PIL import Image

    from edgesdk.data import ImageReadError, read_image

    Image.new("RGB", (4, 4)).save(tmp_path / "x.tiff")
    (tmp_path / "x.tiff").rename(tmp_path / "tiff.png")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(tmp_path / "tiff.png", 3)


def test_fuzzed_images_never_escape_as_tracebacks(tmp_path):
    from edgesdk.data import read_image

    src = _png(tmp_path / "src.png", np.random.default_rng(1).integers(0, 255, (24, 24, 3),
                                                                       dtype=np.uint8))
    data = src.read_bytes()
    target = tmp_path / "m.png"
    for i in range(300):
        target.write_bytes(fuzz.mutate(data, random.Random(i)))
        try:
            read_image(target, 3)
        except EdgeSdkError:
            pass
