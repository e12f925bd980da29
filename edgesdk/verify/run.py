"""``edgesdk verify``: every tier that can run for a target, each result naming its tier.

For an ``edgesdk package`` output folder:

1. host parity (tier 1): Keras vs the ``.tflite`` (:func:`edgesdk.verify.parity.verify_host`),
   when the Keras model is available (skipped, and said so, when it is not);
2. golden vectors on the host (tier 1): every golden case re-run through the Python
   preprocessing and LiteRT, against the stored references (:func:`.golden.verify_golden`);
3. with ``arm64``: the golden inputs through aarch64 LiteRT under qemu-user (tier ``arm64``,
   :mod:`.arm64`);
4. with ``apk``: the debug and test APKs assembled and signed without Gradle, then checked
   (tier ``apk``, :mod:`.apk`);
5. with ``android_host``: the app's own code on the host JVM (tier android_host,
   :mod:`.android_host`); its toolchain is looked up first (missing: exit 4);
6. with ``serial`` or ``avd``: the generated golden test on a device or an emulator (tier 4,
   :mod:`.device`). Its environment is checked first, so a missing SDK fails in a second.

A task whose outputs these checks do not fit (an object detector) runs its own host checks
instead of 1 and 2 (:meth:`edgesdk.tasks.base.Task.verify_output`); the tiers of 3-6 run for a
task that lists them in :attr:`edgesdk.tasks.base.Task.supported_tiers` and are refused
(exit 1, before anything runs) for one that does not.

For a ``.tflite`` file only host parity runs. Exit codes (:attr:`VerifyResult.exit_code`):
0 all passed; 3 a check failed; 4 an environment was missing (and nothing failed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, EnvironmentMissingError, ModelLoadError
from . import android_host as ah
from . import device as dv
from . import golden as gv
from .parity import HostVerification

Progress = Callable[[str], None]


@dataclass(frozen=True)
class VerifyResult:
    """All checks of one ``edgesdk verify`` run."""

    target: str
    host: HostVerification | None
    host_skipped: str | None
    golden: gv.GoldenVerification | None
    golden_skipped: str | None
    device: dv.DeviceVerification
    #: Optional tiers by name (``arm64``, ``apk``): their result (``status``, ``to_dict()``),
    #: or a :class:`TierNotRun` when requested but its environment was missing.
    tiers: tuple[tuple[str, Any], ...] = ()
    #: The android_host run, or a :class:`TierNotRun` when requested but it could not run here.
    android_host: ah.AndroidHostVerification | TierNotRun | None = None
    android_host_skipped: str = "not requested: pass --android-host"

    @property
    def failed(self) -> bool:
        return (
            (self.host is not None and not self.host.passed)
            or (self.golden is not None and not self.golden.passed)
            or (self.android_host is not None and self.android_host.status in ("failed", "crashed"))
            or self.device.status in ("failed", "crashed")
            or any(r.status == "failed" for _, r in self.tiers)
        )

    @property
    def exit_code(self) -> int:
        if self.failed:
            return 3
        requested = [r for _, r in self.tiers]
        if self.android_host is not None:
            requested.append(self.android_host)
        if self.device.status == "environment_error" or any(
            isinstance(r, TierNotRun) for r in requested
        ):
            return 4
        return 0

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def checks(self) -> list[dict[str, Any]]:
        def status(result: Any, skipped: str | None) -> dict[str, Any]:
            if result is None:
                return {"status": "skipped", "reason": skipped}
            return {"status": "passed" if result.passed else "failed"}

        dev: dict[str, Any] = {"status": self.device.status}
        if self.device.status in ("not_run", "environment_error"):
            dev["reason"] = self.device.message
        gpu_run = self.device.gpu
        gpu: dict[str, Any] = {"status": "not_run", "reason": "the device test did not run"}
        if gpu_run is not None and gpu_run.status == "not_available":
            gpu = {"status": "not_run", "reason": gpu_run.reason or "the device has no GPU"}
        elif gpu_run is not None:
            gpu = {"status": "passed" if gpu_run.passed else "failed"}
        extra = []
        for name, r in self.tiers:
            entry = {"check": "golden" if name != "apk" else "apk", "tier": name}
            entry["status"] = r.status
            if isinstance(r, TierNotRun):
                entry["reason"] = r.reason
            extra.append(entry)
        return [
            {"check": "host_parity", "tier": "host", **status(self.host, self.host_skipped)},
            {"check": "golden", "tier": "host", **status(self.golden, self.golden_skipped)},
            *extra,
            {"check": "golden", "tier": "device", **dev},
            {"check": "golden_gpu", "tier": "device", **gpu},
            {"check": "golden", "tier": ah.TIER, **self._android_host_check()},
        ]

    def _android_host_check(self) -> dict[str, Any]:
        if self.android_host is None:
            return {"status": "not_run", "reason": self.android_host_skipped}
        if isinstance(self.android_host, TierNotRun):
            return {"status": self.android_host.status, "reason": self.android_host.reason}
        return {"status": "passed" if self.android_host.passed else "failed"}

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.host is not None:
            # Host parity fields stay at the top level, as before golden vectors existed.
            d.update(self.host.to_dict())
            d["host_parity_passed"] = self.host.passed
        d["target"] = self.target
        d["host_parity"] = (
            self.host.to_dict()
            if self.host is not None
            else {"tier": "host", "status": "skipped", "reason": self.host_skipped}
        )
        d["golden"] = (
            self.golden.to_dict()
            if self.golden is not None
            else {"tier": "host", "status": "skipped", "reason": self.golden_skipped}
        )
        for name, r in self.tiers:
            d[name] = r.to_dict()
        if self.android_host is not None:
            d["android_host"] = self.android_host.to_dict()
        d["device"] = self.device.to_dict()
        d["checks"] = self.checks()
        d["passed"] = self.passed
        d["exit_code"] = self.exit_code
        return d


@dataclass(frozen=True)
class TierNotRun:
    """A requested tier that could not run (exit 4): its environment is missing
    (``environment_error``), or it does not apply to this app (``not_run``, e.g. a
    ``compiled-model`` app for the tiers that run LiteRT 2.16.1's Interpreter classes)."""

    tier: str
    reason: str
    status: str = "environment_error"

    @property
    def passed(self) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "status": self.status, "reason": self.reason}


