"""`edgesdk demo`: data -> trained -> pruned -> auto-quantized -> Android app + report.html."""

from __future__ import annotations

import json

import pytest

from edgesdk.demo import run_demo

from .helpers import assert_user_error, run_cli


@pytest.mark.slow
def test_demo_builds_everything(tmp_path):
    steps = []
    res = run_demo(tmp_path / "demo", images_per_class=60, on_step=steps.append)
    out = res.output
    assert steps[:5] == [
        "Drawing the shapes data set",
        "Training a small CNN",
        "Pruning to 50% sparsity",
        "Measuring the trained and pruned models on the evaluation data",
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
    # The chain: every stage measured on the same evaluation data.
    chain = summary["chain"]
    assert [c["stage"] for c in chain] == ["trained", "pruned", "shipped"]
    assert len({c["data"] for c in chain}) == 1 and "eval.npz (160 images)" in chain[0]["data"]
    assert all(0 <= c["accuracy"] <= 1 and c["size_bytes"] > 0 for c in chain)
    assert chain[0]["size_bytes"] == (out / "model.h5").stat().st_size
    assert chain[2]["size_bytes"] == (out / "app" / "model.tflite").stat().st_size
    assert chain[2]["quantization"] == rep["quantization"]["mode"]
    variant = {v["mode"]: v for v in rep["quantization"]["auto"]["variants"]}[chain[2]["quantization"]]
    assert chain[2]["accuracy"] == variant["accuracy"]
    # The pruned model's accuracy on the evaluation data is the packaging reference.
    assert rep["quantization"]["auto"]["reference_accuracy"] == pytest.approx(chain[1]["accuracy"])
    # The shipped model stays within 1 point of the trained one.
    assert chain[2]["accuracy"] >= chain[0]["accuracy"] - 0.01, chain
    assert summary["shipped_within_budget"] is True
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "Compression" in page and "<svg" in page
    assert "Accuracy at every stage" in page and "shipped (app/model.tflite" in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_demo_refuses_existing_output(tmp_path):
    (tmp_path / "d").mkdir()
    assert_user_error(run_cli("demo", "-o", tmp_path / "d"), "already exists", "--force")


def test_failed_demo_leaves_nothing(tmp_path, monkeypatch):
    import sys

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(sys.modules["edgesdk.training.compression"], "compress", boom)
    with pytest.raises(KeyboardInterrupt):
        run_demo(tmp_path / "demo", epochs=1, images_per_class=10)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_demo_output_verifies_from_its_final_location(tmp_path):
    """report.json records the final model path, so `verify` works on the demo's output."""
    res = run_demo(tmp_path / "demo", epochs=2, images_per_class=30)
    rep = json.loads((res.package / "report.json").read_text())
    assert rep["model"]["source"] == str((res.output / "model_pruned.h5").resolve())
    out = run_cli("verify", res.package, "--json")
    obj = json.loads(out.stdout)
    assert out.exit_code == 0, out.stderr
    status = {(c["check"], c["tier"]): c["status"] for c in obj["checks"]}
    assert status[("host_parity", "host")] == "passed"
    assert status[("golden", "host")] == "passed"
    assert status[("golden", "device")] == "not_run"
