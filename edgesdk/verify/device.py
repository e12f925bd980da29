"""Tier 4: the generated golden test on an emulator or a device, driven through Gradle and adb.

:func:`verify_device` builds the app and its instrumented test from the generated project
(``OUT/android/gradlew`` when present, else ``gradle`` on PATH:
``assembleDebug assembleDebugAndroidTest``), starts an emulator when asked
(``emulator -avd NAME -no-window -no-audio -no-boot-anim``, polling
``adb shell getprop sys.boot_completed``, with a boot timeout and one cold-boot retry), installs
both APKs with ``adb install -r -t``, runs ``adb shell am instrument -w -r`` and parses its raw
status output (:func:`parse_instrumentation`). The golden test runs once per accelerator in
:data:`ACCELERATORS` (``-e accelerator CPU``, then ``GPU``): it never falls back, and a device
without the GPU makes that run ``not_available``, not a failure. The emulator it started is
stopped at the end; an emulator of the same AVD that was already running (``adb emu avd name``)
is used and left running.

Two kinds of failure are kept apart:

- the device ran the golden cases and one is out of tolerance (or the test crashed):
  the result says ``failed``; the CLI exits 3;
- the environment did not let it run (no SDK, no AVD, emulator did not boot, build or install
  failed, a step timed out): :class:`DeviceSetupError` (exit 4), naming the stage.

Every subprocess runs with a timeout in its own process group, which is killed on timeout.
Nothing is reported as run on a device unless its output was parsed from ``am instrument``.
Each case line the device reports is re-checked on the host by the rule of the app's task
(:meth:`edgesdk.tasks.base.Task.golden_checker`: a classifier's score vectors, an object
detector's detections through ``detect(pixels)`` and ``detect(bitmap)``).

No device or emulator exists where edgesdk is tested: ``tests/test_verify_device.py`` drives
this module through stand-in ``adb``/``gradle``/``emulator`` tools (``tests/fakes/``), which
tests the orchestration and the host re-check only, never a run on a device.

This module plans and runs the steps and holds the result; the parts live beside it:
:mod:`.android_sdk` (finding the SDK tools, the app's ids, :class:`DeviceSetupError`),
:mod:`.emulator`, :mod:`.instrumentation` (``am instrument`` output) and :mod:`._proc`
(subprocesses). Their names stay importable from here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..codegen.runtime import GPU_RELATIVE_TOLERANCE
from . import golden as gv
from . import reported
from ._proc import _kill_group as _kill_group
from ._proc import _Runner as _Runner
from ._proc import _tail as _tail
from .android_sdk import ADB_TIMEOUT as ADB_TIMEOUT
from .android_sdk import SDK_SETUP as SDK_SETUP
from .android_sdk import SYSTEM_IMAGE as SYSTEM_IMAGE
from .android_sdk import AndroidSdk as AndroidSdk
from .android_sdk import AppIds as AppIds
from .android_sdk import DeviceSetupError as DeviceSetupError
from .android_sdk import app_ids as app_ids
from .android_sdk import find_sdk as find_sdk
from .android_sdk import gradle_command as gradle_command
from .emulator import _adb_devices as _adb_devices
from .emulator import _Emulator as _Emulator
from .emulator import _pick_port as _pick_port
from .emulator import _running_avd as _running_avd
from .emulator import _system_images as _system_images
from .emulator import list_avds as list_avds
from .instrumentation import InstrumentationOutput as InstrumentationOutput
from .instrumentation import InstrumentationStatus as InstrumentationStatus
from .instrumentation import _recheck as _recheck
from .instrumentation import interpret as interpret
from .instrumentation import parse_instrumentation as parse_instrumentation

DEFAULT_BUILD_TIMEOUT = 1800.0
DEFAULT_BOOT_TIMEOUT = 600.0
DEFAULT_TEST_TIMEOUT = 900.0
INSTALL_TIMEOUT = 300.0
BOOT_ATTEMPTS = 2
GRADLE_TASKS = ("assembleDebug", "assembleDebugAndroidTest")
APP_APK = Path("app", "build", "outputs", "apk", "debug")
TEST_APK = Path("app", "build", "outputs", "apk", "androidTest", "debug")
LOG_DIR = Path("build", "edgesdk-verify")


Progress = Callable[[str], None]


# ------------------------------------------------------------------------------ result


#: The accelerators the golden test runs on, in order: the CPU always, then the GPU when the
#: device offers it (the test's ``accelerator`` argument; it never falls back).
ACCELERATORS = ("CPU", "GPU")


@dataclass(frozen=True)
class AcceleratorRun:
    """The golden test on one accelerator other than the CPU (the CPU run is the main result)."""

    accelerator: str
    status: str  #: passed, failed, crashed, not_available
    cases: tuple[Any, ...] = ()  #: :class:`~.reported.ReportedCase` s of the app's task
    summary: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    reason: str = ""  #: why it was not available

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "accelerator": self.accelerator,
            "status": self.status,
            "passed": self.passed,
            "cases": [c.to_dict() for c in self.cases],
            "failing_cases": [c.index for c in self.cases if not c.passed],
            "problems": list(self.problems),
            "reason": self.reason,
            "tolerance_rule": "max(tolerance, "
            f"{GPU_RELATIVE_TOLERANCE} * max(1, max |host score|))",
        }


@dataclass(frozen=True)
class DeviceVerification:
    """The golden test on a device (tier 4), or why it did not run."""

    tier: str
    status: str  #: passed, failed, crashed, environment_error, not_run
    passed: bool
    serial: str | None = None
    avd: str | None = None
    started_emulator: bool = False
    cases: tuple[Any, ...] = ()  #: :class:`~.reported.ReportedCase` s of the app's task
    expected_cases: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    stage: str | None = None  #: where an environment error happened
    message: str = ""
    timings_s: dict[str, float] = field(default_factory=dict)
    logs: str | None = None
    gpu: AcceleratorRun | None = None  #: the GPU run; None when it was not attempted
    cpu_status: str = ""  #: the CPU run's own status ("" = ``status``)

    @property
    def ran(self) -> bool:
        """True only when ``am instrument`` output with case results was parsed."""
        return self.status in ("passed", "failed", "crashed")

    @property
    def failing(self) -> tuple[Any, ...]:
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
            "accelerators": {
                "CPU": {
                    "status": self.cpu_status or self.status,
                    "passed": (self.cpu_status or self.status) == "passed",
                },
                "GPU": None if self.gpu is None else self.gpu.to_dict(),
            },
        }


def not_run(reason: str) -> DeviceVerification:
    return DeviceVerification(tier="device", status="not_run", passed=False, message=reason)


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
    golden: reported.GoldenChecker  #: the app's golden set and its task's rule
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
    task: Any | None = None,
) -> DevicePlan:
    """Check the environment and the project for a device run; raise :class:`DeviceSetupError`
    (exit 4) naming what is missing. ``avd``: None for ``serial``, "" for the first AVD.
    ``task`` (:class:`~edgesdk.tasks.base.Task`, from report.json) reads the golden set with its
    own reader and rule (:meth:`~edgesdk.tasks.base.Task.golden_checker`); None tells the task
    from the golden file (:func:`edgesdk.tasks.for_golden`)."""
    from .. import tasks

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
    if task is None:
        task = tasks.for_golden(golden_dir / gv.DATA_NAME)
    golden = task.golden_checker(golden_dir)
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

        runs: dict[str, tuple[str, tuple[Any, ...], dict[str, Any], tuple[str, ...]]]
        runs = {}
        for accelerator in ACCELERATORS:
            step(f"Running the golden test on {serial} ({accelerator})")
            t = time.monotonic()
            res = runner.run(
                [str(adb), "-s", serial, "shell", "am", "instrument", "-w", "-r",
                 "-e", "accelerator", accelerator, plan.ids.component],
                timeout=test_timeout,
                stage="instrument",
                log=f"instrument-{accelerator.lower()}.txt",
                what=f"the golden test on the {accelerator} (am instrument)",
            )  # fmt: skip
            timings[f"test_{accelerator.lower()}"] = time.monotonic() - t
            parsed = parse_instrumentation(res.stdout)
            runs[accelerator] = interpret(
                parsed, plan.golden, plan.golden_sha256, plan.model_sha256, accelerator
            )
            if accelerator == "CPU" and runs["CPU"][0] == "crashed":
                break
        timings["test"] = sum(v for k, v in timings.items() if k.startswith("test_"))
        status, cases, summary, problems = runs["CPU"]
        gpu = None
        if "GPU" in runs:
            g_status, g_cases, g_summary, g_problems = runs["GPU"]
            gpu = AcceleratorRun(
                "GPU", g_status, g_cases, g_summary, g_problems,
                str(g_summary.get("accelerator_reason", "")),
            )  # fmt: skip
        gpu_ok = gpu is None or gpu.status in ("passed", "not_available")
        return DeviceVerification(
            tier="device",
            status=status if status != "passed" or gpu_ok else "failed",
            passed=status == "passed" and gpu_ok,
            gpu=gpu,
            cpu_status=status,
            serial=serial,
            avd=avd_name,
            started_emulator=emulator is not None,
            cases=cases,
            expected_cases=plan.golden.case_count,
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
        expected_cases=0 if plan is None else plan.golden.case_count,
        stage=exc.stage,
        message=exc.message,
        logs=None if plan is None else str(plan.android_dir / LOG_DIR),
    )


__all__ = [
    "ACCELERATORS",
    "AcceleratorRun",
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