def app_runtime(out: Path, report: dict[str, Any] | None) -> str:
    """The Android runtime of the app in ``out``: ``report.json["android"]["runtime"]``, else
    read from the generated sources (a wrapper importing ``CompiledModel``)."""
    from ..codegen.runtime import COMPILED_MODEL, INTERPRETER

    recorded = ((report or {}).get("android") or {}).get("runtime")
    if recorded in (COMPILED_MODEL, INTERPRETER):
        return str(recorded)
    for src in sorted((out / "android" / "app" / "src" / "main" / "java").rglob("*.kt")):
        try:
            text = src.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "import com.google.ai.edge.litert.CompiledModel" in text:
            return COMPILED_MODEL
    return INTERPRETER


def _runtime_not_run(tier: str) -> TierNotRun:
    """Tiers android_host and apk run the app on the real LiteRT 2.16.1 Interpreter classes
    (Maven Central): they do not apply to a compiled-model app."""
    return TierNotRun(
        tier,
        f"tier {tier} runs the app on LiteRT 2.16.1's Interpreter classes (Maven Central); this "
        "app uses the compiled-model runtime, whose classes are on Google's Maven only, so it "
        "is checked here by a compile check against a stub of the documented API. Re-package "
        "with --android-runtime interpreter to get this tier",
        status="not_run",
    )


def _optional_tiers(
    t: Path,
    arm64: bool,
    apk: bool,
    arm64_cpu: str | None,
    step: Progress,
    runtime: str,
    task: Any = None,
) -> tuple[tuple[str, Any], ...]:
    """Run the requested optional tiers on the package folder ``t`` of ``task`` (None:
    report.json names no known task)."""
    from ..codegen.runtime import COMPILED_MODEL

    out: list[tuple[str, Any]] = []
    if arm64:
        from .arm64 import verify_arm64

        step("Running the golden vectors on aarch64 LiteRT under qemu (tier arm64)")
        try:
            out.append(("arm64", verify_arm64(t, cpu=arm64_cpu, task=task)))
        except EnvironmentMissingError as exc:
            out.append(("arm64", TierNotRun("arm64", exc.message)))
    if apk and runtime == COMPILED_MODEL:
        out.append(("apk", _runtime_not_run("apk")))
    elif apk:
        from .apk import verify_apk

        step("Assembling and checking the APKs without Gradle (tier apk)")
        try:
            out.append(("apk", verify_apk(t)))
        except EnvironmentMissingError as exc:
            out.append(("apk", TierNotRun("apk", exc.message)))
    return tuple(out)


