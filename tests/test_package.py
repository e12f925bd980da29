"""`edgesdk package` end to end on tiny real models (tier 1: host parity)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import edgesdk
from edgesdk import metadata
from edgesdk.verify.host import TFLiteRunner

from .helpers import assert_nothing_written, report, run_cli


def _float_parity(out, model_path, mean, std):
    """Max abs diff between Keras and the packaged TFLite on random raw pixels."""
    from edgesdk.models import load_model
    from edgesdk.verify.host import reference_outputs, tflite_outputs

    loaded = load_model(model_path)
    shape = (6,) + tuple(loaded.inputs[0].shape[1:])
    x = np.random.default_rng(1).uniform(0, 255, shape).astype(np.float32)
    tfl = (out / "model.tflite").read_bytes()
    ref = reference_outputs(loaded, x, mean, std)
    return float(np.abs(ref - tflite_outputs(tfl, x, mean, std)).max())


def test_package_h5_writes_model_labels_report(cnn_h5, labels_file, tmp_path):
    out = tmp_path / "out"
    res = run_cli(
        "package", cnn_h5, "--labels", labels_file, "-o", out, "--author", "Ada", "--license", "MIT"
    )
    assert res.exit_code == 0, res.stderr
    assert (out / "labels.txt").read_text(encoding="utf-8") == "cat\ndog\nbird\n"
    rep = report(out)
    assert rep["normalization"] == {
        "mean": [0.0] * 3,
        "std": [1.0] * 3,
        "source": "model_layer:Rescaling",
    }
    assert rep["labels"] == {"count": 3, "source": "file"}
    assert rep["quantization"]["mode"] == "none"
    assert rep["parity"]["tier"] == "host" and rep["parity"]["max_abs_diff"] <= 1e-5
    assert rep["size"]["tflite_bytes"] == (out / "model.tflite").stat().st_size
    for key in ("load_s", "convert_s", "metadata_s", "parity_s", "total_s"):
        assert key in rep["timings_s"]
    meta = metadata.read((out / "model.tflite").read_bytes())
    assert meta.author == "Ada" and meta.license == "MIT" and meta.name == "cnn"
    assert meta.inputs[0].color_space == "RGB" and meta.inputs[0].mean == (0.0, 0.0, 0.0)
    assert meta.outputs[0].associated_files[0].content == b"cat\ndog\nbird\n"


@pytest.mark.parametrize("fixture", ["cnn_h5", "keras3_keras", "keras3_h5", "saved_model_dir"])
def test_float_parity_every_format(fixture, request, tmp_path):
    model = request.getfixturevalue(fixture)
    out = tmp_path / "out"
    res = run_cli(
        "package", model, "-o", out, "--mean", "127.5", "--std", "127.5", "--target", "none"
    )
    assert res.exit_code == 0, res.stderr
    assert _float_parity(out, model, (127.5,) * 3, (127.5,) * 3) <= 1e-5
    assert report(out)["parity"]["max_abs_diff"] <= 1e-5


def test_int8_top1_agreement_on_trained_model(trained_h5, shapes_npz, shapes_eval_npz, tmp_path):
    out = tmp_path / "out"
    res = run_cli(
        "package",
        trained_h5,
        "-o",
        out,
        "--quantize",
        "int8",
        "--calibration-data",
        shapes_npz,
        "--eval-data",
        shapes_eval_npz,
        "--target",
        "none",
    )
    assert res.exit_code == 0, res.stderr
    rep = report(out)
    assert rep["inputs"][0]["dtype"] == "int8" and rep["outputs"][0]["dtype"] == "int8"
    assert rep["quantization"] == {"mode": "int8", "requested": "int8", "calibration_samples": 256}
    par = rep["parity"]
    assert par["source"] == "eval_data" and par["samples"] == 160
    assert par["top1_agreement"] >= 0.97, par
    assert par["reference_accuracy"] >= 0.9, par
    runner = TFLiteRunner((out / "model.tflite").read_bytes())
    assert runner.input.scale > 0 and runner.output.scale > 0


@pytest.mark.parametrize("mode", ["dynamic", "float16"])
def test_other_quantization_modes(mode, trained_h5, tmp_path):
    out = tmp_path / "out"
    res = run_cli("package", trained_h5, "-o", out, "--quantize", mode, "--target", "none")
    assert res.exit_code == 0, res.stderr
    rep = report(out)
    assert rep["quantization"]["mode"] == mode
    assert rep["parity"]["top1_agreement"] >= 0.9


def test_calibration_from_image_folder_with_resize(trained_h5, shapes_folder, tmp_path):
    """Folder images are 20x20; the model takes 16x16: bilinear resize on the way in."""
    out = tmp_path / "out"
    res = run_cli(
        "package",
        trained_h5,
        "-o",
        out,
        "--quantize",
        "int8",
        "--calibration-data",
        shapes_folder,
        "--target",
        "none",
    )
    assert res.exit_code == 0, res.stderr
    assert report(out)["quantization"]["calibration_samples"] == 48


def test_missing_preprocessing_layer_warns_and_records_assumption(cnn_no_rescaling_h5, tmp_path):
    out = tmp_path / "out"
    res = run_cli("package", cnn_no_rescaling_h5, "-o", out, "--target", "none")
    assert res.exit_code == 0, res.stderr
    assert "assuming it takes inputs scaled to [0, 1]" in " ".join(res.stderr.split())
    rep = report(out)
    assert rep["normalization"]["source"] == "assumed_unit_range"
    assert rep["normalization"]["std"] == [255.0] * 3
    assert any("[0, 1]" in w for w in rep["warnings"])


def test_generated_labels_warn(cnn_h5, tmp_path):
    out = tmp_path / "out"
    res = run_cli("package", cnn_h5, "-o", out, "--target", "none")
    assert res.exit_code == 0
    assert "class_0..class_2" in res.stderr
    assert (out / "labels.txt").read_text() == "class_0\nclass_1\nclass_2\n"


def test_grayscale_and_per_channel_values(gray_h5, tmp_path):
    out = tmp_path / "out"
    res = run_cli("package", gray_h5, "-o", out, "--mean", "10", "--std", "20", "--target", "none")
    assert res.exit_code == 0, res.stderr
    meta = metadata.read((out / "model.tflite").read_bytes())
    assert meta.inputs[0].color_space == "GRAYSCALE"
    assert meta.inputs[0].mean == (10.0,) and meta.inputs[0].std == (20.0,)
    assert meta.inputs[0].stats_min == (-0.5,) and meta.inputs[0].stats_max == (12.25,)


def test_non_image_model_packages_with_generic_metadata(features_h5, tmp_path):
    out = tmp_path / "out"
    res = run_cli("package", features_h5, "-o", out, "--mean", "0", "--std", "1")
    assert res.exit_code == 0, res.stderr
    rep = report(out)
    assert rep["model"]["task"] == "tensor"
    meta = metadata.read((out / "model.tflite").read_bytes())
    assert meta.inputs[0].content == "feature" and meta.inputs[0].color_space is None
    assert len(meta.outputs[0].associated_files) == 1
    assert rep["parity"]["max_abs_diff"] <= 1e-5


def test_output_is_byte_identical_for_identical_inputs(trained_h5, shapes_npz, tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        res = run_cli(
            "package", trained_h5, "-o", out, "--quantize", "int8", "--calibration-data", shapes_npz
        )
        assert res.exit_code == 0, res.stderr
        outs.append(out)
    files = sorted(
        p.relative_to(outs[0])
        for p in outs[0].rglob("*")
        if p.is_file() and p.name != "report.json"
    )
    assert files == sorted(
        p.relative_to(outs[1])
        for p in outs[1].rglob("*")
        if p.is_file() and p.name != "report.json"
    )
    for rel in files:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel


def test_force_replaces_existing_output(cnn_h5, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    res = run_cli("package", cnn_h5, "-o", out, "--force", "--target", "none")
    assert res.exit_code == 0, res.stderr
    assert not (out / "stale.txt").exists() and (out / "model.tflite").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_interrupt_leaves_no_partial_output(cnn_h5, tmp_path, monkeypatch):
    from edgesdk import pipeline

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_generate_android", boom)
    out = tmp_path / "out"
    res = run_cli("package", cnn_h5, "-o", out)
    assert res.exit_code == 130
    assert_nothing_written(out)


def test_python_api_returns_typed_result(cnn_h5, tmp_path):
    warnings = []
    result = edgesdk.package(
        cnn_h5, tmp_path / "api", target="none", mean=0, std=1, on_warning=warnings.append
    )
    assert isinstance(result, edgesdk.PackageResult)
    assert (
        result.tflite.exists()
        and result.labels.exists()
        and result.report["model"]["framework"] == "tf_keras"
    )
    assert any("class_0" in w for w in warnings)
    with pytest.raises(AttributeError):
        result.output = tmp_path  # frozen
    info = edgesdk.inspect(result.tflite)
    assert isinstance(info, edgesdk.ModelInfo) and info.inputs[0].shape == (1, 16, 16, 3)


def test_console_script_json_is_one_object_on_stdout(cnn_h5, tmp_path):
    """A real subprocess of the installed console script."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgesdk",
            "package",
            str(cnn_h5),
            "-o",
            str(out),
            "--json",
            "--target",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    assert obj["output"] == str(out) and obj["quantization"]["mode"] == "none"
    assert "class_0" in proc.stderr  # the warning went to stderr


