"""``edgesdk verify --emulator / --device`` (tier 4): ORCHESTRATION ONLY.

No Android device, emulator or Android Gradle plugin exists on these machines. These tests put
the stand-in tools of ``tests/fakes/`` (``gradle`` on PATH; ``adb`` and ``emulator`` in a fake
``ANDROID_HOME``) in front of edgesdk and check how it drives them: commands, boot polling and
retry, timeouts, stopping the emulator it started, parsing the real ``am instrument -w -r``
raw format, and keeping environment failures (exit 4) apart from parity failures (exit 3).
They prove nothing about parity on a device: the fake ``adb`` prints results computed from the
golden files, it runs no model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
from pathlib import Path

import pytest

from edgesdk.verify import device as dv

from .helpers import run_cli

FAKES = Path(__file__).resolve().parent / "fakes"


@pytest.fixture(scope="module")
def out(cnn_h5, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dev") / "out"
    res = run_cli("package", cnn_h5, "-o", path, "--target", "android", "--golden-cases", 6)
    assert res.exit_code == 0, res.stderr
    return path


@pytest.fixture
def fake_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fake ANDROID_HOME with the stand-in adb and emulator, and gradle on PATH."""
    sdk = tmp_path / "sdk"
    (sdk / "platform-tools").mkdir(parents=True)
    (sdk / "emulator").mkdir()
    (sdk / "platform-tools" / "adb").symlink_to(FAKES / "adb")
    (sdk / "emulator" / "emulator").symlink_to(FAKES / "emulator")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gradle").symlink_to(FAKES / "gradle")
    state = tmp_path / "state"
    monkeypatch.setenv("ANDROID_HOME", str(sdk))
    monkeypatch.delenv("ANDROID_SDK_ROOT", raising=False)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("EDGESDK_FAKE_STATE", str(state))
    monkeypatch.setenv("EDGESDK_FAKE_SCENARIO", "pass")
    monkeypatch.delenv("EDGESDK_FAKE_DEVICES", raising=False)
    yield state
    _stop_leftovers(state)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # a zombie (exited, not yet reaped by its parent) is not running
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except OSError:
        return True


def _calls(state: Path, tool: str) -> list:
    path = state / f"{tool}.calls"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _stop_leftovers(state: Path) -> None:
    """Safety net: stop fake emulators a failing test left running (by their recorded pid)."""
    for call in _calls(state, "emulator"):
        if "pid" in call and _alive(call["pid"]):
            os.kill(call["pid"], signal.SIGKILL)


def _verify(out: Path, *args: object):
    res = run_cli("verify", out, "--json", *args)
    return res, (json.loads(res.stdout) if res.stdout.strip() else None)


# ------------------------------------------------------------------------------ running