def _report(out: Path) -> dict[str, Any] | None:
    path = out / "report.json"
    if not path.is_file():
        return None
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except ValueError:
        return None


def _check_task_verifiable(
    report: dict[str, Any] | None, target: Path, requested: tuple[str, ...] = ()
) -> Any:
    """The package folder's task (None when unknown); refuses what it cannot verify:
    ``requested`` names the optional tiers asked for (``arm64``, ``apk``, ``android_host``,
    ``device``), each of which the task must list in ``supported_tiers``."""
    from .. import tasks

    name = (report or {}).get("model", {}).get("task")
    task = tasks.get(name) if name in tasks.names() else None
    if task is not None and not task.verifiable:
        raise ConfigError(
            f"edgesdk verify does not check {name} outputs yet",
            received=f"{target} (task {name})",
            supported="image classifiers and generic tensor models",
            fix="The host checks ran when the model was packaged (report.json: parity); run the "
            "generated on-device test with android/run-device-test.sh",
        )
    missing = [] if task is None else [t for t in requested if t not in task.supported_tiers]
    if task is not None and missing:
        flags = {"arm64": "--arm64", "apk": "--apk", "android_host": "--android-host",
                 "device": "--device/--emulator"}  # fmt: skip
        raise ConfigError(
            f"edgesdk verify cannot run tier {', '.join(missing)} for {name} folders yet",
            received=f"{target} (task {name}) with {' '.join(flags[t] for t in missing)}",
            supported=", ".join(sorted(task.supported_tiers)) or "the host tier only",
            fix=f"Run 'edgesdk verify OUT' without {' '.join(flags[t] for t in missing)}",
        )
    return task


def _generic_host_checks(
    t: Path,
    is_out: bool,
    report: dict[str, Any] | None,
    reference: str | Path | None,
    data: str | Path | None,
    samples: int | None,
    trust_model: bool,
    step: Progress,
    warn: Progress,
) -> tuple[Any, str | None, Any, str | None]:
    """Host parity and the golden re-run (tier 1) for a one-output model."""
    from .parity import verify_host

    target = t
    golden_dir = t / "android" / gv.ANDROID_ASSET_DIR if is_out else None
    has_golden = golden_dir is not None and (golden_dir / gv.DATA_NAME).is_file()

    host = host_skipped = None
    recorded = None if report is None else report.get("model", {}).get("source")
    if (
        is_out
        and reference is None
        and has_golden
        and (not recorded or not Path(recorded).exists())
    ):
        host_skipped = (
            "the Keras model is not available"
            + (f" (recorded: {recorded})" if recorded else "")
            + "; pass --reference MODEL to compare with it"
        )
        warn(f"host parity skipped: {host_skipped}")
    else:
        step("Verifying on the host (tier 1)")
        host = verify_host(
            t, reference=reference, data=data, samples=samples, trust_model=trust_model
        )

    golden = None
    golden_skipped: str | None = None
    if not is_out:
        golden_skipped = "a .tflite file has no golden vectors; verify the package output folder"
    elif not has_golden:
        golden_skipped = (
            "no golden vectors in this folder (package with --target android and --golden-cases N)"
        )
    else:
        assert golden_dir is not None
        model_path = t / "model.tflite"
        if not model_path.is_file():
            raise ModelLoadError(
                f"no TFLite model at {model_path}",
                received=str(target),
                fix="Pass the folder written by 'edgesdk package'",
            )
        step("Re-running the golden vectors on the host (tier 1)")
        model_bytes = model_path.read_bytes()
        golden = gv.verify_golden(golden_dir, model_bytes, str(model_path))
        asset = t / "android" / "app" / "src" / "main" / "assets" / "model.tflite"
        if asset.is_file() and asset.read_bytes() != model_bytes:
            golden = dataclasses.replace(
                golden,
                passed=False,
                problems=(
                    *golden.problems,
                    f"the app's model {asset} differs from {model_path} "
                    f"(SHA-256 {hashlib.sha256(asset.read_bytes()).hexdigest()[:12]}…)",
                ),
            )

    return host, host_skipped, golden, golden_skipped


