"""Tier ``android_host``: the generated app's own code, end to end, on the host JVM.

What runs: the app's main sources (the wrapper, as generated) and its androidTest sources
(``GoldenVectors``, ``GoldenSuite``: the code the device's ``GoldenInstrumentation`` runs),
compiled here with kotlinc, under Robolectric 4.16 with native graphics (real Skia ``Bitmap``\\ s)
on the Android 14 framework. The app's assets are packed into a resource APK with Debian's
``aapt`` (``-0 tflite``: stored, as the Gradle file asks), so ``AssetManager.openFd`` behaves as
on a device. Inference uses the real ``org.tensorflow.lite`` Java classes and the TFLite AAR's
x86_64 Android native library (through the bionic compatibility library), with XNNPACK on and
one thread. Every golden case runs through ``create(context)``, the raw-pixel entry point and
the ``Bitmap`` one (a classifier's ``scores(pixels)`` and ``classify(bitmap)``, a detector's
``detect(pixels)`` and ``detect(bitmap)``); the host re-checks each reported case against the
stored references with the device test's rule, the task's :class:`~.reported.GoldenChecker`.

The host test is ``templates/android_host/GoldenHostTest.kt.jinja``, or the task's own
``templates/tasks/<task>/android_host/GoldenHostTest.kt.jinja`` when it has one (the detector's
extends the common one and times ``detect`` instead of ``classify`` against a bare
``Interpreter.runForMultipleInputsOutputs``).

What it does not prove: ART (this is HotSpot), a device's drivers or GPU, and the runtime the
app ships: Maven Central has TFLite 2.16.1 only, while the app depends on LiteRT 2.x.

:func:`verify_android_host` writes its build under ``OUT/android/build/edgesdk/android_host``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import golden as gv
from . import reported

TIER = "android_host"
NOT_PROVEN = (
    "not ART (HotSpot runs the code), not a device's drivers or GPU; TFLite 2.16.1 from Maven "
    "Central stands in for the LiteRT 2.x the app ships"
)
BUILD_DIR = Path("build", "edgesdk", "android_host")
TEST_CLASS = "EdgesdkGoldenHostTest"
DEFAULT_TIMEOUT = 900.0

Progress = Callable[[str], None]


@dataclass(frozen=True)
class AndroidHostVerification:
    """The app's golden cases on the host JVM (tier android_host)."""

    status: str  #: passed, failed, crashed
    passed: bool
    cases: tuple[Any, ...] = ()  #: :class:`~.reported.ReportedCase` s of the app's task
    expected_cases: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    overhead: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    runtime: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    logs: str | None = None
    tier: str = TIER
    task: str = "image_classifier"

    @property
    def failing(self) -> tuple[Any, ...]:
        return tuple(c for c in self.cases if not c.passed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "task": self.task,
            "status": self.status,
            "passed": self.passed,
            "expected_cases": self.expected_cases,
            "cases": [c.to_dict() for c in self.cases],
            "failing_cases": [c.index for c in self.failing],
            "summary": self.summary,
            "overhead": self.overhead,
            "problems": list(self.problems),
            "runtime": self.runtime,
            "not_proven": NOT_PROVEN,
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "logs": self.logs,
        }


# ---------------------------------------------------------------------------- the project


@dataclass(frozen=True)
class AppSources:
    """What the host run needs from a generated project, read from its files."""

    android_dir: Path
    namespace: str
    min_sdk: int
    class_name: str
    preprocessing_class_name: str

    @property
    def app_dir(self) -> Path:
        return self.android_dir / "app"

    def kotlin_sources(self) -> list[Path]:
        src = self.app_dir / "src"
        return sorted((src / "main" / "java").rglob("*.kt")) + sorted(
            (src / "androidTest" / "java").rglob("*.kt")
        )


def _bad_project(android_dir: Path, what: str, received: object) -> ConfigError:
    return ConfigError(
        f"tier android_host cannot read the generated project: {what}",
        received=received,
        fix="Pass the folder written by 'edgesdk package --target android' "
        "(re-generate it if it predates the android_host tier)",
    )


