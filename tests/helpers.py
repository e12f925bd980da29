"""One-line helpers shared by tests."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from edgesdk.cli import app


def run_cli(*args: object):
    """Invoke the CLI in-process; returns typer's Result (stdout and stderr apart)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_user_error(result, *fragments: str, code: int = 1) -> None:
    """Exit ``code``, every fragment in the message, no traceback."""
    text = result.stderr + result.stdout
    assert result.exit_code == code, text
    assert "Traceback" not in text, text
    flat = " ".join(text.split())
    for frag in fragments:
        assert frag in flat, f"{frag!r} not in {flat!r}"


def assert_nothing_written(out: Path) -> None:
    assert not out.exists(), f"{out} was written"
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert not leftovers, f"partial output left behind: {leftovers}"


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))
