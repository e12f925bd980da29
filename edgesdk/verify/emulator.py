"""Emulators for the device tier (tier 4): list AVDs, find a running one, start one headless
on a free port, wait for boot, stop the one we started."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._proc import _kill_group, _Runner
from .android_sdk import ADB_TIMEOUT, SDK_SETUP, AndroidSdk, DeviceSetupError


def _adb_devices(runner: _Runner, adb: Path) -> dict[str, str]:
    res = runner.run([str(adb), "devices"], timeout=ADB_TIMEOUT, stage="device", log="adb.log")
    devices = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith(("List of devices", "*")):
            devices[parts[0]] = parts[1]
    return devices


def list_avds(runner: _Runner, emulator: Path) -> list[str]:
    res = runner.run(
        [str(emulator), "-list-avds"], timeout=ADB_TIMEOUT, stage="avd", log="emulator.log"
    )
    names = []
    for line in res.stdout.splitlines():
        line = line.strip()
        if line and "|" not in line and not line.startswith(("INFO", "WARNING", "ERROR")):
            names.append(line)
    return names


def _running_avd(runner: _Runner, adb: Path, devices: Mapping[str, str], name: str) -> str | None:
    """The serial of a running emulator of the AVD ``name`` (``adb emu avd name``), if any."""
    for serial, state in sorted(devices.items()):
        if not serial.startswith("emulator-") or state != "device":
            continue
        try:
            res = runner.run(
                [str(adb), "-s", serial, "emu", "avd", "name"],
                timeout=10,
                stage="avd",
                log="adb.log",
            )
        except DeviceSetupError:
            continue
        lines = res.stdout.strip().splitlines()
        if res.returncode == 0 and lines and lines[0].strip() == name:
            return serial
    return None


def _system_images(root: Path | None) -> list[str]:
    folder = None if root is None else root / "system-images"
    if folder is None or not folder.is_dir():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.glob("*/*/*"))


def _port_free(port: int) -> bool:
    for p in (port, port + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def _pick_port(devices: Mapping[str, str]) -> int:
    for port in range(5554, 5682, 2):
        if f"emulator-{port}" not in devices and _port_free(port):
            return port
    raise DeviceSetupError(
        "emulator", "no free emulator console port between 5554 and 5680",
        fix="Stop an emulator (adb emu kill) and retry",
    )  # fmt: skip


class _Emulator:
    """An emulator this process started: boot with retry, and stop."""

    def __init__(self, sdk: AndroidSdk, runner: _Runner, avd: str, port: int) -> None:
        self.sdk = sdk
        self.runner = runner
        self.avd = avd
        self.port = port
        self.serial = f"emulator-{port}"
        self.proc: subprocess.Popen[Any] | None = None

    def start(self, cold: bool) -> None:
        assert self.sdk.emulator is not None
        cmd = [
            str(self.sdk.emulator), "-avd", self.avd, "-no-window", "-no-audio",
            "-no-boot-anim", "-port", str(self.port),
        ]  # fmt: skip
        if cold:
            cmd.append("-no-snapshot-load")
        log = (self.runner.log_dir / "emulator.log").open("a", encoding="utf-8")
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.runner.env,
                start_new_session=True,
            )
        except OSError as exc:
            raise DeviceSetupError(
                "emulator", f"cannot start the emulator {cmd[0]}",
                received=f"{type(exc).__name__}: {exc}", fix=SDK_SETUP,
            ) from None  # fmt: skip
        finally:
            log.close()

    def wait_boot(self, timeout: float) -> str | None:
        """None when booted; otherwise why not."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        poll = min(2.0, max(0.05, timeout / 20))
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"the emulator exited with code {self.proc.returncode} before it booted"
            try:
                res = self.runner.run(
                    [
                        str(self.sdk.adb),
                        "-s",
                        self.serial,
                        "shell",
                        "getprop",
                        "sys.boot_completed",
                    ],
                    timeout=max(1.0, min(ADB_TIMEOUT, deadline - time.monotonic())),
                    stage="boot",
                    log="boot.log",
                )
                if res.returncode == 0 and res.stdout.strip() == "1":
                    return None
            except DeviceSetupError as exc:
                if exc.stage != "timeout":
                    raise
            time.sleep(poll)
        return f"the emulator did not finish booting within {timeout:g} s"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.runner.run(
                [str(self.sdk.adb), "-s", self.serial, "emu", "kill"],
                timeout=15,
                stage="stop",
                log="emulator.log",
            )
        except DeviceSetupError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc)