def verify(
    target: str | Path,
    *,
    reference: str | Path | None = None,
    data: str | Path | None = None,
    samples: int | None = None,
    trust_model: bool = False,
    serial: str | None = None,
    avd: str | None = None,
    build_timeout: float = dv.DEFAULT_BUILD_TIMEOUT,
    boot_timeout: float = dv.DEFAULT_BOOT_TIMEOUT,
    test_timeout: float = dv.DEFAULT_TEST_TIMEOUT,
    android_host: bool = False,
    on_progress: Progress | None = None,
    on_warning: Progress | None = None,
    env: Mapping[str, str] | None = None,
    arm64: bool = False,
    apk: bool = False,
    arm64_cpu: str | None = None,
) -> VerifyResult:
    """Run the checks described in the module docstring. ``avd``: None (no emulator), ""
    (the first AVD) or a name; ``serial``: a device from ``adb devices``."""
    step = on_progress or (lambda _m: None)
    warn = on_warning or (lambda _m: None)
    t = Path(target)
    on_device = serial is not None or avd is not None
    if serial is not None and avd is not None:
        raise ConfigError(
            "--device and --emulator exclude each other",
            received=f"--device {serial} --emulator {avd or '(first AVD)'}",
            fix="Pass one of them",
        )
    is_out = t.is_dir()
    if (arm64 or apk) and not (is_out and (t / "android").is_dir()):
        raise ConfigError(
            "--arm64 and --apk need the folder written by 'edgesdk package --target android'",
            received=str(target),
            fix="Pass the output folder (it holds android/), not a .tflite file",
        )
    if on_device and not is_out:
        raise ConfigError(
            "the device check needs the folder written by 'edgesdk package --target android'",
            received=str(target),
            fix="Pass the output folder (it holds android/), not a .tflite file",
        )

    report = _report(t) if is_out else None
    requested = tuple(
        name
        for name, asked in (("arm64", arm64), ("apk", apk), ("android_host", android_host),
                            ("device", on_device))  # fmt: skip
        if asked
    )
    task = _check_task_verifiable(report, t, requested)
    runtime = app_runtime(t, report) if is_out else ""
    host_toolchain = None
    host_not_run: TierNotRun | None = None
    if android_host:
        if not is_out:
            raise ConfigError(
                "tier android_host needs the folder written by 'edgesdk package --target android'",
                received=str(target),
                fix="Pass the output folder (it holds android/), not a .tflite file",
            )
        from ..codegen.runtime import COMPILED_MODEL

        if runtime == COMPILED_MODEL:
            host_not_run = _runtime_not_run(ah.TIER)
        else:
            from ..toolchain import android_host as tch

            step("Looking up the android_host toolchain")
            host_toolchain = tch.locate()  # ToolchainMissing: exit 4 before anything runs

    plan = None
    if on_device:
        step("Checking the Android tools")
        try:
            plan = dv.plan_device(t, serial=serial, avd=avd, env=env, task=task)
        except dv.DeviceSetupError as exc:
            why = "not run: the device environment is missing (see device)"
            return VerifyResult(str(target), None, why, None, why, dv.environment_error(exc))

    checks = None
    if task is not None and report is not None:
        checks = task.verify_output(
            t, report, reference=reference, data=data, samples=samples,
            trust_model=trust_model, step=step, warn=warn,
        )  # fmt: skip
    if checks is not None:
        host, host_skipped = checks.host, checks.host_skipped
        golden, golden_skipped = checks.golden, checks.golden_skipped
    else:
        host, host_skipped, golden, golden_skipped = _generic_host_checks(
            t, is_out, report, reference, data, samples, trust_model, step, warn
        )

    tiers = _optional_tiers(t, arm64, apk, arm64_cpu, step, runtime, task) if is_out else ()
    host_run: ah.AndroidHostVerification | TierNotRun | None = host_not_run
    if host_toolchain is not None:
        host_run = ah.verify_android_host(
            t, on_progress=step, toolchain=host_toolchain, task=task
        )

    if plan is None:
        device = dv.not_run(
            "tier 4 was not requested: pass --emulator [AVD] or --device SERIAL"
            if is_out
            else "tier 4 needs the package output folder"
        )
    else:
        try:
            device = dv.verify_device(
                plan,
                build_timeout=build_timeout,
                boot_timeout=boot_timeout,
                test_timeout=test_timeout,
                on_progress=step,
                env=env,
            )
        except dv.DeviceSetupError as exc:
            device = dv.environment_error(exc, plan)
    return VerifyResult(
        str(target), host, host_skipped, golden, golden_skipped, device, tiers, host_run
    )


__all__ = ["TierNotRun", "VerifyResult", "app_runtime", "verify"]
