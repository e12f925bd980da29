"""scripts/venv.sh, sourced by README's two commands: which Python they install into.

Runs the script in POSIX sh (dash on Debian) with the real ``python3 -m venv``; the package index
is switched off (PIP_NO_INDEX) so the pip upgrade after creation stays offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "venv.sh"

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")

REPORT = 'echo "PYTHON=$PYTHON"; echo "VIRTUAL_ENV=${VIRTUAL_ENV:-}"; echo "PIP=$(command -v pip)"'


def _python3_dir(tmp: Path) -> Path:
    """A PATH entry whose python3 is this interpreter's base Python (which has venv/ensurepip)."""
    bin_dir = tmp / "pybin"
    bin_dir.mkdir()
    base = Path(getattr(sys, "_base_executable", sys.executable))
    (bin_dir / "python3").symlink_to(base)
    return bin_dir


@pytest.fixture
def python3_dir(tmp_path) -> Path:
    return _python3_dir(tmp_path)


def source(cwd: Path, python3_dir: Path, extra_env: dict[str, str] | None = None, after=REPORT):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHON", "VIRTUAL_ENV", "PIP_FIND_LINKS", "PYTHONPATH"}
    }
    env["PATH"] = f"{python3_dir}:/usr/bin:/bin"
    env["PIP_NO_INDEX"] = "1"
    env.update(extra_env or {})
    proc = subprocess.run(
        ["sh", "-c", f". {SCRIPT} || {{ echo sourced-failed:$?; exit 0; }}; {after}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return out, proc


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A project folder in which venv.sh was sourced once: (folder, python3 dir, output, proc)."""
    tmp = tmp_path_factory.mktemp("venv")
    bin_dir = _python3_dir(tmp)
    project = tmp / "project"
    project.mkdir()
    out, proc = source(project, bin_dir)
    return project, bin_dir, out, proc


def test_creates_and_activates_dot_venv(made):
    project, _, out, proc = made
    venv = project / ".venv"
    assert out["PYTHON"] == f"{venv}/bin/python"
    assert out["VIRTUAL_ENV"] == str(venv)
    assert out["PIP"] == f"{venv}/bin/pip", "pip must be the venv's after sourcing"
    assert "creating the virtual environment .venv" in proc.stderr
    check = subprocess.run(
        [out["PYTHON"], "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
        capture_output=True,
        text=True,
    )
    assert check.stdout.strip() == "True"


def test_reuses_an_existing_venv(made):
    project, bin_dir, _, _ = made
    marker = project / ".venv" / "kept"
    marker.write_text("x")
    out, proc = source(project, bin_dir)
    assert marker.exists(), "an existing, working .venv must be reused, not recreated"
    assert "creating" not in proc.stderr
    assert out["PYTHON"] == f"{project}/.venv/bin/python"


def test_an_active_venv_is_used(made, tmp_path):
    project, bin_dir, _, _ = made
    out, _ = source(tmp_path, bin_dir, {"VIRTUAL_ENV": str(project / ".venv")})
    assert out["PYTHON"] == f"{project}/.venv/bin/python"
    assert not (tmp_path / ".venv").exists()


def test_recreates_a_venv_without_pip(tmp_path, python3_dir):
    # What `python3 -m venv` leaves on Debian without python3-venv: a venv with no pip.
    subprocess.run(
        [str(python3_dir / "python3"), "-m", "venv", "--without-pip", str(tmp_path / ".venv")],
        check=True,
    )
    out, proc = source(tmp_path, python3_dir)
    assert "creating the virtual environment .venv" in proc.stderr
    ok = subprocess.run([out["PYTHON"], "-m", "pip", "--version"], capture_output=True)
    assert ok.returncode == 0


def test_python_variable_is_used_as_is(tmp_path, python3_dir):
    out, _ = source(tmp_path, python3_dir, {"PYTHON": "/opt/some/python3.12"})
    assert out["PYTHON"] == "/opt/some/python3.12"
    assert out["VIRTUAL_ENV"] == ""
    assert not (tmp_path / ".venv").exists()


def test_failure_returns_without_exiting_the_sourcing_shell(tmp_path, python3_dir):
    (tmp_path / ".venv").write_text("not a directory")
    _, proc = source(tmp_path, python3_dir)
    assert "sourced-failed:1" in proc.stdout, "a failed venv.sh returns to the shell, not exits it"
    assert "python3-venv" in proc.stderr, proc.stderr