def read_app(android_dir: Path) -> AppSources:
    """Namespace and minSdk from ``app/build.gradle.kts``; the wrapper's class names from the
    generated ``GoldenSuite.kt`` (the androidTest code both runners share)."""
    gradle = android_dir / "app" / "build.gradle.kts"
    try:
        text = gradle.read_text(encoding="utf-8")
    except OSError as exc:
        raise _bad_project(android_dir, f"no {gradle}", f"{type(exc).__name__}: {exc}") from None
    ns = re.search(r'^\s*namespace\s*=\s*"([A-Za-z0-9_.]+)"', text, re.M)
    min_sdk = re.search(r"^\s*minSdk\s*=\s*(\d+)", text, re.M)
    if ns is None or min_sdk is None:
        raise _bad_project(android_dir, f"{gradle} names no namespace or minSdk", str(gradle))
    suites = list((android_dir / "app" / "src" / "androidTest" / "java").rglob("GoldenSuite.kt"))
    if len(suites) != 1:
        raise _bad_project(android_dir, "expected one androidTest GoldenSuite.kt", suites)
    suite = suites[0].read_text(encoding="utf-8")
    cls = re.search(r"\b([A-Za-z_][A-Za-z0-9_]*)\.create\(appContext\b", suite)
    pre = re.search(r"\b([A-Za-z_][A-Za-z0-9_]*)\.forModel\(\)", suite)
    if cls is None or pre is None:
        raise _bad_project(android_dir, "GoldenSuite.kt does not create the wrapper", suites[0])
    return AppSources(android_dir, ns.group(1), int(min_sdk.group(1)), cls.group(1), pre.group(1))


def merged_manifest(app: AppSources, target_sdk: int) -> str:
    """The app's manifest as the build merges it: ``package`` set, ``<uses-sdk>`` added."""
    text = (app.app_dir / "src" / "main" / "AndroidManifest.xml").read_text(encoding="utf-8")
    if not re.search(r"<manifest\b[^>]*\bpackage\s*=", text, re.S):
        text = re.sub(r"<manifest\b", f'<manifest package="{app.namespace}"', text, count=1)
    uses_sdk = (
        f'\n    <uses-sdk android:minSdkVersion="{app.min_sdk}" '
        f'android:targetSdkVersion="{target_sdk}" />\n'
    )
    return re.sub(r"(<manifest\b[^>]*>)", lambda m: m.group(1) + uses_sdk, text, count=1)


def host_test_template(task: str) -> str:
    """The host test's template for ``task``: the task's own, else the common one."""
    from ..codegen.android import templates_root

    own = f"tasks/{task}/android_host/GoldenHostTest.kt.jinja"
    return own if templates_root().joinpath(*own.split("/")).is_file() else (
        "android_host/GoldenHostTest.kt.jinja"
    )


def _render_test(app: AppSources, dest: Path, sdk: int, task: str) -> tuple[Path, Path]:
    """The host test (rendered for the app's classes and task) and the runner, into ``dest``."""
    from ..codegen.android import templates_root
    from ..codegen.render import make_environment

    root = templates_root()
    env = make_environment(root)
    text = env.get_template(host_test_template(task)).render(
        android_package=app.namespace,
        class_name=app.class_name,
        preprocessing_class_name=app.preprocessing_class_name,
        android_sdk=sdk,
    )
    dest.mkdir(parents=True, exist_ok=True)
    test = dest / f"{TEST_CLASS}.kt"
    test.write_text(text, encoding="utf-8")
    runner = dest / "EdgesdkHostRunner.java"
    runner.write_bytes(root.joinpath("android_host", "EdgesdkHostRunner.java").read_bytes())
    return test, runner


# ------------------------------------------------------------------------------------ run


def _parse_result(path: Path) -> tuple[list[str], dict[str, Any], dict[str, Any], list[str]]:
    cases: list[str] = []
    summary: dict[str, Any] = {}
    overhead: dict[str, Any] = {}
    problems: list[str] = []
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    for line in text.splitlines():
        kind, _, body = line.partition(" ")
        if kind == "case":
            cases.append(body)
            continue
        try:
            value = json.loads(body)
        except ValueError:
            problems.append(f"unreadable line {line[:80]!r}")
            continue
        if kind == "summary":
            summary = value
        elif kind == "overhead":
            overhead = value
    return cases, summary, overhead, problems


