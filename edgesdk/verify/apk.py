"""Tier ``apk``: the generated app's debug APK and its instrumented-test APK, assembled and
signed WITHOUT Gradle, then checked.

Into ``OUT/android/app/build/edgesdk/apk/``:

- ``app-debug.apk``: ``aapt2 compile`` + ``aapt2 link`` of the app's manifest (``package``,
  versions and SDK levels from ``app/build.gradle.kts``), resources and assets (``-0 tflite``:
  the model is stored uncompressed, as the Gradle file asks); ``kotlinc`` + ``javac`` of the
  main sources and ``R.java``; D8 (debug, ``--min-api`` = minSdk) of those classes, the Kotlin
  standard library and the TFLite 2.16.1 classes; the TFLite AAR's native libraries under
  ``lib/<abi>/``; ``zipalign -p 4``; ``apksigner`` with the debug key.
- ``app-debug-androidTest.apk``: the same for ``src/androidTest`` (its Kotlin sources compiled
  against the app's classes, its assets with the golden vectors) and a test manifest with the
  ``<instrumentation>`` Gradle would generate (runner and target package from the Gradle file).

Checks: ``aapt2 dump badging`` (package, versions, SDK levels, launchable activity),
``aapt2 dump xmltree`` of the test manifest (instrumentation), ``apksigner verify``,
``dexdump`` (LiteRT's and Kotlin's classes, and the class of every Kotlin source file are in
the dex of its APK: the wrapper and MainActivity in the app's, the golden test's classes in
the test APK's), every asset of ``src/main/assets`` and ``src/androidTest/assets`` in its
APK (the golden set in the test APK), the model entry stored and 4-byte aligned. The checks
read the app's own sources, so they hold for every task's app (an image classifier's, an
object detector's) without naming its classes.

This is NOT Gradle's build: no AGP, no manifest merger of library manifests, no resource
shrinking, R8 only as D8 (no minification), and LiteRT's classes are the 2.16.1 ones from
Maven Central rather than the LiteRT 2.x the Gradle file names. It proves the sources, manifest
and resources make an installable, signed pair of APKs; not that Gradle builds them, nor that
they run (tiers ``android_host`` and ``device``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from xml.sax.saxutils import quoteattr

from ..errors import CodegenError, EnvironmentMissingError

APK_DIR = Path("app", "build", "edgesdk", "apk")
APP_APK = "app-debug.apk"
TEST_APK = "app-debug-androidTest.apk"
NOT_GRADLE = (
    "Not Gradle's build: assembled with aapt2, kotlinc, D8, zipalign and apksigner (no AGP, no "
    "library manifest merge, LiteRT classes 2.16.1 from Maven Central); it proves the sources, "
    "manifest and resources make installable, signed APKs, not that Gradle builds them or that "
    "they run"
)
_ABIS = ("arm64-v8a", "armeabi-v7a", "x86", "x86_64")


@dataclass(frozen=True)
class ApkFile:
    """One assembled APK and what the checks read from it."""

    path: str
    bytes: int
    package: str
    version_code: str
    version_name: str
    min_sdk: str
    target_sdk: str
    launchable_activity: str | None
    instrumentation: str | None  #: the runner class (test APK)
    target_package: str | None  #: instrumentation target (test APK)
    signature: str  #: apksigner's schemes, e.g. "v1, v2, v3"
    dex_classes: int
    dex_files: int
    native_libs: tuple[str, ...] = ()
    model_stored: bool | None = None  #: assets/model.tflite stored uncompressed (app APK)
    model_aligned: bool | None = None  #: ... and its data 4-byte aligned


@dataclass(frozen=True)
class ApkVerification:
    """Tier ``apk``: both APKs built and checked, or what stopped them."""

    tier: str
    passed: bool
    app: ApkFile | None
    test: ApkFile | None
    seconds: float
    problems: tuple[str, ...] = ()
    steps: dict[str, float] = field(default_factory=dict)
    not_proven: str = NOT_GRADLE
    #: the classes of the app's and the test's Kotlin sources looked up in the dex
    source_classes: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return "passed" if self.passed else "failed"

    @property
    def summary(self) -> str:
        if self.app is None or self.test is None:
            return "the APKs could not be built"
        return (
            f"{Path(self.app.path).name} ({self.app.bytes / 1e6:.1f} MB, {self.app.package}, "
            f"{self.app.dex_classes} classes, signed {self.app.signature}) and "
            f"{Path(self.test.path).name} ({self.test.bytes / 1e3:.0f} KB, instrumentation "
            f"{self.test.instrumentation} -> {self.test.target_package}) in {self.seconds:.0f} s"
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status
        d["summary"] = self.summary
        return d


@dataclass(frozen=True)
class GradleFacts:
    """What the app's ``build.gradle.kts`` says that the APKs need."""

    namespace: str
    application_id: str
    min_sdk: int
    target_sdk: int
    version_code: int
    version_name: str
    test_application_id: str
    test_runner: str
    no_compress: tuple[str, ...]