def test_auto_picks_smallest_within_a_generous_budget(
    trained_h5, shapes_npz, shapes_eval_npz, tmp_path
):
    out = tmp_path / "out"
    res = run_cli(
        "package",
        trained_h5,
        "-o",
        out,
        "--quantize",
        "auto",
        "--calibration-data",
        shapes_npz,
        "--eval-data",
        shapes_eval_npz,
        "--max-accuracy-drop",
        "100",
        "--target",
        "none",
    )
    assert res.exit_code == 0, res.stderr
    q = report(out)["quantization"]
    variants = {v["mode"]: v for v in q["auto"]["variants"]}
    assert set(variants) == {"none", "float16", "dynamic", "int8"}
    smallest = min(variants.values(), key=lambda v: v["size_bytes"])
    assert q["mode"] == q["auto"]["chosen"] == smallest["mode"]
    assert variants["float16"]["size_bytes"] < variants["none"]["size_bytes"]
    assert variants["int8"]["size_bytes"] < variants["float16"]["size_bytes"]
    assert all(v["latency_ms"] > 0 for v in variants.values())
    assert "Variants" in res.stderr


def test_auto_with_zero_budget_keeps_only_lossless_variants(
    trained_h5, shapes_npz, shapes_eval_npz, tmp_path
):
    out = tmp_path / "out"
    res = run_cli(
        "package",
        trained_h5,
        "-o",
        out,
        "--quantize",
        "auto",
        "--calibration-data",
        shapes_npz,
        "--eval-data",
        shapes_eval_npz,
        "--max-accuracy-drop",
        "0",
        "--target",
        "none",
    )
    assert res.exit_code == 0, res.stderr
    q = report(out)["quantization"]
    chosen = next(v for v in q["auto"]["variants"] if v["mode"] == q["mode"])
    assert chosen["accuracy_drop_pct"] <= 0
    for v in q["auto"]["variants"]:
        if v["accuracy_drop_pct"] > 0:
            assert not v["within_budget"]
        if v["within_budget"]:
            assert v["size_bytes"] >= chosen["size_bytes"]


