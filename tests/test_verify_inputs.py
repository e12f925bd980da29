"""`verify` on an output folder uses the data package measured on, else the golden inputs;
random inputs only without either, with the near-tie rule; `inspect` shows labels, task and
normalization; two concurrent `package` runs into one folder leave one complete output."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgesdk.verify.parity import Tolerance, judge

from .conftest import ROOT, _tiny_cnn
from .helpers import run_cli


@pytest.fixture(scope="module")
def packaged_dynamic(trained_h5, shapes_eval_npz, tmp_path_factory):
    """A dynamic-range model packaged with --eval-data and golden vectors."""
    base = tmp_path_factory.mktemp("vi")
    data = base / "eval.npz"
    shutil.copy(shapes_eval_npz, data)
    out = base / "out"
    res = run_cli("package", trained_h5, "-o", out, "--quantize", "dynamic", "--eval-data",
                  data, "--golden-cases", "8")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return out, data


@pytest.fixture(scope="module")
def other_h5(keras2, tmp_path_factory):
    """Same shapes as trained_h5's inputs/outputs would need: a different, untrained model."""
    path = tmp_path_factory.mktemp("other") / "other.h5"
    _tiny_cnn(keras2, shape=(32, 32, 3), classes=4, seed=7).save(path)
    return path


def _verify(*args):
    res = run_cli("verify", *args, "--json")
    return res, (json.loads(res.stdout) if res.stdout.strip() else None)


def test_verify_uses_the_recorded_eval_data_then_the_golden_inputs(packaged_dynamic):
    out, data = packaged_dynamic
    rep = json.loads((out / "report.json").read_text())
    assert rep["parity"]["data"] == str(data.resolve())
    res, obj = _verify(out)
    assert res.exit_code == 0, res.stderr
    assert obj["host_parity"]["source"] == "eval_data"
    assert obj["host_parity"]["samples"] == rep["parity"]["samples"]
    data.rename(data.with_suffix(".moved"))
    try:
        res, obj = _verify(out)
        assert res.exit_code == 0, res.stderr
        assert obj["host_parity"]["source"] == "golden_inputs"
        assert obj["host_parity"]["samples"] == 8
    finally:
        data.with_suffix(".moved").rename(data)


def test_verify_still_fails_on_a_wrong_reference_or_another_model(
    packaged_dynamic, other_h5, tmp_path
):
    out, _ = packaged_dynamic
    res, obj = _verify(out, "--reference", other_h5)
    assert res.exit_code == 3, res.stderr
    assert obj["host_parity"]["clear_flips"] > obj["host_parity"]["allowed_flips"]
    # A different model in the folder: the other model packaged, then swapped in.
    other_out = tmp_path / "other"
    assert run_cli("package", other_h5, "-o", other_out, "--target", "none").exit_code == 0
    swapped = tmp_path / "swapped"
    shutil.copytree(out, swapped)
    shutil.copy(other_out / "model.tflite", swapped / "model.tflite")
    res, obj = _verify(swapped)
    assert res.exit_code == 3, res.stderr
    assert obj["host_parity"]["passed"] is False


def test_near_tie_flips_do_not_fail_and_clear_flips_do():
    tol = Tolerance(0.05, 0.97, "test")
    ref = np.tile(np.array([[0.6, 0.3, 0.1]], np.float32), (32, 1))
    cand = ref.copy()
    tie_ref = ref.copy()
    tie_ref[0] = [0.46, 0.44, 0.10]  # margin 0.02 <= 2 * atol
    tie_cand = tie_ref.copy()
    tie_cand[0] = [0.44, 0.46, 0.10]
    v = judge(tie_ref, tie_cand, "dynamic", tol)
    assert v.passed and v.near_tie_flips == 1 and v.clear_flips == 0
    tie_cand[0] = [0.20, 0.70, 0.10]  # the reference was close, but the outputs are far apart
    assert not judge(tie_ref, tie_cand, "dynamic", tol).passed
    cand[0] = [0.1, 0.8, 0.1]  # margin 0.3: a clear flip; 0 allowed in 32 samples
    v = judge(ref, cand, "dynamic", tol)
    assert not v.passed and v.clear_flips == 1 and v.allowed_flips == 0
    big_ref = np.tile(ref[:1], (100, 1))
    big_cand = big_ref.copy()
    big_cand[:3] = [0.1, 0.8, 0.1]  # 3 clear flips in 100 are within 97%
    assert judge(big_ref, big_cand, "dynamic", tol).passed
    big_cand[:4] = [0.1, 0.8, 0.1]
    assert not judge(big_ref, big_cand, "dynamic", tol).passed
    nan = ref.copy()
    nan[0] = np.nan
    assert judge(ref, nan, "dynamic", tol).clear_flips == 1


def test_inspect_shows_labels_task_and_normalization(packaged_dynamic):
    out, _ = packaged_dynamic
    res = run_cli("inspect", out / "model.tflite", "--json")
    assert res.exit_code == 0, res.stderr
    obj = json.loads(res.stdout)
    labels = (out / "labels.txt").read_text(encoding="utf-8").splitlines()
    assert obj["labels"] == labels and obj["task"] == "image_classifier"
    rep = json.loads((out / "report.json").read_text())
    assert obj["normalization"]["mean"] == pytest.approx(rep["normalization"]["mean"])
    res = run_cli("inspect", out / "model.tflite")
    text = " ".join(res.stderr.split()) + " ".join(res.stdout.split())
    assert f"labels {len(labels)}:" in text.replace("│", " ").replace("  ", " ") or (
        f"{len(labels)}: '{labels[0]}'" in text
    )
    assert "image_classifier" in text and "normalization" in text


@pytest.mark.slow
def test_two_concurrent_packages_into_one_folder_leave_one_complete_output(cnn_h5, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    for i, names in enumerate(("a\nb\nc\n", "x\ny\nz\n")):
        labels = tmp_path / f"labels{i}.txt"
        labels.write_text(names, encoding="utf-8")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "edgesdk", "package", str(cnn_h5), "-o", str(out),
             "--labels", str(labels), "--force", "--name", f"run{i}"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ))  # fmt: skip
    codes = [p.wait(timeout=600) for p in procs]
    assert 0 in codes, [p.stderr.read().decode()[-2000:] for p in procs]
    from edgesdk.inspection import inspect

    info = inspect(out / "model.tflite")
    labels = (out / "labels.txt").read_text(encoding="utf-8").splitlines()
    rep = json.loads((out / "report.json").read_text())
    assert list(info.labels) == labels
    assert info.metadata["name"] == ("run0" if labels[0] == "a" else "run1")
    assert rep["size"]["sha256"] == hashlib.sha256((out / "model.tflite").read_bytes()).hexdigest()
    app_model = out / "android" / "app" / "src" / "main" / "assets" / "model.tflite"
    assert app_model.read_bytes() == (out / "model.tflite").read_bytes()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert leftovers == []