def _gradle_value(text: str, key: str, path: Path) -> str:
    m = re.search(rf"^\s*{re.escape(key)}\s*=\s*(\"([^\"]*)\"|(\d+))\s*$", text, re.M)
    if m is None:
        raise CodegenError(
            f"{path} does not set {key}",
            fix="Re-generate the app with 'edgesdk package ... --target android --force'",
        )
    return m.group(2) if m.group(2) is not None else m.group(3)


def gradle_facts(app_dir: Path) -> GradleFacts:
    path = app_dir / "build.gradle.kts"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CodegenError(f"cannot read {path}", received=str(exc)) from None

    def v(key: str) -> str:
        return _gradle_value(text, key, path)

    return GradleFacts(
        namespace=v("namespace"),
        application_id=v("applicationId"),
        min_sdk=int(v("minSdk")),
        target_sdk=int(v("targetSdk")),
        version_code=int(v("versionCode")),
        version_name=v("versionName"),
        test_application_id=v("testApplicationId"),
        test_runner=v("testInstrumentationRunner"),
        no_compress=tuple(re.findall(r'noCompress\s*\+=\s*"([^"]+)"', text)),
    )


def android_toolchain() -> ModuleType:
    """The Kotlin/aapt2 toolchain (kotlinc, aapt2, android-all, TFLite classes):
    :mod:`edgesdk.toolchain.android`, also for an installed wheel."""
    from ..toolchain import android

    return android


class _Failed(Exception):
    """A build step rejected the app (-> the tier fails, exit 3)."""


def _run(cmd: list[str], what: str, timeout: float = 900) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = (proc.stdout or "") + (proc.stderr or "")
    if proc.returncode != 0:
        raise _Failed(f"{what} failed (exit {proc.returncode}): {out.strip()[-3000:]}")
    return out


def _test_manifest(f: GradleFacts) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android"\n'
        f"    package={quoteattr(f.test_application_id)}>\n"
        '    <application android:debuggable="true" />\n'
        f"    <instrumentation android:name={quoteattr(f.test_runner)}\n"
        f"        android:targetPackage={quoteattr(f.application_id)}\n"
        f'        android:handleProfiling="false" android:functionalTest="false"\n'
        f"        android:label={quoteattr('Tests for ' + f.application_id)} />\n"
        "</manifest>\n"
    )


def _zip_apk(
    resources: Path,
    dex_dir: Path,
    native: dict[str, bytes],
    dest: Path,
    no_compress: tuple[str, ...] = (),
    extra_dex: tuple[Path, ...] = (),
) -> None:
    """resources.apk (manifest, resources.arsc, res/, assets/) + classes*.dex + lib/: entries
    keep aapt2's compression, except that names ending in a ``no_compress`` extension are
    stored (Debian's aapt2 compresses assets whatever ``-0`` says); .so files are stored."""
    with zipfile.ZipFile(resources) as src, zipfile.ZipFile(dest, "w") as out:
        for info in src.infolist():
            kind = info.compress_type
            if any(info.filename.endswith("." + ext.lstrip(".")) for ext in no_compress):
                kind = zipfile.ZIP_STORED
            out.writestr(info, src.read(info), compress_type=kind)
        dexes = sorted(dex_dir.glob("classes*.dex"))
        for dex in dexes:
            out.write(dex, dex.name, compress_type=zipfile.ZIP_DEFLATED)
        for i, dex in enumerate(extra_dex, start=len(dexes) + 1):
            out.write(dex, f"classes{i}.dex", compress_type=zipfile.ZIP_DEFLATED)
        for name, data in sorted(native.items()):
            out.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_STORED)