def test_orchestration_only_passing_run_on_an_emulator(out: Path, fake_sdk: Path) -> None:
    """Orchestration only: build, boot, install, am instrument, parse, stop the emulator."""
    res, obj = _verify(out, "--emulator", "")
    assert res.exit_code == 0, res.stderr
    dev = obj["device"]
    assert dev["tier"] == "device" and dev["status"] == "passed" and dev["ran"] is True
    assert dev["started_emulator"] is True and dev["avd"] == "edgesdk_test"
    assert dev["serial"] == "emulator-5554" and dev["expected_cases"] == 6
    assert [c["index"] for c in dev["cases"]] == list(range(6))
    assert all(c["passed"] and c["latency_ms"] > 0 for c in dev["cases"])
    assert dev["device"]["sdk"] == 34 and dev["summary"]["passed"] is True
    assert obj["checks"][2] == {"check": "golden", "tier": "device", "status": "passed"}
    assert obj["passed"] is True and obj["exit_code"] == 0

    gradle = _calls(fake_sdk, "gradle")
    assert gradle[0]["argv"] == ["--console=plain", "assembleDebug", "assembleDebugAndroidTest"]
    assert Path(gradle[0]["cwd"]) == out / "android"
    emulator = [c for c in _calls(fake_sdk, "emulator") if "pid" in c]
    assert len(emulator) == 1
    argv = emulator[0]["argv"]
    assert argv[:2] == ["-avd", "edgesdk_test"]
    assert {"-no-window", "-no-audio", "-no-boot-anim"} <= set(argv)
    assert not _alive(emulator[0]["pid"]), "the emulator edgesdk started was not stopped"
    adb = _calls(fake_sdk, "adb")
    installs = [c[-1] for c in adb if c[:5] == ["-s", "emulator-5554", "install", "-r", "-t"]]
    assert [Path(p).name for p in installs] == ["app-debug.apk", "app-debug-androidTest.apk"]
    instrument = [c for c in adb if "instrument" in c]
    assert instrument == [
        ["-s", "emulator-5554", "shell", "am", "instrument", "-w", "-r", "-e", "accelerator",
         acc, "com.example.cnn.test/com.example.cnn.GoldenInstrumentation"]
        for acc in ("CPU", "GPU")
    ]  # fmt: skip
    assert ["-s", "emulator-5554", "emu", "kill"] in adb
    logs = Path(dev["logs"])
    assert (logs / "gradle.log").is_file() and (logs / "instrument-cpu.txt").is_file()
    # the stand-in device offers no GPU: its column says so, and the run still passes
    gpu = dev["accelerators"]["GPU"]
    assert gpu["status"] == "not_available" and gpu["cases"] == [] and "not available" in (
        gpu["reason"]
    )
    assert dev["accelerators"]["CPU"] == {"status": "passed", "passed": True}


def test_orchestration_only_human_output(out: Path, fake_sdk: Path) -> None:
    res = run_cli("verify", out, "--emulator", "edgesdk_test")
    assert res.exit_code == 0, res.stderr
    assert "On device (tier 4) PASSED on emulator-5554" in res.stderr
    assert "6/6 golden cases passed" in res.stderr and "Golden cases, device" in res.stderr


def test_orchestration_only_gpu_is_a_separate_column(
    out: Path, fake_sdk: Path, monkeypatch
) -> None:
    """Orchestration only: on a device that offers the GPU, the golden test runs there too,
    rechecked on the host with the GPU tolerance, and shown as its own column."""
    monkeypatch.setenv("EDGESDK_FAKE_GPU", "pass")
    res, obj = _verify(out, "--emulator", "")
    assert res.exit_code == 0, res.stderr
    gpu = obj["device"]["accelerators"]["GPU"]
    assert gpu["status"] == "passed" and len(gpu["cases"]) == 6
    assert obj["checks"][3] == {"check": "golden_gpu", "tier": "device", "status": "passed"}
    assert "max(tolerance, 0.02 * max(1, max |host score|))" == gpu["tolerance_rule"]
    res = run_cli("verify", out, "--emulator", "edgesdk_test")
    assert res.exit_code == 0, res.stderr
    flat = " ".join(res.stderr.split())
    assert "GPU: PASSED 6/6" in flat and "(tier 4), CPU and GPU" in flat, res.stderr[-3000:]


def test_orchestration_only_a_failing_gpu_case_exits_3(
    out: Path, fake_sdk: Path, monkeypatch
) -> None:
    monkeypatch.setenv("EDGESDK_FAKE_GPU", "fail")
    res, obj = _verify(out, "--emulator", "")
    assert res.exit_code == 3, res.stderr
    dev = obj["device"]
    assert dev["accelerators"]["CPU"]["passed"] is True  # the CPU run itself passed
    assert dev["accelerators"]["GPU"]["failing_cases"] == [3]
    assert dev["passed"] is False and dev["status"] == "failed"


def test_orchestration_only_gpu_not_offered_is_shown(out: Path, fake_sdk: Path) -> None:
    res = run_cli("verify", out, "--emulator", "edgesdk_test")
    assert res.exit_code == 0, res.stderr
    flat = " ".join(res.stderr.split())
    assert "GPU: not available on this device" in flat


