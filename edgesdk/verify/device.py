"""Tier 4: the generated golden test on an emulator or a device, driven through Gradle and adb.

:func:`verify_device` builds the app and its instrumented test from the generated project
(``OUT/android/gradlew`` when present, else ``gradle`` on PATH:
``assembleDebug assembleDebugAndroidTest``), starts an emulator when asked
(``emulator -avd NAME -no-window -no-audio -no-boot-anim``, polling
``adb shell getprop sys.boot_completed``, with a boot timeout and one cold-boot retry), installs
both APKs with ``adb install -r -t``, runs ``adb shell am instrument -w -r`` and parses its raw
status output (:func:`parse_instrumentation`). The emulator it started is stopped at the end;
an emulator of the same AVD that was already running (``adb emu avd name``) is used and left
running.

Two kinds of failure are kept apart:

- the device ran the golden cases and one is out of tolerance (or the test crashed):
  the result says ``failed``; the CLI exits 3;
- the environment did not let it run (no SDK, no AVD, emulator did not boot, build or install
  failed, a step timed out): :class:`DeviceSetupError` (exit 4), naming the stage.

Every subprocess runs with a timeout in its own process group, which is killed on timeout.
Nothing is reported as run on a device unless its output was parsed from ``am instrument``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EnvironmentMissingError
from . import golden as gv
from . import reported

DEFAULT_BUILD_TIMEOUT = 1800.0
DEFAULT_BOOT_TIMEOUT = 600.0
DEFAULT_TEST_TIMEOUT = 900.0
INSTALL_TIMEOUT = 300.0
ADB_TIMEOUT = 30.0
BOOT_ATTEMPTS = 2
GRADLE_TASKS = ("assembleDebug", "assembleDebugAndroidTest")
APP_APK = Path("app", "build", "outputs", "apk", "debug")
TEST_APK = Path("app", "build", "outputs", "apk", "androidTest", "debug")
LOG_DIR = Path("build", "edgesdk-verify")

SYSTEM_IMAGE = "system-images;android-34;google_apis;x86_64"
SDK_SETUP = (
    "Install the Android SDK command-line tools "
    "(https://developer.android.com/studio#command-line-tools-only), then run: "
    "export ANDROID_HOME=$HOME/Android/Sdk; "
    'sdkmanager --sdk_root="$ANDROID_HOME" "platform-tools" "emulator" "platforms;android-35" '
    f'"build-tools;35.0.0" "{SYSTEM_IMAGE}"; '
    f'avdmanager create avd -n edgesdk -k "{SYSTEM_IMAGE}"'
)

Progress = Callable[[str], None]


class DeviceSetupError(EnvironmentMissingError):
    """The device run could not happen (exit 4): ``stage`` says where it stopped."""

    def __init__(
        self,
        stage: str,
        what: str,
        *,
        received: object | None = None,
        supported: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.stage = stage
        super().__init__(what, received=received, supported=supported, fix=fix)


# ------------------------------------------------------------------------ environment


@dataclass(frozen=True)
class AndroidSdk:
    """Where the Android tools are."""

    root: Path | None
    adb: Path
    emulator: Path | None


def _sdk_root(env: Mapping[str, str]) -> Path | None:
    for var in ("ANDROID_HOME", "ANDROID_SDK_ROOT"):
        value = env.get(var)
        if value and Path(value).is_dir():
            return Path(value)
    return None


def _tool(root: Path | None, sub: str, name: str, env: Mapping[str, str]) -> Path | None:
    if root is not None and (root / sub / name).is_file():
        return root / sub / name
    found = shutil.which(name, path=env.get("PATH"))
    return Path(found) if found else None


def find_sdk(
    *, need_emulator: bool, android_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> AndroidSdk:
    """Find the SDK, ``adb`` and (when needed) ``emulator``; raise what is missing, with the fix."""
    env = os.environ if env is None else env
    root = _sdk_root(env)
    local = android_dir / "local.properties" if android_dir is not None else None
    has_local_sdk = (
        local is not None and local.is_file() and "sdk.dir" in local.read_text("utf-8", "replace")
    )
    adb = _tool(root, "platform-tools", "adb", env)
    emulator = _tool(root, "emulator", "emulator", env) if need_emulator else None
    missing = []
    if root is None and not has_local_sdk:
        missing.append(
            "the Android SDK (ANDROID_HOME / ANDROID_SDK_ROOT is not set to an existing folder)"
        )
    if adb is None:
        missing.append("adb (SDK package platform-tools)")
    if need_emulator and emulator is None:
        missing.append("the emulator (SDK package emulator)")
    if missing:
        raise DeviceSetupError(
            "sdk",
            "the device check (tier 4) needs an Android SDK; missing: " + "; ".join(missing),
            received=f"ANDROID_HOME={env.get('ANDROID_HOME')!r}, "
            f"ANDROID_SDK_ROOT={env.get('ANDROID_SDK_ROOT')!r}",
            fix=SDK_SETUP,
        )
    assert adb is not None
    return AndroidSdk(root, adb, emulator)


def gradle_command(android_dir: Path, env: Mapping[str, str] | None = None) -> list[str]:
    """``android_dir/gradlew`` when present, else ``gradle`` on PATH."""
    env = os.environ if env is None else env
    wrapper = android_dir / "gradlew"
    if wrapper.is_file():
        return [str(wrapper)] if os.access(wrapper, os.X_OK) else ["sh", str(wrapper)]
    found = shutil.which("gradle", path=env.get("PATH"))
    if found:
        return [found]
    raise DeviceSetupError(
        "gradle",
        "building the app needs Gradle: the project has no gradlew and gradle is not on PATH",
        received=str(android_dir),
        fix="Install Gradle (https://gradle.org/install/), or create the wrapper once with an "
        f"installed Gradle: cd {android_dir} && gradle wrapper",
    )


@dataclass(frozen=True)
class AppIds:
    """What ``am instrument`` needs, read from ``app/build.gradle.kts``."""

    application_id: str
    test_application_id: str
    runner: str

    @property
    def component(self) -> str:
        return f"{self.test_application_id}/{self.runner}"


def app_ids(android_dir: Path) -> AppIds:
    path = android_dir / "app" / "build.gradle.kts"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeviceSetupError(
            "project", f"cannot read {path}", received=f"{type(exc).__name__}: {exc}",
            fix="Pass the folder written by 'edgesdk package --target android'",
        ) from None  # fmt: skip

    def value(key: str) -> str | None:
        m = re.search(rf'^\s*{key}\s*=\s*"([^"]+)"', text, flags=re.M)
        return m.group(1) if m else None

    app = value("applicationId")
    runner = value("testInstrumentationRunner")
    if app is None or runner is None:
        raise DeviceSetupError(
            "project",
            f"{path} does not name the application id and the golden test runner",
            received=f"applicationId={app!r}, testInstrumentationRunner={runner!r}",
            fix="Re-generate the project with 'edgesdk package --target android'",
        )
    test_app = value("testApplicationId") or f"{app}.test"
    if runner.startswith("."):
        runner = app + runner
    return AppIds(app, test_app, runner)


# ----------------------------------------------------------------------- subprocesses


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


# ---------------------------------------------------------------------- instrumentation


@dataclass(frozen=True)
class InstrumentationStatus:
    """One ``INSTRUMENTATION_STATUS`` block: its bundle and its ``INSTRUMENTATION_STATUS_CODE``."""

    code: int
    values: dict[str, str]


@dataclass(frozen=True)
class InstrumentationOutput:
    """The raw (``-r``) output of ``am instrument``, parsed."""

    statuses: tuple[InstrumentationStatus, ...]
    result: dict[str, str]
    result_code: int | None  #: None when ``INSTRUMENTATION_CODE`` never came (output cut off)
    other: tuple[str, ...]  #: lines outside the protocol (errors from am, adb)


_STATUS = "INSTRUMENTATION_STATUS: "
_STATUS_CODE = "INSTRUMENTATION_STATUS_CODE: "
_RESULT = "INSTRUMENTATION_RESULT: "
_CODE = "INSTRUMENTATION_CODE: "


def parse_instrumentation(text: str) -> InstrumentationOutput:
    """Parse ``am instrument -r`` output: ``INSTRUMENTATION_STATUS: key=value`` lines (a value
    may continue on the following lines) closed by ``INSTRUMENTATION_STATUS_CODE: n``; then
    ``INSTRUMENTATION_RESULT: key=value`` lines and ``INSTRUMENTATION_CODE: n``."""
    statuses: list[InstrumentationStatus] = []
    current: dict[str, str] = {}
    result: dict[str, str] = {}
    result_code: int | None = None
    other: list[str] = []
    target: dict[str, str] | None = None
    key: str | None = None
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw.startswith(_STATUS_CODE) or raw.startswith(_CODE):
            number = raw.split(": ", 1)[1].strip()
            try:
                code = int(number)
            except ValueError:
                other.append(raw)
                continue
            if raw.startswith(_STATUS_CODE):
                statuses.append(InstrumentationStatus(code, current))
                current = {}
            else:
                result_code = code
            target = key = None
        elif raw.startswith(_STATUS) or raw.startswith(_RESULT):
            body = raw.split(": ", 1)[1]
            k, _, v = body.partition("=")
            target = current if raw.startswith(_STATUS) else result
            key = k
            target[k] = v
        elif target is not None and key is not None:
            target[key] += "\n" + raw
        elif raw.strip():
            other.append(raw)
    return InstrumentationOutput(tuple(statuses), result, result_code, tuple(other))


# ------------------------------------------------------------------------------ result


@dataclass(frozen=True)
class DeviceVerification:
    """The golden test on a device (tier 4), or why it did not run."""

    tier: str
    status: str  #: passed, failed, crashed, environment_error, not_run
    passed: bool
    serial: str | None = None
    avd: str | None = None
    started_emulator: bool = False
    cases: tuple[gv.CaseCheck, ...] = ()
    expected_cases: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    stage: str | None = None  #: where an environment error happened
    message: str = ""
    timings_s: dict[str, float] = field(default_factory=dict)
    logs: str | None = None

    @property
    def ran(self) -> bool:
        """True only when ``am instrument`` output with case results was parsed."""
        return self.status in ("passed", "failed", "crashed")

    @property
    def failing(self) -> tuple[gv.CaseCheck, ...]:
        return tuple(c for c in self.cases if not c.passed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "status": self.status,
            "ran": self.ran,
            "passed": self.passed,
            "serial": self.serial,
            "avd": self.avd,
            "started_emulator": self.started_emulator,
            "expected_cases": self.expected_cases,
            "cases": [c.to_dict() for c in self.cases],
            "failing_cases": [c.index for c in self.failing],
            "summary": self.summary,
            "device": self.device,
            "problems": list(self.problems),
            "stage": self.stage,
            "message": self.message,
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "logs": self.logs,
        }


def not_run(reason: str) -> DeviceVerification:
    return DeviceVerification(tier="device", status="not_run", passed=False, message=reason)


_recheck = reported.recheck  # kept for callers of the old name


def interpret(
    output: InstrumentationOutput, golden: gv.GoldenSet, golden_sha256: str, model_sha256: str
) -> tuple[str, tuple[gv.CaseCheck, ...], dict[str, Any], tuple[str, ...]]:
    """``(status, cases, summary, problems)`` from parsed ``am instrument`` output.

    Raises :class:`DeviceSetupError` when the output shows the test never started
    (instrumentation missing) or was cut off.
    """
    text = "\n".join(output.other)
    for st in output.statuses:
        if "Error" in st.values and not any(k.startswith("edgesdk.") for k in st.values):
            text += "\n" + st.values["Error"]
    if "INSTRUMENTATION_FAILED" in text or "Unable to find instrumentation" in text:
        raise DeviceSetupError(
            "instrument",
            "the golden test is not installed on the device (am instrument could not find it)",
            received=_tail(text, 5),
            fix="Check that both APKs installed; see the install log",
        )
    lines = [st.values["edgesdk.case"] for st in output.statuses if "edgesdk.case" in st.values]
    checked, reported_problems = reported.read_cases(lines, golden, "the device")
    cases = list(checked)
    problems = list(reported_problems)
    summary: dict[str, Any] = {}
    raw_summary = output.result.get("edgesdk.summary")
    if raw_summary is not None:
        try:
            summary = json.loads(raw_summary)
        except ValueError:
            problems.append(f"unreadable summary {raw_summary[:80]!r}")
    if output.result_code is None and not summary:
        raise DeviceSetupError(
            "instrument",
            "the output of am instrument ended before the test finished",
            received=_tail(text or "(no output)", 5),
            fix="Run again; if it persists, check 'adb logcat' on the device",
        )
    if "shortMsg" in output.result and not summary:
        problems.append(
            f"the test process crashed on the device: {output.result.get('shortMsg')} "
            f"{output.result.get('longMsg', '')}".strip()
        )
        return "crashed", tuple(cases), summary, tuple(problems)
    problems += reported.summary_problems(
        summary, tuple(cases), golden, golden_sha256, model_sha256, "the device"
    )
    passed = (
        bool(summary.get("passed"))
        and not problems
        and bool(cases)
        and all(c.passed for c in cases)
    )
    return ("passed" if passed else "failed"), tuple(cases), summary, tuple(problems)


# ---------------------------------------------------------------------------- emulator


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


# ------------------------------------------------------------------------------- main


def _install(runner: _Runner, adb: Path, serial: str, apk: Path) -> None:
    for attempt in range(3):
        res = runner.run(
            [str(adb), "-s", serial, "install", "-r", "-t", str(apk)],
            timeout=INSTALL_TIMEOUT,
            stage="install",
            log="install.log",
            what=f"adb install {apk.name}",
        )
        if (
            res.returncode == 0
            and "Failure" not in res.stdout
            and "failed to install" not in res.stdout
        ):
            return
        transient = any(
            s in res.stdout
            for s in ("Can't find service", "device offline", "Is the system running")
        )
        if not transient or attempt == 2:
            break
        time.sleep(5)
    raise DeviceSetupError(
        "install",
        f"installing {apk.name} on {serial} failed",
        received=_tail(res.stdout, 5),
        fix="Free space on the device or uninstall an older copy of the app "
        "(adb uninstall <application id>), then retry",
    )


def _find_apk(android_dir: Path, folder: Path, what: str) -> Path:
    apks = sorted((android_dir / folder).glob("*.apk"))
    if not apks:
        raise DeviceSetupError(
            "build",
            f"the build finished but wrote no {what} APK",
            received=str(android_dir / folder),
            fix="Check the Gradle log",
        )
    return apks[0]


@dataclass(frozen=True)
class DevicePlan:
    """Everything checked before any slow step: tools, project, golden vectors."""

    out_dir: Path
    android_dir: Path
    sdk: AndroidSdk
    gradle: list[str]
    ids: AppIds
    golden: gv.GoldenSet
    golden_sha256: str
    model_sha256: str
    serial: str | None
    avd: str | None  #: None: use a device; "": the first AVD


def plan_device(
    out_dir: Path,
    *,
    serial: str | None = None,
    avd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> DevicePlan:
    """Check the environment and the project for a device run; raise :class:`DeviceSetupError`
    (exit 4) naming what is missing. ``avd``: None for ``serial``, "" for the first AVD."""
    env = os.environ if env is None else env
    out_dir = Path(out_dir)
    android_dir = out_dir / "android"
    golden_dir = android_dir / gv.ANDROID_ASSET_DIR
    if not (android_dir / "app" / "build.gradle.kts").is_file():
        raise DeviceSetupError(
            "project",
            f"{out_dir} has no generated Android project",
            received=str(out_dir),
            fix="Package with 'edgesdk package MODEL --target android -o OUT' and verify OUT",
        )
    if not (golden_dir / gv.DATA_NAME).is_file():
        raise DeviceSetupError(
            "project",
            f"the Android project in {out_dir} has no golden vectors",
            received=str(golden_dir),
            fix="Re-package with --golden-cases N (N > 0)",
        )
    golden = gv.read_golden(golden_dir)
    sdk = find_sdk(need_emulator=avd is not None, android_dir=android_dir, env=env)
    gradle = gradle_command(android_dir, env)
    ids = app_ids(android_dir)
    model_asset = android_dir / "app" / "src" / "main" / "assets" / "model.tflite"
    return DevicePlan(
        out_dir=out_dir,
        android_dir=android_dir,
        sdk=sdk,
        gradle=gradle,
        ids=ids,
        golden=golden,
        golden_sha256=hashlib.sha256((golden_dir / gv.DATA_NAME).read_bytes()).hexdigest(),
        model_sha256=hashlib.sha256(model_asset.read_bytes()).hexdigest()
        if model_asset.is_file()
        else "",
        serial=serial,
        avd=avd,
    )


def verify_device(
    plan: DevicePlan,
    *,
    build_timeout: float = DEFAULT_BUILD_TIMEOUT,
    boot_timeout: float = DEFAULT_BOOT_TIMEOUT,
    test_timeout: float = DEFAULT_TEST_TIMEOUT,
    boot_attempts: int = BOOT_ATTEMPTS,
    on_progress: Progress | None = None,
    env: Mapping[str, str] | None = None,
) -> DeviceVerification:
    """Build, (boot,) install and run the golden test; see the module docstring.

    Raises :class:`DeviceSetupError` for infrastructure failures; returns a result whose
    ``status`` is ``passed``, ``failed`` or ``crashed`` when the test ran.
    """
    env = dict(os.environ if env is None else env)
    if plan.sdk.root is not None:
        env.setdefault("ANDROID_HOME", str(plan.sdk.root))
        env.setdefault("ANDROID_SDK_ROOT", str(plan.sdk.root))
    step = on_progress or (lambda _msg: None)
    log_dir = plan.android_dir / LOG_DIR
    shutil.rmtree(log_dir, ignore_errors=True)
    runner = _Runner(log_dir, env)
    timings: dict[str, float] = {}
    adb = plan.sdk.adb
    emulator: _Emulator | None = None
    serial = plan.serial
    avd_name: str | None = None
    try:
        # Start the emulator first: it boots while Gradle builds.
        if plan.avd is not None:
            assert plan.sdk.emulator is not None
            avds = list_avds(runner, plan.sdk.emulator)
            name = plan.avd or (avds[0] if avds else "")
            if not name or name not in avds:
                images = _system_images(plan.sdk.root)
                raise DeviceSetupError(
                    "avd",
                    f"no Android Virtual Device named {name!r}"
                    if name
                    else "no Android Virtual Device (AVD) exists",
                    received=f"AVDs: {avds or 'none'}; system images: {images or 'none'}",
                    supported="an AVD listed by 'emulator -list-avds'",
                    fix=f'Create one: sdkmanager "{SYSTEM_IMAGE}" && '
                    f'avdmanager create avd -n edgesdk -k "{SYSTEM_IMAGE}"; '
                    "then pass --emulator edgesdk",
                )
            avd_name = name
            devices = _adb_devices(runner, adb)
            serial = _running_avd(runner, adb, devices, name)
            if serial is not None:  # already running: use it, and leave it running
                step(f"Using the running emulator {serial} ({name})")
            else:
                emulator = _Emulator(plan.sdk, runner, name, _pick_port(devices))
                serial = emulator.serial
                step(f"Starting the emulator {name} ({serial})")
                t = time.monotonic()
                emulator.start(cold=False)

        step("Building the app and its golden test with Gradle")
        t_build = time.monotonic()
        res = runner.run(
            [*plan.gradle, "--console=plain", *GRADLE_TASKS],
            timeout=build_timeout,
            stage="build",
            log="gradle.log",
            cwd=plan.android_dir,
            what="the Gradle build",
        )
        timings["build"] = time.monotonic() - t_build
        if res.returncode != 0:
            raise DeviceSetupError(
                "build",
                f"the Gradle build failed (exit code {res.returncode})",
                received=_tail(res.stdout, 20),
                fix=f"See {log_dir / 'gradle.log'}; the build needs JDK 17, the Android SDK "
                "(platforms;android-35) and network access to Google's Maven for the plugin",
            )
        app_apk = _find_apk(plan.android_dir, APP_APK, "app")
        test_apk = _find_apk(plan.android_dir, TEST_APK, "androidTest")

        if emulator is not None:
            step(f"Waiting for {emulator.serial} to boot")
            reason = None
            for attempt in range(max(1, boot_attempts)):
                if attempt:
                    step(f"Retrying the boot (cold boot, attempt {attempt + 1})")
                    emulator.stop()
                    emulator.start(cold=True)
                reason = emulator.wait_boot(boot_timeout)
                if reason is None:
                    break
            timings["boot"] = time.monotonic() - t
            if reason is not None:
                raise DeviceSetupError(
                    "boot",
                    f"{reason} (after {max(1, boot_attempts)} attempts)",
                    received=_tail((log_dir / "emulator.log").read_text("utf-8", "replace"), 8),
                    fix="Check that KVM / hardware acceleration works (emulator -accel-check) "
                    "and the AVD starts by hand: emulator -avd NAME",
                )
        else:
            assert serial is not None
            devices = _adb_devices(runner, adb)
            if devices.get(serial) != "device":
                raise DeviceSetupError(
                    "device",
                    f"the device {serial} is not ready"
                    + (f" (state: {devices[serial]})" if serial in devices else " (not connected)"),
                    received=f"adb devices: {devices or 'none'}",
                    fix="Connect and authorize the device (adb devices lists it as 'device'), "
                    "or use --emulator",
                )

        assert serial is not None
        step(f"Installing the app and its test on {serial}")
        t = time.monotonic()
        _install(runner, adb, serial, app_apk)
        _install(runner, adb, serial, test_apk)
        timings["install"] = time.monotonic() - t

        step(f"Running the golden test on {serial}")
        t = time.monotonic()
        res = runner.run(
            [str(adb), "-s", serial, "shell", "am", "instrument", "-w", "-r", plan.ids.component],
            timeout=test_timeout,
            stage="instrument",
            log="instrument.txt",
            what="the golden test (am instrument)",
        )
        timings["test"] = time.monotonic() - t
        parsed = parse_instrumentation(res.stdout)
        status, cases, summary, problems = interpret(
            parsed, plan.golden, plan.golden_sha256, plan.model_sha256
        )
        return DeviceVerification(
            tier="device",
            status=status,
            passed=status == "passed",
            serial=serial,
            avd=avd_name,
            started_emulator=emulator is not None,
            cases=cases,
            expected_cases=len(plan.golden.cases),
            summary=summary,
            device=dict(summary.get("device") or {}),
            problems=problems,
            timings_s=timings,
            logs=str(log_dir),
        )
    finally:
        if emulator is not None:
            step(f"Stopping the emulator {emulator.serial}")
            emulator.stop()


def environment_error(exc: DeviceSetupError, plan: DevicePlan | None = None) -> DeviceVerification:
    """A result for a device run the environment prevented (never reported as run)."""
    return DeviceVerification(
        tier="device",
        status="environment_error",
        passed=False,
        serial=None if plan is None else plan.serial,
        avd=None if plan is None else plan.avd,
        expected_cases=0 if plan is None else len(plan.golden.cases),
        stage=exc.stage,
        message=exc.message,
        logs=None if plan is None else str(plan.android_dir / LOG_DIR),
    )


__all__ = [
    "AndroidSdk",
    "AppIds",
    "DevicePlan",
    "DeviceSetupError",
    "DeviceVerification",
    "InstrumentationOutput",
    "InstrumentationStatus",
    "app_ids",
    "environment_error",
    "find_sdk",
    "gradle_command",
    "interpret",
    "not_run",
    "parse_instrumentation",
    "plan_device",
    "verify_device",
]
