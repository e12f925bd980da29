"""The TFLite Task Library's ImageClassifier (the C++ core of Android's
tensorflow-lite-task-vision, in its own venv: ``tools/task_library_venv.py``) reads a packaged
classifier from its metadata alone and gives the same top classes and scores as our Python
path (host, tier 1)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from .helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "quantize",
    [
        "none",
        # dynamic range: the Task Library's own TFLite (older than 2.17) runs a per-channel
        # int8 FULLY_CONNECTED with one scale for all channels; edgesdk.convert.derive keeps
        # per-channel weights to the ops whose old kernels take them
        "dynamic",
    ],
)
def test_task_library_classifies_what_python_classifies(
    trained_h5, shapes_npz, shapes_eval_npz, tmp_path: Path, quantize: str
) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools import task_library_venv as tl

    if not tl.supported_here():
        pytest.skip("no tflite-support wheel for this Python")
    from edgesdk.verify.host import TFLiteRunner

    out = tmp_path / "out"
    extra = ["--calibration-data", shapes_npz] if quantize == "int8" else []
    res = run_cli("package", trained_h5, "-o", out, "--target", "none", "--quantize", quantize,
                  *extra)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    images = np.load(shapes_eval_npz)["x"][:16].astype(np.uint8)
    theirs = tl.run_task("image_classifier", out / "model.tflite", images, max_results=4)
    runner = TFLiteRunner((out / "model.tflite").read_bytes())
    labels = (out / "labels.txt").read_text(encoding="utf-8").splitlines()
    # dynamic: its FULLY_CONNECTED quantizes inputs asymmetrically, as LiteRT 2.x does on
    # XNNPACK (measured 1.4e-3 apart; 1.5e-2 without the flag)
    tol = 1e-5 if quantize == "none" else 5e-3
    for im, got in zip(images, theirs, strict=True):
        ours = np.asarray(runner.run(im.astype(np.float32), (0.0,), (1.0,))).reshape(-1)
        assert got[0]["index"] == int(ours.argmax())
        assert got[0]["label"] == labels[got[0]["index"]]
        for c in got:
            assert c["score"] == pytest.approx(float(ours[c["index"]]), abs=tol)