def test_orchestration_only_failing_case_exits_3(out: Path, fake_sdk: Path, monkeypatch) -> None:
    """Orchestration only: a case the (fake) device reports out of tolerance is a parity failure."""
    monkeypatch.setenv("EDGESDK_FAKE_SCENARIO", "fail_case")
    res, obj = _verify(out, "--emulator", "")
    assert res.exit_code == 3, res.stderr
    dev = obj["device"]
    assert dev["status"] == "failed" and dev["failing_cases"] == [3]
    bad = dev["cases"][3]
    assert bad["passed"] is False and bad["top1_got"] != bad["top1_expected"]
    assert obj["golden"]["passed"] is True  # the host side is fine: only the device failed
    human = run_cli("verify", out, "--emulator", "")
    assert human.exit_code == 3 and "On device (tier 4) FAILED" in human.stderr
    assert "5/6 golden cases passed" in human.stderr


def test_orchestration_only_a_device_claim_is_rechecked_on_the_host(out: Path) -> None:
    """Orchestration only: a case line saying passed with a diff over tolerance is not trusted."""
    from edgesdk.verify import golden as gv

    g = gv.read_golden(out / "android" / gv.ANDROID_ASSET_DIR)
    c = g.cases[0]
    line = json.dumps({
        "index": 0, "width": c.width, "height": c.height, "top1_expected": c.top1,
        "top1_got": c.top1, "max_abs_diff": 0.5, "tolerance": c.tolerance,
        "input_match": True, "bitmap_top1": c.top1, "latency_ms": 1.0, "passed": True,
    })  # fmt: skip
    text = f"INSTRUMENTATION_STATUS: edgesdk.case={line}\nINSTRUMENTATION_STATUS_CODE: 0\n"
    text += 'INSTRUMENTATION_RESULT: edgesdk.summary={"passed":true,"cases":1}\nINSTRUMENTATION_CODE: -1\n'
    status, cases, _, problems = dv.interpret(dv.parse_instrumentation(text), g, "", "")
    assert status == "failed" and cases[0].passed is False
    assert any("host rule" in p for p in problems) and any("1 of 6" in p for p in problems)


def _one_case_output(c, diff: float, summary: dict) -> str:
    line = json.dumps({
        "index": c.index, "width": c.width, "height": c.height, "top1_expected": c.top1,
        "top1_got": c.top1, "max_abs_diff": diff, "tolerance": c.tolerance,
        "input_match": True, "bitmap_top1": c.top1, "latency_ms": 1.0, "passed": True,
    })  # fmt: skip
    text = f"INSTRUMENTATION_STATUS: edgesdk.case={line}\nINSTRUMENTATION_STATUS_CODE: 0\n"
    summary_line = json.dumps(summary, separators=(",", ":"))
    return text + f"INSTRUMENTATION_RESULT: edgesdk.summary={summary_line}\nINSTRUMENTATION_CODE: -1\n"


def test_gpu_cases_are_rechecked_with_the_gpu_tolerance(out: Path) -> None:
    """A diff above the CPU tolerance passes on the GPU when within the GPU rule, and a diff
    beyond it fails there even when the device says passed."""
    from edgesdk.codegen.runtime import gpu_tolerance
    from edgesdk.verify import golden as gv

    g = gv.read_golden(out / "android" / gv.ANDROID_ASSET_DIR)
    g1 = dataclasses.replace(g, cases=g.cases[:1])
    c = g.cases[0]
    gpu_tol = gpu_tolerance(c.tolerance, max(abs(x) for x in c.scores))
    assert gpu_tol > 10 * c.tolerance
    summary = {"passed": True, "cases": 1, "accelerator": "GPU", "accelerator_available": True}
    within = dv.parse_instrumentation(_one_case_output(c, gpu_tol / 2, summary))
    status, cases, _, problems = dv.interpret(within, g1, "", "", "GPU")
    assert cases[0].passed is True and not [p for p in problems if "host rule" in p]
    cpu_summary = {**summary, "accelerator": "CPU"}
    status, cases, _, _ = dv.interpret(
        dv.parse_instrumentation(_one_case_output(c, gpu_tol / 2, cpu_summary)), g1, "", "", "CPU"
    )
    assert cases[0].passed is False  # the same diff fails on the CPU
    beyond = dv.parse_instrumentation(_one_case_output(c, gpu_tol * 2, summary))
    status, cases, _, problems = dv.interpret(beyond, g1, "", "", "GPU")
    assert status == "failed" and cases[0].passed is False


