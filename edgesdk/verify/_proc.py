"""Subprocesses of the device tier: each with a timeout, in its own process group (killed on
timeout), its output logged to a file."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .android_sdk import DeviceSetupError


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    """Stop a process we started, and its children (it leads its own process group)."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class _Runner:
    """Runs commands with timeouts, logging each to ``log_dir``."""

    def __init__(self, log_dir: Path, env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        self.env = dict(env)
        log_dir.mkdir(parents=True, exist_ok=True)

    def run(
        self,
        cmd: list[str],
        *,
        timeout: float,
        stage: str,
        log: str,
        cwd: Path | None = None,
        what: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        what = what or f"{Path(cmd[0]).name} {' '.join(cmd[1:4])}"
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env=self.env,
                text=True,
                errors="replace",
                start_new_session=True,
            )
        except OSError as exc:
            raise DeviceSetupError(
                stage, f"cannot run {cmd[0]}", received=f"{type(exc).__name__}: {exc}",
                fix="Check that the Android SDK tools are installed and executable",
            ) from None  # fmt: skip
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            try:
                out, _ = proc.communicate(timeout=5)
            except (subprocess.TimeoutExpired, ValueError):
                out = ""
            self._log(log, cmd, out or "", f"timed out after {timeout:g} s")
            raise DeviceSetupError(
                "timeout",
                f"{what} timed out after {timeout:g} s (step: {stage}) and was stopped",
                received=" ".join(cmd),
                fix=f"Check the device or emulator; the output so far is in {self.log_dir / log}. "
                "Pass a longer --test-timeout / --boot-timeout / --build-timeout if it is slow",
            ) from None
        self._log(log, cmd, out or "", f"exit code {proc.returncode}")
        return subprocess.CompletedProcess(cmd, proc.returncode, out or "", "")

    def _log(self, name: str, cmd: list[str], out: str, end: str) -> None:
        with (self.log_dir / name).open("a", encoding="utf-8") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{out}\n[{end}]\n")