def test_auto_without_labelled_eval_data_is_a_user_error(trained_h5, tmp_path):
    from .helpers import assert_nothing_written, assert_user_error

    out = tmp_path / "out"
    res = run_cli("package", trained_h5, "-o", out, "--quantize", "auto")
    assert_user_error(res, "needs labelled evaluation data", "--eval-data")
    assert_nothing_written(out)


def test_report_html_is_self_contained(trained_h5, shapes_npz, shapes_eval_npz, tmp_path):
    import re

    out = tmp_path / "out"
    res = run_cli(
        "package",
        trained_h5,
        "-o",
        out,
        "--quantize",
        "auto",
        "--calibration-data",
        shapes_npz,
        "--eval-data",
        shapes_eval_npz,
        "--target",
        "none",
    )
    assert res.exit_code == 0, res.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    rep = report(out)
    assert "report.html" in rep["files"]
    cm = rep["evaluation"]["confusion_matrix"]
    assert len(cm) == 4 and sum(map(sum, cm)) == 160
    assert rep["labels"]["source"] == "data_class_names"
    assert "<svg" in page and "Confusion matrix" in page and "circle" in page
    assert not re.search(r"(src|href)=['\"](?!data:)", page), "page refers to external files"


def test_eval_labels_are_realigned_to_the_model_order(trained_h5, shapes_eval_npz, tmp_path):
    """Eval data whose class_names list the same classes in another order is re-indexed."""
    d = np.load(shapes_eval_npz)
    names = [str(n) for n in d["class_names"]]
    perm = [2, 0, 3, 1]  # data index i -> name names[perm[i]]
    inverse = {p: i for i, p in enumerate(perm)}
    shuffled = tmp_path / "eval_shuffled.npz"
    np.savez(
        shuffled,
        x=d["x"],
        y=np.array([inverse[int(v)] for v in d["y"]]),
        class_names=np.array([names[p] for p in perm]),
    )
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(names) + "\n")
    accs = []
    for i, data in enumerate((shapes_eval_npz, shuffled)):
        out = tmp_path / f"out{i}"
        res = run_cli(
            "package",
            trained_h5,
            "-o",
            out,
            "--labels",
            labels,
            "--eval-data",
            data,
            "--target",
            "none",
        )
        assert res.exit_code == 0, res.stderr
        accs.append(report(out)["parity"]["reference_accuracy"])
    assert accs[0] == accs[1] and accs[0] >= 0.9


@pytest.mark.slow
def test_qat_model_from_compress_packages_as_int8(trained_h5, shapes_npz, shapes_eval_npz, tmp_path):
    """A quantization-aware-trained model (custom TF-MOT layers) loads and packages."""
    qat = tmp_path / "qat.h5"
    edgesdk.compress(trained_h5, shapes_npz, qat, qat=True, epochs=1)
    out = tmp_path / "out"
    res = run_cli(
        "package", qat, "-o", out, "--quantize", "int8", "--calibration-data", shapes_npz,
        "--eval-data", shapes_eval_npz, "--target", "none",
    )
    assert res.exit_code == 0, res.stderr
    rep = report(out)
    assert rep["inputs"][0]["dtype"] == "int8"
    assert rep["parity"]["top1_agreement"] >= 0.95, rep["parity"]