def test_a_gpu_run_that_ran_elsewhere_or_is_missing_is_never_counted(out: Path) -> None:
    from edgesdk.verify import golden as gv

    g = gv.read_golden(out / "android" / gv.ANDROID_ASSET_DIR)
    c = g.cases[0]
    # the test says it ran on the CPU when the GPU was asked for: a failure, with the reason
    on_cpu = {"passed": True, "cases": 1, "accelerator": "CPU", "accelerator_available": True}
    status, _, _, problems = dv.interpret(
        dv.parse_instrumentation(_one_case_output(c, 0.0, on_cpu)), g, "", "", "GPU"
    )
    assert status == "failed" and any("asked for the GPU" in p for p in problems)
    # the device has no GPU: not available, no cases
    absent = {"passed": False, "cases": 0, "accelerator": "GPU", "accelerator_available": False,
              "accelerator_reason": "GPU is not available"}  # fmt: skip
    text = "INSTRUMENTATION_RESULT: edgesdk.summary=" + json.dumps(absent) + "\n"
    status, cases, summary, _ = dv.interpret(
        dv.parse_instrumentation(text + "INSTRUMENTATION_CODE: -1\n"), g, "", "", "GPU"
    )
    assert (status, cases, summary["accelerator_reason"]) == (
        "not_available", (), "GPU is not available"
    )


@pytest.mark.slow  # the session's trained detector
def test_orchestration_only_a_detector_folder_is_rechecked_by_the_detection_rule(
    packaged, fake_sdk: Path, tmp_path: Path, monkeypatch
) -> None:
    """Orchestration only: an object detector's folder goes through the same steps; its case
    lines (the detector's GoldenResult keys, made up by the fake adb) are re-checked on the
    host by the detection rule, so a case the fake device calls passed while its worst IoU is
    below the stored minimum counts as failed (exit 3)."""
    import shutil

    from edgesdk.detection.verify import DetectionChecker

    det = tmp_path / "det"
    shutil.copytree(packaged["float"].out, det, ignore=shutil.ignore_patterns("build"))
    plan = dv.plan_device(det, serial="emulator-5554")
    assert isinstance(plan.golden, DetectionChecker) and plan.golden.case_count == 6
    res, obj = _verify(det, "--emulator", "")
    assert res.exit_code == 0, res.stderr
    dev = obj["device"]
    assert dev["status"] == "passed" and dev["expected_cases"] == 6
    assert [c["index"] for c in dev["cases"]] == list(range(6))
    assert all(c["passed"] and c["bitmap_agrees"] and "top1_got" not in c for c in dev["cases"])
    assert dev["accelerators"]["GPU"]["status"] == "not_available"
    assert {"check": "golden", "tier": "device", "status": "passed"} in obj["checks"]

    monkeypatch.setenv("EDGESDK_FAKE_SCENARIO", "lie_case")
    res, obj = _verify(det, "--emulator", "")
    assert res.exit_code == 3, res.stderr
    dev = obj["device"]
    assert dev["status"] == "failed" and dev["failing_cases"] == [3]
    assert dev["cases"][3]["min_iou"] == 0.5 and dev["cases"][3]["passed"] is False
    assert any("case 3" in p and "host rule says False" in p for p in dev["problems"])
    assert obj["golden"]["passed"] is True  # the host side is fine: only the device failed
    monkeypatch.setenv("COLUMNS", "240")  # the table's headers unwrapped
    human = run_cli("verify", det, "--emulator", "")
    assert human.exit_code == 3 and "5/6 golden cases passed" in human.stderr
    assert "min IoU" in human.stderr and "top-1" not in human.stderr  # the detector's table

    # a case line without the detect(Bitmap) check is not a pass of both entry points
    line = json.dumps({**dev["cases"][0], "passed": True})
    stripped = {k: v for k, v in json.loads(line).items() if not k.startswith("bitmap_")}
    text = f"INSTRUMENTATION_STATUS: edgesdk.case={json.dumps(stripped)}\n"
    text += "INSTRUMENTATION_STATUS_CODE: 0\n"
    text += 'INSTRUMENTATION_RESULT: edgesdk.summary={"passed":true,"cases":1}\n'
    text += "INSTRUMENTATION_CODE: -1\n"
    status, cases, _, problems = dv.interpret(dv.parse_instrumentation(text), plan.golden, "", "")
    assert status == "failed" and cases[0].passed is False
    assert any("host rule" in p for p in problems)


