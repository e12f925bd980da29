"""A virtual environment holding the TFLite Task Library (tflite-support 0.4.4), no TensorFlow.

The Task Library is the C++ core behind Android's ``tensorflow-lite-task-vision``; its
Python wheel pins protobuf 3, which cannot live beside TensorFlow 2.21, so it gets a venv
of its own under ``~/.cache/edgesdk/task-library-venv`` (override with
``EDGESDK_TASK_LIBRARY_VENV``). The tests use it as an independent oracle: it must read
our packaged models from their metadata alone.

    python tools/task_library_venv.py          # create (idempotent), print the python path
    python tools/task_library_venv.py --check  # exit 1 when it is not usable

Its native module links ``libusb-1.0`` (Debian ``libusb-1.0-0``), installed here with
apt-get when missing and running as root. Wheels exist for CPython 3.8-3.11 on x86_64.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

#: Pinned requirements: the wheel without its dependencies, then what the vision tasks import.
REQUIREMENTS = (
    ("--no-deps", "tflite-support==0.4.4"),
    ("flatbuffers==24.3.25", "numpy==1.26.4", "absl-py==2.1.0", "protobuf==3.20.3"),
)
_STAMP = "edgesdk-task-library.ok"
_PROBE = (
    "from tensorflow_lite_support.python.task.vision import object_detector, image_classifier;"
    "from tensorflow_lite_support.python.task.core import base_options;print('ok')"
)


def venv_dir() -> Path:
    env = os.environ.get("EDGESDK_TASK_LIBRARY_VENV")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "edgesdk" / "task-library-venv"


def python_path(root: Path | None = None) -> Path:
    return (root or venv_dir()) / "bin" / "python"


def supported_here() -> bool:
    """Whether a tflite-support 0.4.4 wheel exists for this interpreter and machine."""
    import platform

    return (3, 8) <= sys.version_info[:2] <= (3, 11) and platform.machine() == "x86_64"


def _ensure_libusb() -> None:
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    except OSError:
        return
    if "libusb-1.0.so.0" in out:
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "libusb-1.0-0"], check=True, env=env)
    else:
        raise RuntimeError("the Task Library needs libusb-1.0: sudo apt-get install libusb-1.0-0")


def usable(root: Path | None = None) -> bool:
    py = python_path(root)
    if not py.exists():
        return False
    proc = subprocess.run([str(py), "-c", _PROBE], capture_output=True, text=True, timeout=120)
    return proc.returncode == 0 and proc.stdout.strip() == "ok"


def ensure(root: Path | None = None) -> Path:
    """Create the venv if needed (idempotent) and return its python."""
    root = root or venv_dir()
    if (root / _STAMP).exists() and python_path(root).exists():
        return python_path(root)
    if not supported_here():
        raise RuntimeError(
            f"tflite-support 0.4.4 has no wheel for Python {sys.version.split()[0]} here"
        )
    _ensure_libusb()
    tmp = root.with_name(root.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(tmp)
    pip = [str(python_path(tmp)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for group in REQUIREMENTS:
        subprocess.run([*pip, *group], check=True)
    if not usable(tmp):
        raise RuntimeError(f"the Task Library venv at {tmp} does not import")
    (tmp / _STAMP).write_text(" ".join(a for g in REQUIREMENTS for a in g) + "\n")
    # A venv's scripts hold absolute paths: the tmp folder's python must be re-pointed, so
    # rebuild the launcher links in place after the move.
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    venv.EnvBuilder(with_pip=False, upgrade=True).create(root)
    return python_path(root)


_RUNNER = r"""
import json, sys
import numpy as np
from tensorflow_lite_support.python.task.core import base_options as bo
from tensorflow_lite_support.python.task.vision.core import tensor_image
req = json.load(sys.stdin)
images = np.load(req["images"], allow_pickle=False)
out = []
if req["task"] == "object_detector":
    from tensorflow_lite_support.python.task.processor.proto import detection_options_pb2 as dop
    from tensorflow_lite_support.python.task.vision import object_detector as od
    options = od.ObjectDetectorOptions(
        base_options=bo.BaseOptions(file_name=req["model"]),
        detection_options=dop.DetectionOptions(max_results=req.get("max_results", -1)),
    )
    task = od.ObjectDetector.create_from_options(options)
    for im in images:
        res = task.detect(tensor_image.TensorImage.create_from_array(np.ascontiguousarray(im)))
        out.append([
            {"box": [d.bounding_box.origin_x, d.bounding_box.origin_y,
                     d.bounding_box.width, d.bounding_box.height],
             "index": d.categories[0].index, "score": d.categories[0].score,
             "label": d.categories[0].category_name}
            for d in res.detections
        ])
else:
    from tensorflow_lite_support.python.task.processor.proto import (
        classification_options_pb2 as cop,
    )
    from tensorflow_lite_support.python.task.vision import image_classifier as ic
    options = ic.ImageClassifierOptions(
        base_options=bo.BaseOptions(file_name=req["model"]),
        classification_options=cop.ClassificationOptions(max_results=req.get("max_results", -1)),
    )
    task = ic.ImageClassifier.create_from_options(options)
    for im in images:
        res = task.classify(tensor_image.TensorImage.create_from_array(np.ascontiguousarray(im)))
        out.append([
            {"index": c.index, "score": c.score, "label": c.category_name}
            for c in res.classifications[0].categories
        ])
json.dump(out, sys.stdout)
"""


def run_task(task: str, model: Path, images: object, max_results: int = -1) -> list:
    """Run the Task Library's ``object_detector`` or ``image_classifier`` on uint8 RGB
    ``images`` ``[n, H, W, 3]`` and return, per image, its results as plain dicts
    (detections: ``box`` = origin x, origin y, width, height in pixels, ``index``, ``score``,
    ``label``)."""
    import json
    import tempfile

    import numpy as np

    py = ensure()
    with tempfile.TemporaryDirectory(prefix="edgesdk-task-library-") as tmp:
        path = Path(tmp) / "images.npy"
        np.save(path, np.asarray(images, dtype=np.uint8))
        req = {"task": task, "model": str(model), "images": str(path), "max_results": max_results}
        proc = subprocess.run(
            [str(py), "-c", _RUNNER],
            input=json.dumps(req),
            capture_output=True,
            text=True,
            timeout=600,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"the Task Library failed on {model}:\n{proc.stderr[-3000:]}")
    return list(json.loads(proc.stdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if unusable")
    args = parser.parse_args(argv)
    if args.check:
        ok = usable()
        print("usable" if ok else "not usable")
        return 0 if ok else 1
    print(ensure())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
