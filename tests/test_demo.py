"""`edgesdk demo`: data -> trained -> pruned -> auto-quantized -> Android app + report.html."""

from __future__ import annotations

import json

import pytest

from edgesdk.demo import run_demo

from .helpers import assert_user_error, run_cli


@pytest.mark.slow
def test_demo_builds_everything(tmp_path):
    steps = []
    res = run_demo(tmp_path / "demo", epochs=3, images_per_class=40, on_step=steps.append)
    out = res.output
    assert steps[:4] == [
        "Drawing the shapes data set",
        "Training a small CNN",
        "Pruning to 50% sparsity",
        "Packaging for Android (quantize auto)",
    ]
    for rel in (
        "model.h5",
        "model.training.png",
        "model_pruned.h5",
        "app/model.tflite",
        "app/labels.txt",
        "app/report.json",
        "app/report.html",
        "report.html",
        "demo.json",
    ):
        assert (out / rel).is_file(), rel
    assert list((out / "app" / "kotlin").glob("ShapesClassifier.kt"))
    assert (out / "app" / "android" / "settings.gradle.kts").is_file()
    assert (out / "app" / "labels.txt").read_text() == "circle\ncross\nsquare\ntriangle\n"
    rep = json.loads((out / "app" / "report.json").read_text())
    assert rep["quantization"]["requested"] == "auto"
    assert {v["mode"] for v in rep["quantization"]["auto"]["variants"]} == {
        "none",
        "float16",
        "dynamic",
        "int8",
    }
    assert rep["labels"]["source"] == "model"
    summary = json.loads((out / "demo.json").read_text())
    assert summary["compression"]["after sparsity"] >= 0.45
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "Compression" in page and "<svg" in page
    assert not list(tmp_path.glob(".demo.*")), "partial output left behind"


def test_demo_refuses_existing_output(tmp_path):
    (tmp_path / "d").mkdir()
    assert_user_error(run_cli("demo", "-o", tmp_path / "d"), "already exists", "--force")
