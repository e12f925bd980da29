"""`edgesdk --help` and every command's `--help` run without importing TensorFlow."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from edgesdk.cli import _COMMANDS

PKG = Path(__file__).resolve().parents[1] / "edgesdk"

PROBE = """
import sys
from typer.testing import CliRunner
from edgesdk.cli import app
res = CliRunner().invoke(app, {args!r})
assert res.exit_code == 0, res.output
heavy = [m for m in ("tensorflow", "tf_keras", "keras", "ai_edge_litert") if m in sys.modules]
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.parametrize("args", [["--help"]] + [[c, "--help"] for c in _COMMANDS])
def test_help_does_not_import_tensorflow(args):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY:\n" in proc.stdout, proc.stdout


def test_console_script_help_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "edgesdk", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for command in _COMMANDS:
        assert command in proc.stdout


def test_no_module_level_tensorflow_import():
    """Only edgesdk/_tf.py may import TensorFlow, and only inside functions."""
    offenders = []
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(
                n.split(".")[0]
                in ("tensorflow", "tf_keras", "keras", "tensorflow_model_optimization")
                for n in names
            ):
                offenders.append(f"{path.relative_to(PKG)}:{node.lineno}")
    assert offenders == []
