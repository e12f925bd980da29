"""The built wheel carries every subpackage and the templates, and renders from them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RENDER = r"""
import sys
from pathlib import Path
import edgesdk, edgesdk.codegen as cg
assert str(Path(edgesdk.__file__).resolve()).startswith(sys.argv[1]), edgesdk.__file__
root = Path(str(cg.templates_root()))
assert str(root.resolve()).startswith(sys.argv[1]), root
ctx = cg.android_context(model_name="wheel test", labels=("a", "b"), input_shape=(8, 8, 3))
model = Path(sys.argv[2]).read_bytes()
gen = cg.generate_android(ctx, model, Path(sys.argv[3]))
print(gen.kotlin.name, len(gen.files))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (whl,) = dist.glob("edgesdk-*.whl")
    return whl


@pytest.mark.slow
def test_wheel_lists_every_subpackage_and_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for init in (ROOT / "edgesdk").rglob("__init__.py"):
        rel = init.relative_to(ROOT).as_posix()
        assert rel in names, f"{rel} missing from the wheel: add its package to pyproject.toml"
    templates = {
        p.relative_to(ROOT / "templates").as_posix()
        for p in (ROOT / "templates").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    shipped = {n[len("edgesdk/templates/") :] for n in names if n.startswith("edgesdk/templates/")}
    assert templates <= shipped, templates - shipped


@pytest.mark.slow
def test_installed_wheel_renders_the_android_project(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    import numpy as np  # noqa: F401  (the tiny model below is plain bytes)

    from edgesdk._tf import tf

    t = tf()
    fn = t.function(
        lambda x: t.reduce_mean(x, axis=[1, 2]) @ t.ones([3, 2]),
        input_signature=[t.TensorSpec([1, 8, 8, 3])],
    )
    model = t.lite.TFLiteConverter.from_concrete_functions(
        [fn.get_concrete_function()], fn
    ).convert()
    (tmp_path / "m.tflite").write_bytes(model)
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            RENDER,
            str(target.resolve()),
            str(tmp_path / "m.tflite"),
            str(tmp_path / "gen"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("WheelTestModel.kt") or ".kt" in proc.stdout
    assert (tmp_path / "gen" / "android" / "settings.gradle.kts").exists()
    assert (tmp_path / "gen" / "android" / ".gitignore").exists()