def verify_android_host(
    out_dir: Path,
    *,
    threads: int = 1,
    overhead_iterations: int = 30,
    timeout: float = DEFAULT_TIMEOUT,
    on_progress: Progress | None = None,
    toolchain: Any | None = None,
    task: Any | None = None,
) -> AndroidHostVerification:
    """Build and run the app's golden cases on the host JVM (see the module docstring).
    ``task`` (:class:`~edgesdk.tasks.base.Task`, from report.json): the app's task; None tells
    it from the golden file (:func:`edgesdk.tasks.for_golden`).

    Raises :class:`~edgesdk.toolchain.ToolchainMissing` (exit 4) when the ``android_host``
    toolchain is not installed, :class:`ConfigError` for a folder without a generated app.
    """
    from .. import tasks
    from ..toolchain import android as tca
    from ..toolchain import android_host as tch

    step = on_progress or (lambda _m: None)
    out_dir = Path(out_dir).resolve()
    # An 'edgesdk package' output folder, or a generated Android project itself.
    is_project = (out_dir / "app" / "build.gradle.kts").is_file()
    android_dir = out_dir if is_project else out_dir / "android"
    golden_dir = android_dir / gv.ANDROID_ASSET_DIR
    if not (golden_dir / gv.DATA_NAME).is_file():
        raise _bad_project(android_dir, "no golden vectors in the app", str(golden_dir))
    app = read_app(android_dir)
    tc = toolchain if toolchain is not None else tch.locate()
    if task is None:
        task = tasks.for_golden(golden_dir / gv.DATA_NAME)
    golden = task.golden_checker(golden_dir)
    golden_bytes = (golden_dir / gv.DATA_NAME).read_bytes()
    model_asset = app.app_dir / "src" / "main" / "assets"
    timings: dict[str, float] = {}

    work = android_dir / BUILD_DIR
    classes = work / "classes"
    for child in work.glob("*") if work.is_dir() else ():
        if child != classes:  # compiled classes are reused while their sources are unchanged
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    step("Packing the app's resources and assets (aapt, tier android_host)")
    manifest = work / "AndroidManifest.xml"
    manifest.write_text(merged_manifest(app, tch.ANDROID_SDK), encoding="utf-8")
    gen = work / "gen"
    gen.mkdir()
    res_apk = work / "app-res.apk"
    tca._run(
        [str(tc.aapt), "package", "-f", "-M", str(manifest),
         "-S", str(app.app_dir / "src" / "main" / "res"), "-A", str(model_asset),
         "-I", str(tc.android_all), "-0", "tflite", "-J", str(gen), "-F", str(res_apk)],
        "aapt package",
    )  # fmt: skip
    timings["resources"] = time.monotonic() - t0

    t0 = time.monotonic()
    test, runner = _render_test(app, work / "host-src", tch.ANDROID_SDK, task.name)
    # The plain framework jar (API 35, as tier 2): the instrumented one adds Robolectric interfaces.
    compile_cp = [tc.base.android_jar, *tc.base.tflite_jars, *tc.robolectric]
    kotlin_sources = [*app.kotlin_sources(), test]
    java_sources = [*sorted(gen.rglob("*.java")), runner]
    key = _sources_key([*kotlin_sources, *java_sources], compile_cp, android_dir)
    stamp = classes / ".sources-sha256"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == key:
        step("Reusing the compiled app sources (unchanged)")
        timings["compile"] = 0.0
    else:
        step("Compiling the app's main and androidTest sources (kotlinc, tier android_host)")
        shutil.rmtree(classes, ignore_errors=True)
        tca.compile_mixed(tc.base, kotlin_sources, java_sources, classes, compile_cp)
        stamp.write_text(key, encoding="utf-8")
        timings["compile"] = time.monotonic() - t0

    config_dir = work / "config"
    props = config_dir / "com" / "android" / "tools" / "test_config.properties"
    props.parent.mkdir(parents=True)
    props.write_text(
        f"android_resource_apk={res_apk}\nandroid_merged_manifest={manifest}\n"
        f"android_custom_package={app.namespace}\n",
        encoding="utf-8",
    )
    result = work / "result.txt"
    log = work / "robolectric.log"
    cmd = [
        str(tc.base.java),
        "--add-opens=java.base/java.io=ALL-UNNAMED",
        "-Xmx1g",
        "-Drobolectric.offline=true",
        f"-Drobolectric.dependency.dir={tc.dependency_dir}",
        "-Drobolectric.logging.enabled=false",
        f"-Dedgesdk.native.dir={tc.native_dir}",
        f"-Dedgesdk.native.libs={','.join(tch.NATIVE_LIBRARIES)}",
        f"-Djava.library.path={tc.native_dir}",
        f"-Dedgesdk.golden={golden_dir / gv.DATA_NAME}",
        f"-Dedgesdk.result={result}",
        f"-Dedgesdk.threads={threads}",
        f"-Dedgesdk.overhead.iterations={overhead_iterations}",
        "-cp",
        tca._cp([classes, config_dir, *tc.runtime_classpath, tc.base.kotlin_stdlib]),
        "org.junit.runner.JUnitCore",
        f"{app.namespace}.{TEST_CLASS}",
    ]
    t0 = time.monotonic()
    step("Running the golden cases under Robolectric (tier android_host)")
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=work,
        )  # fmt: skip
        output = proc.stdout + proc.stderr
        exit_code: int | None = proc.returncode
    except subprocess.TimeoutExpired as exc:
        partial = [x.decode("utf-8", "replace") if isinstance(x, bytes) else (x or "")
                   for x in (exc.stdout, exc.stderr)]  # fmt: skip
        output = f"timed out after {timeout:.0f}s\n" + "".join(partial)
        exit_code = None
    log.write_text(output, encoding="utf-8")
    timings["run"] = time.monotonic() - t0

    lines, summary, overhead, problems = _parse_result(result)
    cases, case_problems = reported.read_cases(lines, golden, "the host run")
    problems += case_problems
    model_sha = hashlib.sha256((model_asset / "model.tflite").read_bytes()).hexdigest()
    golden_sha = hashlib.sha256(golden_bytes).hexdigest()
    model_problem = _model_problem(model_sha, golden, None if is_project else out_dir)
    runtime = {
        "robolectric": tch.ROBOLECTRIC_VERSION,
        "android_sdk": tch.ANDROID_SDK,
        "graphics": "NATIVE",
        "tflite": tca.TFLITE_VERSION,
        "native_library": "libtensorflowlite_jni.so (TFLite AAR, jni/x86_64, bionic)",
        "xnnpack": "on" if "XNNPACK" in output else "not seen in the log",
        "threads": threads,
    }
    if not summary:
        problems.append(
            "the host run ended without a summary"
            + (f" (exit {exit_code})" if exit_code is not None else " (timed out)")
            + f": {_failure(output)}"
        )
        return AndroidHostVerification(
            "crashed", False, cases, golden.case_count, summary, overhead,
            tuple(problems + model_problem), runtime, timings, str(log), task=task.name,
        )  # fmt: skip
    problems += reported.summary_problems(
        summary, cases, golden, golden_sha, model_sha, "the host run"
    )
    problems += model_problem
    passed = bool(summary.get("passed")) and not problems and all(c.passed for c in cases)
    return AndroidHostVerification(
        "passed" if passed else "failed", passed, cases, golden.case_count, summary, overhead,
        tuple(problems), runtime, timings, str(log), task=task.name,
    )  # fmt: skip


