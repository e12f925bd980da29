"""A quiet console: CLI runs show edgesdk's output only; ``--verbose`` keeps TensorFlow's.

TensorFlow's native libraries log while they load ("All log messages before
absl::InitializeLog() ...", oneDNN, CUDA probing); the runs below are real processes, so
the file-descriptor level output is what a user sees.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .test_train import image_data  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[1]
NATIVE_LOG = re.compile(r"^[IWEF]\d{4} ", re.MULTILINE)


def _train(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "EDGESDK_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "edgesdk", *extra, "train", str(data), "-o", str(out),
           "--epochs", "1", "--steps", "1"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_train_prints_only_its_own_output_unless_verbose(image_data, tmp_path):  # noqa: F811
    quiet = _train(image_data["npz"], tmp_path / "quiet.h5")
    assert quiet.returncode == 0, quiet.stderr
    assert "InitializeLog" not in quiet.stderr and not NATIVE_LOG.search(quiet.stderr), quiet.stderr
    assert "oneDNN" not in quiet.stderr and "cuda" not in quiet.stderr.lower()
    assert "Training small_cnn" in quiet.stderr and "train epoch 1/1" in quiet.stderr
    assert "Training summary" in quiet.stderr

    loud = _train(image_data["npz"], tmp_path / "loud.h5", "--verbose")
    assert loud.returncode == 0, loud.stderr
    assert NATIVE_LOG.search(loud.stderr) or "InitializeLog" in loud.stderr, loud.stderr
    assert "Training summary" in loud.stderr


def test_verbose_may_follow_the_command():
    from edgesdk.cli import _hoist_verbose

    assert _hoist_verbose(["train", "d", "--verbose"]) == ["--verbose", "train", "d"]
    assert _hoist_verbose(["train", "d"]) == ["train", "d"]
    assert _hoist_verbose(["x", "--", "--verbose"]) == ["x", "--", "--verbose"]