def _native_libs(at: ModuleType, tc: Any) -> dict[str, bytes]:
    """``lib/<abi>/*.so`` of the TFLite AAR (what Gradle packs from ``jni/``)."""
    group, artifact, version, ext, _ = at.TFLITE_ARTIFACTS[0]
    aar = tc.root / "maven" / at._maven_path(group, artifact, version, ext)
    libs = {}
    with zipfile.ZipFile(aar) as z:
        for name in z.namelist():
            parts = name.split("/")
            if len(parts) == 3 and parts[0] == "jni" and parts[1] in _ABIS and name.endswith(".so"):
                libs[f"lib/{parts[1]}/{parts[2]}"] = z.read(name)
    return libs


def _d8(
    tools: Any, tc: Any, inputs: list[Path], classpath: list[Path], out: Path, min_sdk: int
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(tc.java), "-Xmx1g", "-cp", str(tools.r8_jar), "com.android.tools.r8.D8",
           "--debug", "--min-api", str(min_sdk), "--lib", str(tc.android_jar),
           "--output", str(out)]  # fmt: skip
    for cp in classpath:
        cmd += ["--classpath", str(cp)]
    _run(cmd + [str(p) for p in inputs], "D8")


def _library_dex(tools: Any, tc: Any, min_sdk: int) -> Path:
    """The Kotlin standard library and LiteRT's classes dexed once and cached: they are the
    same for every app (the APK carries them as ``classes2.dex``, native multidex, API 21+)."""
    import hashlib

    inputs = [tc.kotlin_stdlib, *tc.tflite_jars]
    key = hashlib.sha256(
        "|".join([str(min_sdk), tools.r8_jar.name, *(p.name for p in inputs)]).encode()
    ).hexdigest()[:16]
    folder = tools.keystore.parent / f"libdex-{key}"
    dex = folder / "classes.dex"
    if not dex.is_file():
        stage = folder.with_name(folder.name + f".tmp{os.getpid()}")
        shutil.rmtree(stage, ignore_errors=True)
        _d8(tools, tc, list(inputs), [], stage, min_sdk)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(stage, folder)
    return dex


def _class_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.class"))


def _sign(tools: Any, unsigned: Path, dest: Path, min_sdk: int) -> None:
    from ..toolchain import apk as tk

    aligned = unsigned.with_suffix(".aligned.apk")
    _run([str(tools.zipalign), "-p", "-f", "4", str(unsigned), str(aligned)], "zipalign")
    _run(
        [str(tools.apksigner), "sign", "--ks", str(tools.keystore), "--ks-pass",
         f"pass:{tk.KEY_PASSWORD}", "--key-pass", f"pass:{tk.KEY_PASSWORD}", "--ks-key-alias",
         tk.KEY_ALIAS, "--min-sdk-version", str(min_sdk), "--v4-signing-enabled", "false", "--out",
         str(dest), str(aligned)],
        "apksigner sign",
    )  # fmt: skip
    aligned.unlink()


def _badging(aapt2: Path, apk: Path) -> dict[str, str]:
    text = _run([str(aapt2), "dump", "badging", str(apk)], "aapt2 dump badging")
    facts: dict[str, str] = {}
    m = re.search(r"package: name='([^']*)' versionCode='([^']*)' versionName='([^']*)'", text)
    if m:
        facts.update(package=m.group(1), version_code=m.group(2), version_name=m.group(3))
    for key, pat in (
        ("min_sdk", r"sdkVersion:'(\d+)'"),
        ("target_sdk", r"targetSdkVersion:'(\d+)'"),
        ("launchable", r"launchable-activity: name='([^']*)'"),
    ):
        m = re.search(pat, text)
        if m:
            facts[key] = m.group(1)
    return facts


def _instrumentation(aapt2: Path, apk: Path) -> tuple[str | None, str | None]:
    text = _run(
        [str(aapt2), "dump", "xmltree", "--file", "AndroidManifest.xml", str(apk)],
        "aapt2 dump xmltree",
    )
    block = text.split("E: instrumentation", 1)
    if len(block) < 2:
        return None, None
    name = re.search(r'android:name\([^)]*\)="([^"]*)"', block[1])
    target = re.search(r'android:targetPackage\([^)]*\)="([^"]*)"', block[1])
    return (name.group(1) if name else None), (target.group(1) if target else None)