def _model_problem(
    model_sha: str, golden: reported.GoldenChecker, out_dir: Path | None
) -> list[str]:
    """The app's model against the one the golden set was made for: the set's own record,
    else (a golden format that records none) the package folder's ``model.tflite``."""
    expected, what = golden.model_sha256, "the one the golden vectors were made for"
    if expected is None and out_dir is not None and (out_dir / "model.tflite").is_file():
        expected = hashlib.sha256((out_dir / "model.tflite").read_bytes()).hexdigest()
        what = f"{out_dir / 'model.tflite'}"
    if expected is None or expected == model_sha:
        return []
    return [
        f"the app's model (SHA-256 {model_sha[:12]}…) is another model than {what} "
        f"({expected[:12]}…)"
    ]


def _sources_key(sources: list[Path], classpath: list[Path], android_dir: Path) -> str:
    """What the compiled classes depend on: each source's path (relative to the project, so a
    copied project reuses its classes) and bytes, and the classpath."""
    h = hashlib.sha256()
    for path in sources:
        name = path.relative_to(android_dir) if path.is_relative_to(android_dir) else path
        h.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    for path in classpath:
        h.update(str(path).encode() + b"\0")
    return h.hexdigest()


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


_THROWN = re.compile(r"^(?:Caused by: )?[A-Za-z_$][\w.$]*(?:Exception|Error)\b(?::.*)?$", re.M)


def _failure(output: str) -> str:
    """What the log says went wrong: the first exception JUnit printed (its message names the
    cause, e.g. a model that does not match the wrapper), then the log's tail."""
    thrown = _THROWN.search(output)
    tail = _tail(output)
    if thrown is None or thrown.group(0) in tail:
        return tail
    return f"{thrown.group(0)}\n…\n{tail}"


__all__ = ["AndroidHostVerification", "TIER", "NOT_PROVEN", "read_app", "verify_android_host"]