def test_orchestration_only_crash_is_a_device_failure(
    out: Path, fake_sdk: Path, monkeypatch
) -> None:
    monkeypatch.setenv("EDGESDK_FAKE_SCENARIO", "crash")
    res, obj = _verify(out, "--emulator", "")
    assert res.exit_code == 3, res.stderr
    assert obj["device"]["status"] == "crashed" and len(obj["device"]["cases"]) == 2
    assert any("crashed" in p for p in obj["device"]["problems"])


def test_orchestration_only_on_a_connected_device(out: Path, fake_sdk: Path, monkeypatch) -> None:
    monkeypatch.setenv("EDGESDK_FAKE_DEVICES", "R58M123ABC")
    monkeypatch.setenv("EDGESDK_FAKE_CRLF", "1")  # older adb shells end lines with CRLF
    res, obj = _verify(out, "--device", "R58M123ABC")
    assert res.exit_code == 0, res.stderr
    dev = obj["device"]
    assert dev["status"] == "passed" and dev["serial"] == "R58M123ABC"
    assert dev["started_emulator"] is False and len(dev["cases"]) == 6
    assert not [c for c in _calls(fake_sdk, "emulator") if "pid" in c]  # no emulator started


def test_orchestration_only_a_running_emulator_of_the_avd_is_used_and_left_running(
    out: Path, fake_sdk: Path
) -> None:
    import subprocess

    emulator = subprocess.Popen(
        [str(FAKES / "emulator"), "-avd", "edgesdk_test", "-no-window", "-port", "5560"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not (fake_sdk / "emulator-5560.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        res, obj = _verify(out, "--emulator", "edgesdk_test")
        assert res.exit_code == 0, res.stderr
        dev = obj["device"]
        assert dev["serial"] == "emulator-5560" and dev["avd"] == "edgesdk_test"
        assert dev["started_emulator"] is False and dev["status"] == "passed"
        assert emulator.poll() is None, "an emulator edgesdk did not start was stopped"
        assert ["-s", "emulator-5560", "emu", "kill"] not in _calls(fake_sdk, "adb")
        assert len([c for c in _calls(fake_sdk, "emulator") if "pid" in c]) == 1
    finally:
        emulator.kill()
        emulator.wait(timeout=10)


# --------------------------------------------------------------------- environment (exit 4)


def test_orchestration_only_emulator_that_never_boots_exits_4(
    out: Path, fake_sdk: Path, monkeypatch
) -> None:
    """Orchestration only: boot timeout, one cold-boot retry, the emulator stopped each time."""
    monkeypatch.setenv("EDGESDK_FAKE_SCENARIO", "no_boot")
    start = time.monotonic()
    res, obj = _verify(out, "--emulator", "", "--boot-timeout", "1")
    assert res.exit_code == 4, res.stderr
    assert time.monotonic() - start < 30
    dev = obj["device"]
    assert dev["status"] == "environment_error" and dev["stage"] == "boot" and dev["ran"] is False
    assert dev["cases"] == [] and "did not finish booting within 1 s" in dev["message"]
    assert "2 attempts" in dev["message"]
    starts = [c for c in _calls(fake_sdk, "emulator") if "pid" in c]
    assert len(starts) == 2 and "-no-snapshot-load" in starts[1]["argv"]
    assert not any(_alive(c["pid"]) for c in starts)
    assert not any("install" in c for c in _calls(fake_sdk, "adb"))
    assert obj["golden"]["passed"] is True  # host results are still reported


def test_orchestration_only_install_failure_exits_4(out: Path, fake_sdk: Path, monkeypatch) -> None:
    monkeypatch.setenv("EDGESDK_FAKE_SCENARIO", "install_fail")
    res, obj = _verify(out, "--emulator", "")
    assert res.exit_code == 4, res.stderr
    dev = obj["device"]
    assert dev["stage"] == "install" and "INSTALL_FAILED_INSUFFICIENT_STORAGE" in dev["message"]
    assert not any("instrument" in c for c in _calls(fake_sdk, "adb"))
    assert not any(_alive(c["pid"]) for c in _calls(fake_sdk, "emulator") if "pid" in c)


def test_orchestration_only_hang_past_the_timeout_exits_4(
    out: Path, fake_sdk: Path, monkeypatch
) -> None:
    """Orchestration only: am instrument hangs; it is killed at --test-timeout."""
    monkeypatch.setenv("EDGESDK_FAKE_SCENARIO", "hang")
    start = time.monotonic()
    res, obj = _verify(out, "--emulator", "", "--test-timeout", "2")
    elapsed = time.monotonic() - start
    assert res.exit_code == 4, res.stderr
    assert elapsed < 40, elapsed
    dev = obj["device"]
    assert dev["stage"] == "timeout" and "timed out after 2 s" in dev["message"]
    assert dev["cases"] == [] and dev["ran"] is False
    hung = int((fake_sdk / "hang.pid").read_text())
    assert not _alive(hung), "the hung adb was not killed"
    assert not any(_alive(c["pid"]) for c in _calls(fake_sdk, "emulator") if "pid" in c)


def test_orchestration_only_build_failure_exits_4(out: Path, fake_sdk: Path, monkeypatch) -> None:
    monkeypatch.setenv("EDGESDK_FAKE_SCENARIO", "build_fail")
    res, obj = _verify(out, "--device", "R58M123ABC")
    assert res.exit_code == 4
    assert obj["device"]["stage"] == "build" and "Gradle build failed" in obj["device"]["message"]


def test_orchestration_only_device_not_connected_exits_4(out: Path, fake_sdk: Path) -> None:
    res, obj = _verify(out, "--device", "NOPE123")
    assert res.exit_code == 4
    assert obj["device"]["stage"] == "device" and "not connected" in obj["device"]["message"]


def test_orchestration_only_no_avd_exits_4_with_the_fix(
    out: Path, fake_sdk: Path, monkeypatch
) -> None:
    monkeypatch.setenv("EDGESDK_FAKE_SCENARIO", "no_avd")
    res, obj = _verify(out, "--emulator", "")
    assert res.exit_code == 4
    msg = obj["device"]["message"]
    assert obj["device"]["stage"] == "avd" and "avdmanager create avd" in msg
    assert "system-images;android-34;google_apis;x86_64" in msg
    assert not _calls(fake_sdk, "gradle")  # nothing slow ran


def test_without_an_sdk_exits_4_and_says_what_to_install(
    out: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("ANDROID_HOME", raising=False)
    monkeypatch.delenv("ANDROID_SDK_ROOT", raising=False)
    clean = [
        d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "adb").exists()
    ]
    monkeypatch.setenv("PATH", os.pathsep.join(clean))
    start = time.monotonic()
    res = run_cli("verify", out, "--emulator", "")
    assert res.exit_code == 4
    assert time.monotonic() - start < 5  # checked before any slow step
    text = " ".join(res.stderr.split())
    for needle in (
        "ANDROID_HOME",
        "ANDROID_SDK_ROOT",
        "adb",
        "emulator",
        "sdkmanager",
        '"platform-tools"',
        '"emulator"',
        "system-images;android-34",
        "avdmanager",
    ):
        assert needle in text, needle
    assert "PASSED" not in text and "Traceback" not in text
    res, obj = _verify(out, "--device", "X")
    assert res.exit_code == 4 and obj["device"]["status"] == "environment_error"
    assert obj["device"]["ran"] is False and obj["passed"] is False
    assert all(c["status"] != "passed" for c in obj["checks"])


def test_device_and_emulator_exclude_each_other(out: Path) -> None:
    res = run_cli("verify", out, "--device", "X", "--emulator", "")
    assert res.exit_code == 1 and "exclude each other" in res.stderr


def test_a_tflite_file_cannot_go_to_a_device(out: Path) -> None:
    res = run_cli("verify", out / "model.tflite", "--device", "X")
    assert res.exit_code == 1 and "output folder" in res.stderr


# -------------------------------------------------------------------------------- parsing


REAL_RAW_OUTPUT = """\
INSTRUMENTATION_STATUS: class=com.example.cnn.GoldenInstrumentation
INSTRUMENTATION_STATUS: current=1
INSTRUMENTATION_STATUS: id=edgesdk
INSTRUMENTATION_STATUS: numtests=2
INSTRUMENTATION_STATUS: test=golden_case_000
INSTRUMENTATION_STATUS_CODE: 1
INSTRUMENTATION_STATUS: class=com.example.cnn.GoldenInstrumentation
INSTRUMENTATION_STATUS: current=1
INSTRUMENTATION_STATUS: edgesdk.case={"index":0,"passed":true}
INSTRUMENTATION_STATUS: id=edgesdk
INSTRUMENTATION_STATUS: numtests=2
INSTRUMENTATION_STATUS: stack=line one
line two
INSTRUMENTATION_STATUS: test=golden_case_000
INSTRUMENTATION_STATUS_CODE: -2
INSTRUMENTATION_RESULT: edgesdk.summary={"passed":false}
INSTRUMENTATION_RESULT: stream=case 0 ...
edgesdk golden test: 1/2 cases passed
INSTRUMENTATION_CODE: -1
"""


def test_parse_am_instrument_raw_output() -> None:
    parsed = dv.parse_instrumentation(REAL_RAW_OUTPUT.replace("\n", "\r\n"))
    assert [s.code for s in parsed.statuses] == [1, -2]
    assert parsed.statuses[1].values["stack"] == "line one\nline two"
    assert parsed.statuses[1].values["edgesdk.case"] == '{"index":0,"passed":true}'
    assert parsed.result["stream"].endswith("1/2 cases passed")
    assert parsed.result_code == -1 and parsed.other == ()


def test_parse_am_instrument_errors() -> None:
    missing = (
        "INSTRUMENTATION_STATUS: Error=Unable to find instrumentation info for: "
        "ComponentInfo{a.test/a.R}\nINSTRUMENTATION_STATUS: id=ActivityManagerService\n"
        "INSTRUMENTATION_STATUS_CODE: -1\n"
        "android.util.AndroidException: INSTRUMENTATION_FAILED: a.test/a.R\n"
    )
    parsed = dv.parse_instrumentation(missing)
    assert parsed.result_code is None and "INSTRUMENTATION_FAILED" in parsed.other[0]
    crashed = dv.parse_instrumentation(
        "INSTRUMENTATION_RESULT: shortMsg=Process crashed.\nINSTRUMENTATION_CODE: 0\n"
    )
    assert crashed.result == {"shortMsg": "Process crashed."} and crashed.result_code == 0


def test_bare_emulator_option_means_the_first_avd() -> None:
    from edgesdk.cli.verify import normalize_argv

    assert normalize_argv(["verify", "out", "--emulator"]) == ["verify", "out", "--emulator="]
    assert normalize_argv(["verify", "out", "--emulator", "--json"]) == [
        "verify", "out", "--emulator=", "--json",
    ]  # fmt: skip
    assert normalize_argv(["verify", "out", "--emulator", "Pixel"]) == [
        "verify", "out", "--emulator", "Pixel",
    ]  # fmt: skip