def _signature(tools: Any, apk: Path, min_sdk: int) -> str:
    text = _run(
        [str(tools.apksigner), "verify", "--verbose", "--min-sdk-version", str(min_sdk), str(apk)],
        "apksigner verify",
    )
    if not text.startswith("Verifies"):
        raise _Failed(f"apksigner verify did not verify {apk.name}: {text.strip()[:500]}")
    schemes = re.findall(
        r"Verified using (v[\d.]+) scheme \(APK Signature Scheme v[\d.]+\): true", text
    )
    if "v1" not in text and not schemes:
        raise _Failed(f"apksigner verify named no signature scheme for {apk.name}: {text[:500]}")
    return ", ".join(schemes)


def _dex_classes(tools: Any, apk: Path, work: Path) -> tuple[set[str], int]:
    classes: set[str] = set()
    files = 0
    with zipfile.ZipFile(apk) as z:
        for name in z.namelist():
            if re.fullmatch(r"classes\d*\.dex", name):
                files += 1
                path = work / f"dump-{apk.stem}-{name}"
                path.write_bytes(z.read(name))
                text = _run([str(tools.dexdump), "-f", str(path)], "dexdump")
                text += _run([str(tools.dexdump), str(path)], "dexdump")
                classes |= set(re.findall(r"Class descriptor\s*:\s*'L([^;]+);'", text))
                path.unlink()
    return classes, files


def _model_entry(apk: Path) -> tuple[bool | None, bool | None]:
    with zipfile.ZipFile(apk) as z:
        try:
            info = z.getinfo("assets/model.tflite")
        except KeyError:
            return None, None
        with apk.open("rb") as f:
            f.seek(info.header_offset + 26)
            n, m = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
        data = info.header_offset + 30 + n + m
        return info.compress_type == zipfile.ZIP_STORED, data % 4 == 0


