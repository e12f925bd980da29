"""``edgesdk train --distribute multiworker`` with two real workers over loopback.

Two ``python -m edgesdk train`` processes, each with its own ``TF_CONFIG`` (a two-worker
cluster on free ports of 127.0.0.1), train one model together with
``MultiWorkerMirroredStrategy``; worker 0 is the chief and writes the model, its report and
curves to ``-o``; worker 1 writes nothing there.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from edgesdk.training.files import read_class_names

from .test_train import CLASSES, image_data  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[1]


def _free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_over_loopback_train_and_the_chief_writes(image_data, tmp_path):  # noqa: F811
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    out = tmp_path / "model.h5"
    procs = []
    for index in range(2):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        cmd = [sys.executable, "-m", "edgesdk", "train", str(image_data["npz"]), "-o", str(out),
               "--distribute", "multiworker", "--epochs", "2", "--steps", "40", "--json"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=900)
            results.append((p.returncode, stdout, stderr))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for code, _, stderr in results:
        assert code == 0, stderr[-3000:]
    chief, worker = (json.loads(stdout) for _, stdout, _ in results)
    assert chief["chief"] is True and worker["chief"] is False
    assert chief["config"]["distribute"] == "multiworker"
    assert chief["steps"] == worker["steps"] > 0
    # One model: written by the chief where -o says; worker 1's copy went to a scratch folder.
    assert chief["model_path"] == str(out) and out.is_file()
    assert worker["model_path"] != str(out) and not Path(worker["model_path"]).exists()
    assert read_class_names(out) == CLASSES
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model.h5", "model.training.json", "model.training.png"
    ]
    assert "non-chief worker; the chief writes the model" in " ".join(results[1][2].split())