def source_classes(src: Path) -> list[str]:
    """The JVM class (``pkg/Name``) of every Kotlin file under ``src``: the class, object or
    interface named after the file (Kotlin's convention), else the file's facade ``NameKt``."""
    out = []
    for path in sorted(src.rglob("*.kt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        m = re.search(r"^\s*package\s+([\w.`]+)", text, re.M)
        pkg = m.group(1).replace("`", "").replace(".", "/") + "/" if m else ""
        stem = path.stem
        named = re.search(rf"\b(class|object|interface)\s+{re.escape(stem)}\b", text)
        out.append(pkg + (stem if named else stem + "Kt"))
    return out


def _assets(folder: Path) -> list[str]:
    """``assets/<path>`` of every file under the asset folder ``folder``."""
    if not folder.is_dir():
        return []
    return sorted("assets/" + p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file())  # fmt: skip


def _entries(apk: Path) -> set[str]:
    with zipfile.ZipFile(apk) as z:
        return set(z.namelist())


def _describe(tools: Any, tc: Any, apk: Path, work: Path, min_sdk: int) -> tuple[ApkFile, set[str]]:
    badge = _badging(tc.aapt2, apk)
    runner, target = _instrumentation(tc.aapt2, apk)
    classes, files = _dex_classes(tools, apk, work)
    stored, aligned = _model_entry(apk)
    with zipfile.ZipFile(apk) as z:
        libs = tuple(sorted(n for n in z.namelist() if n.startswith("lib/")))
    return (
        ApkFile(
            path=str(apk), bytes=apk.stat().st_size, package=badge.get("package", ""),
            version_code=badge.get("version_code", ""), version_name=badge.get("version_name", ""),
            min_sdk=badge.get("min_sdk", ""), target_sdk=badge.get("target_sdk", ""),
            launchable_activity=badge.get("launchable"), instrumentation=runner,
            target_package=target, signature=_signature(tools, apk, min_sdk),
            dex_classes=len(classes), dex_files=files, native_libs=libs,
            model_stored=stored, model_aligned=aligned,
        ),
        classes,
    )  # fmt: skip


def verify_apk(out: Path, *, cache_dir: Path | None = None) -> ApkVerification:
    """Assemble and check both APKs of the package folder ``out`` (see module docstring).

    Raises :class:`~edgesdk.errors.EnvironmentMissingError` (exit 4) when a tool is missing;
    a step that rejects the app's sources, manifest or resources fails the tier (exit 3)."""
    from ..toolchain import apk as tk

    start = time.perf_counter()
    tools = tk.find(cache_dir)
    at = android_toolchain()
    try:
        tc = at.ensure(cache_dir)
    except at.ToolchainError as exc:
        raise EnvironmentMissingError(
            "the Kotlin/aapt2 toolchain is missing", received=str(exc),
            fix="Run 'edgesdk toolchain install'",
        ) from None  # fmt: skip
    android = Path(out) / "android"
    app_dir = android / "app"
    facts = gradle_facts(app_dir)
    dest = android / APK_DIR
    work = dest / "work"
    shutil.rmtree(dest, ignore_errors=True)
    work.mkdir(parents=True)
    steps: dict[str, float] = {}
    problems: list[str] = []
    app = test = None
    checked: list[str] = []

    def timed(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except at.CompileError as exc:
            raise _Failed(f"{exc.tool} rejected the app: {exc.output.strip()[-3000:]}") from None
        finally:
            steps[name] = round(time.perf_counter() - t, 2)

    try:
        main = app_dir / "src" / "main"
        res_args = ["--version-code", str(facts.version_code), "--version-name",
                    facts.version_name]  # fmt: skip
        if facts.application_id != facts.namespace:
            res_args += ["--rename-manifest-package", facts.application_id]
        if (main / "assets").is_dir():
            res_args += ["-A", str(main / "assets")]
        for ext in facts.no_compress:
            res_args += ["-0", ext]
        gen = timed(
            "aapt2_app", at.aapt2_link, tc, main / "res" if (main / "res").is_dir() else None,
            main / "AndroidManifest.xml", work / "app-res", package=facts.namespace,
            min_sdk=facts.min_sdk, target_sdk=facts.target_sdk, strict_manifest=True,
            extra_args=res_args,
        )  # fmt: skip
        app_classes = work / "app-classes"
        r_java = sorted(gen.rglob("*.java"))
        kt = sorted((main / "java").rglob("*.kt"))
        timed("kotlinc_app", at.compile_mixed, tc, kt, r_java, app_classes, tc.android_classpath)
        lib_dex = timed("d8_libraries", _library_dex, tools, tc, facts.min_sdk)
        timed(
            "d8_app", _d8, tools, tc, _class_files(app_classes),
            [tc.kotlin_stdlib, *tc.tflite_jars], work / "app-dex", facts.min_sdk,
        )  # fmt: skip
        unsigned = work / "app-unsigned.apk"
        _zip_apk(
            work / "app-res" / "resources.apk",
            work / "app-dex",
            _native_libs(at, tc),
            unsigned,
            facts.no_compress,
            (lib_dex,),
        )
        timed("sign_app", _sign, tools, unsigned, dest / APP_APK, facts.min_sdk)

        test_src = app_dir / "src" / "androidTest"
        manifest = work / "test-manifest" / "AndroidManifest.xml"
        manifest.parent.mkdir(parents=True)
        manifest.write_text(_test_manifest(facts), encoding="utf-8")
        test_args = [
            "--version-code",
            str(facts.version_code),
            "--version-name",
            facts.version_name,
        ]
        if (test_src / "assets").is_dir():
            test_args += ["-A", str(test_src / "assets")]
        timed(
            "aapt2_test", at.aapt2_link, tc, None, manifest, work / "test-res",
            package=facts.test_application_id, min_sdk=facts.min_sdk,
            target_sdk=facts.target_sdk, strict_manifest=True, extra_args=test_args,
        )  # fmt: skip
        test_classes = work / "test-classes"
        test_kt = sorted((test_src / "java").rglob("*.kt"))
        timed(
            "kotlinc_test", at.kotlinc, tc, test_kt, test_classes,
            [app_classes, *tc.android_classpath],
        )  # fmt: skip
        timed(
            "d8_test", _d8, tools, tc, _class_files(test_classes),
            [app_classes, tc.kotlin_stdlib, *tc.tflite_jars], work / "test-dex", facts.min_sdk,
        )  # fmt: skip
        unsigned = work / "test-unsigned.apk"
        _zip_apk(work / "test-res" / "resources.apk", work / "test-dex", {}, unsigned)
        timed("sign_test", _sign, tools, unsigned, dest / TEST_APK, facts.min_sdk)

        t = time.perf_counter()
        app, app_dex = _describe(tools, tc, dest / APP_APK, work, facts.min_sdk)
        test, test_dex = _describe(tools, tc, dest / TEST_APK, work, facts.min_sdk)
        problems += _judge(facts, app, app_dex, test, test_dex)
        checked = source_classes(main / "java") + source_classes(test_src / "java")
        problems += _judge_sources(app_dir, app_dex, test_dex, dest / APP_APK, dest / TEST_APK)
        steps["checks"] = round(time.perf_counter() - t, 2)
    except _Failed as exc:
        problems.append(str(exc))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ApkVerification(
        tier="apk",
        passed=not problems and app is not None and test is not None,
        app=app,
        test=test,
        seconds=time.perf_counter() - start,
        problems=tuple(problems),
        steps=steps,
        source_classes=tuple(c.replace("/", ".") for c in checked),
    )


def _judge_sources(
    app_dir: Path, app_dex: set[str], test_dex: set[str], app_apk: Path, test_apk: Path
) -> list[str]:
    """The app's own sources and assets against its APKs: each Kotlin file's class in the
    dex, each asset file an entry."""
    problems = []
    for kind, apk, dex in (("main", app_apk, app_dex), ("androidTest", test_apk, test_dex)):
        src = app_dir / "src" / kind
        for cls in source_classes(src / "java"):
            if cls not in dex:
                problems.append(
                    f"{apk.name}: class {cls.replace('/', '.')} (from src/{kind}) is not in its dex"
                )
        entries = _entries(apk)
        for name in _assets(src / "assets"):
            if name not in entries:
                problems.append(f"{apk.name}: {name} (from src/{kind}/assets) is missing")
    return problems


def _judge(
    f: GradleFacts, app: ApkFile, app_dex: set[str], test: ApkFile, test_dex: set[str]
) -> list[str]:
    """What the dumps must show; each miss is one problem."""
    problems = []
    want = {
        "package": f.application_id, "version_code": str(f.version_code),
        "version_name": f.version_name, "min_sdk": str(f.min_sdk),
        "target_sdk": str(f.target_sdk),
    }  # fmt: skip
    for key, value in want.items():
        if getattr(app, key) != value:
            problems.append(f"app-debug.apk: {key} is {getattr(app, key)!r}, expected {value!r}")
    main = f"{f.namespace}.MainActivity"
    if app.launchable_activity != main:
        problems.append(
            f"app-debug.apk: launchable activity {app.launchable_activity!r}, not {main}"
        )
    ns = f.namespace.replace(".", "/")
    for cls in (f"{ns}/MainActivity", f"{ns}/R", "org/tensorflow/lite/Interpreter", "kotlin/Unit"):
        if cls not in app_dex:
            problems.append(f"app-debug.apk: class {cls.replace('/', '.')} is not in its dex")
    if not app.model_stored or not app.model_aligned:
        problems.append(
            "app-debug.apk: assets/model.tflite is "
            + ("missing" if app.model_stored is None else "compressed or not 4-byte aligned")
            + " (the wrapper memory-maps it)"
        )
    if not any(lib.startswith("lib/arm64-v8a/") for lib in app.native_libs):
        problems.append("app-debug.apk: no lib/arm64-v8a/ native library (LiteRT's JNI)")
    if test.package != f.test_application_id:
        problems.append(f"androidTest APK: package {test.package!r}, not {f.test_application_id!r}")
    if (test.instrumentation, test.target_package) != (f.test_runner, f.application_id):
        problems.append(
            f"androidTest APK: instrumentation {test.instrumentation!r} -> "
            f"{test.target_package!r}, expected {f.test_runner!r} -> {f.application_id!r}"
        )
    if f.test_runner.replace(".", "/") not in test_dex:
        problems.append(f"androidTest APK: the runner {f.test_runner} is not in its dex")
    return problems
