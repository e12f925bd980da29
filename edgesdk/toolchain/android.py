"""Toolchain component ``android``: Kotlin/Android tools for verification tiers 2 and 3,
without an Android SDK.

Stdlib-only (``tools/android_toolchain.py`` runs it as a script, before edgesdk's dependencies
may be installed). Fetches and caches into ``$EDGESDK_TOOLCHAIN_DIR`` (default
``~/.cache/edgesdk/toolchain``):

* Kotlin compiler: npm package ``kotlin-compiler`` (the whole official Kotlin distribution:
  ``bin/kotlinc``, ``lib/kotlin-stdlib.jar``, ``lib/kotlin-test.jar``), pinned, installed with
  ``npm install --ignore-scripts``; its ``kotlin-stdlib.jar`` is checked against the SHA-1 that
  Maven Central publishes for the same version.
* android.jar (compile classpath): Maven Central ``org.robolectric:android-all`` for Android 15
  (API 35). It is the full framework (public and hidden API) built from AOSP.
* aapt2 ``-I`` jar: the API 35 framework ``resources.arsc`` + ``AndroidManifest.xml`` taken from
  the same android-all jar. Debian's aapt2 (Android 10) cannot read the API 34+ table encodings
  (sparse/offset16 type chunks, compact entries, staged-alias chunk), so the table is rewritten
  into the classic dense encoding (same resources, same ids) and stored as
  ``framework-res-35.apk``.
* aapt2: Debian package ``aapt`` (it ships ``/usr/bin/aapt2``), installed with apt-get when
  missing and running as root.
* TFLite classes: Maven Central ``org.tensorflow:tensorflow-lite`` and
  ``tensorflow-lite-api`` 2.16.1 (``classes.jar`` from each .aar). 2.17.0 on Maven Central is a
  relocation-only POM pointing at ``com.google.ai.edge.litert:litert:1.0.1``, which is not on
  Maven Central (Google's Maven only), so 2.16.1 is the newest with classes there. It has the same
  ``org.tensorflow.lite.Interpreter`` API as LiteRT 1.x.

Every Maven download is verified against the published ``.sha1`` and a SHA-1 pinned here.
``ensure()`` is idempotent: when everything is cached it touches no network.

CLI::

    python tools/android_toolchain.py ensure [--json] [--root DIR]

or, with the other components, ``edgesdk toolchain install`` / ``edgesdk toolchain status``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# --------------------------------------------------------------------------------------------
# Pinned versions
# --------------------------------------------------------------------------------------------

KOTLIN_VERSION = "2.4.20"
KOTLIN_NPM_PACKAGE = "kotlin-compiler"
# SHA-1 of org.jetbrains.kotlin:kotlin-stdlib:2.4.20 on Maven Central; the npm distribution's
# lib/kotlin-stdlib.jar is byte-identical.
KOTLIN_STDLIB_SHA1 = "94c1451890d164aed65d43b3db0b7ecef7c183e7"

ANDROID_API = 35
ANDROID_ALL = (
    "org.robolectric",
    "android-all",
    "15-robolectric-14663667-2",
    "jar",
    "e4b76351ee233c6c41b00fa3bc86d78bb3b9c0ed",
)

TFLITE_VERSION = "2.16.1"
TFLITE_ARTIFACTS = (
    (
        "org.tensorflow",
        "tensorflow-lite",
        TFLITE_VERSION,
        "aar",
        "de6bec83f05a8b68c43333ba30e2aa5a0c728048",
    ),
    (
        "org.tensorflow",
        "tensorflow-lite-api",
        TFLITE_VERSION,
        "aar",
        "12775e5f5b11df06890a178993bfab66fae222f7",
    ),
)

APT_PACKAGE_AAPT2 = "aapt"  # Debian 12 package that ships /usr/bin/aapt2

MAVEN_REPO = os.environ.get("EDGESDK_MAVEN_REPO", "https://repo1.maven.org/maven2").rstrip("/")
MIN_JAVA = 17
JVM_TARGET = "17"
KOTLINC_JAVA_OPTS = "-Xmx1536M -Xms128M -Xss4m"

# Bump when the cache layout or a derived artifact changes: forces re-derivation (not re-download).
LAYOUT_VERSION = 1


class ToolchainError(RuntimeError):
    """The toolchain could not be provisioned or a tool failed to run."""


class CompileError(ToolchainError):
    """A compiler (kotlinc / javac / aapt2) rejected its input. ``output`` is its full output."""

    def __init__(self, tool: str, output: str, command: Sequence[str] = ()) -> None:
        self.tool = tool
        self.output = output
        self.command = list(command)
        super().__init__(f"{tool} failed:\n{output.strip()}")


@dataclass(frozen=True)
class Toolchain:
    root: Path
    kotlinc: Path
    kotlin_stdlib: Path
    java: Path
    javac: Path
    android_jar: Path  # compile classpath for framework classes (android-all, API 35)
    aapt2: Path
    aapt2_android_jar: Path  # the -I apk for aapt2 link (framework resources, API 35)
    tflite_jars: tuple[Path, ...]  # classes for org.tensorflow.lite.*

    @property
    def kotlin_home(self) -> Path:
        return self.kotlinc.parent.parent

    @property
    def kotlin_test_jar(self) -> Path:
        return self.kotlin_home / "lib" / "kotlin-test.jar"

    @property
    def android_classpath(self) -> tuple[Path, ...]:
        """android.jar + TFLite jars: the classpath for wrapper and app sources."""
        return (self.android_jar, *self.tflite_jars)

    def to_json(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            "kotlinc": str(self.kotlinc),
            "kotlin_stdlib": str(self.kotlin_stdlib),
            "kotlin_test_jar": str(self.kotlin_test_jar),
            "java": str(self.java),
            "javac": str(self.javac),
            "android_jar": str(self.android_jar),
            "aapt2": str(self.aapt2),
            "aapt2_android_jar": str(self.aapt2_android_jar),
            "tflite_jars": [str(p) for p in self.tflite_jars],
            "versions": {
                "kotlin": KOTLIN_VERSION,
                "android_api": ANDROID_API,
                "android_all": ANDROID_ALL[2],
                "tflite": TFLITE_VERSION,
            },
        }


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _stderr_log(msg: str) -> None:
    print(f"[toolchain] {msg}", file=sys.stderr, flush=True)


_LOG: list[Callable[[str], None]] = [_stderr_log]


def _log(msg: str) -> None:
    _LOG[-1](msg)


def default_root() -> Path:
    env = os.environ.get("EDGESDK_TOOLCHAIN_DIR")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/edgesdk/toolchain").expanduser()


def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def _lock(root: Path) -> Iterator[None]:
    """Serialise concurrent ensure() calls on one cache (other processes, pytest-xdist)."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with (root / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _http_get(
    url: str, dest: Path | None = None, *, attempts: int = 3, timeout: float = 60
) -> bytes:
    """GET url into memory (dest None) or into dest (streamed). Retries transient failures."""
    last: Exception | None = None
    for i in range(attempts):
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "edgesdk-toolchain/1"})
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                if dest is None:
                    return resp.read()
                with dest.open("wb") as out:
                    shutil.copyfileobj(resp, out, 1 << 20)
                return b""
        except urllib.error.HTTPError as e:
            if e.code == 404:
                raise ToolchainError(f"{url} -> HTTP 404 (not on the server)") from e
            last = e
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            last = e
        time.sleep(1.5 * (i + 1))
    raise ToolchainError(f"download failed after {attempts} attempts: {url}: {last}")


def _maven_path(group: str, artifact: str, version: str, ext: str) -> str:
    return f"{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.{ext}"


def _fetch_maven(root: Path, coord: tuple[str, str, str, str, str]) -> Path:
    """Download one Maven Central artifact into root/maven/..., verified by SHA-1."""
    group, artifact, version, ext, pinned_sha1 = coord
    rel = _maven_path(group, artifact, version, ext)
    dest = root / "maven" / rel
    if dest.is_file():
        return dest
    url = f"{MAVEN_REPO}/{rel}"
    _log(f"downloading {group}:{artifact}:{version}@{ext} from Maven Central")
    try:
        published = _http_get(url + ".sha1").decode("ascii", "replace").split()
    except ToolchainError as e:
        raise ToolchainError(
            f"cannot fetch {group}:{artifact}:{version} ({ext}) from Maven Central: {e}"
        ) from e
    published_sha1 = published[0].lower() if published else ""
    if published_sha1 != pinned_sha1:
        raise ToolchainError(
            f"{group}:{artifact}:{version}: published SHA-1 {published_sha1!r} "
            f"differs from the pinned {pinned_sha1}; refusing to use it"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + f".part{os.getpid()}")
    try:
        try:
            _http_get(url, tmp, timeout=300)
        except ToolchainError as e:
            raise ToolchainError(
                f"cannot fetch {group}:{artifact}:{version} ({ext}) from Maven Central: {e}"
            ) from e
        got = _sha1(tmp)
        if got != pinned_sha1:
            raise ToolchainError(
                f"{url}: SHA-1 mismatch after download (got {got}, expected {pinned_sha1})"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


# --------------------------------------------------------------------------------------------
# Java
# --------------------------------------------------------------------------------------------


def _find_java() -> tuple[Path, Path]:
    candidates: list[Path] = []
    jh = os.environ.get("JAVA_HOME")
    if jh:
        candidates.append(Path(jh))
    javac_on_path = shutil.which("javac")
    if javac_on_path:
        candidates.append(Path(os.path.realpath(javac_on_path)).parent.parent)
    for home in candidates:
        java, javac = home / "bin" / "java", home / "bin" / "javac"
        if java.is_file() and javac.is_file():
            break
    else:
        raise ToolchainError(
            f"no JDK found (need java and javac >= {MIN_JAVA}; set JAVA_HOME or install "
            "openjdk-17-jdk-headless)"
        )
    out = subprocess.run([str(javac), "-version"], capture_output=True, text=True)
    m = re.search(r"javac (\d+)", out.stdout + out.stderr)
    if not m or int(m.group(1)) < MIN_JAVA:
        raise ToolchainError(
            f"{javac} reports {(out.stdout + out.stderr).strip()!r}; need JDK >= {MIN_JAVA}"
        )
    return java, javac


# --------------------------------------------------------------------------------------------
# Kotlin
# --------------------------------------------------------------------------------------------


def _ensure_kotlin(root: Path) -> Path:
    home_parent = root / f"kotlin-{KOTLIN_VERSION}"
    home = home_parent / "node_modules" / KOTLIN_NPM_PACKAGE
    kotlinc = home / "bin" / "kotlinc"
    if not kotlinc.is_file():
        npm = shutil.which("npm")
        if not npm:
            raise ToolchainError(
                f"npm not found: it is needed once to install the Kotlin compiler "
                f"(npm package {KOTLIN_NPM_PACKAGE}@{KOTLIN_VERSION}); install Node.js/npm"
            )
        _log(f"installing Kotlin {KOTLIN_VERSION} (npm {KOTLIN_NPM_PACKAGE}@{KOTLIN_VERSION})")
        tmp = Path(tempfile.mkdtemp(prefix=f"kotlin-{KOTLIN_VERSION}.", dir=root))
        tmp.chmod(0o755)
        try:
            cmd = [
                npm,
                "install",
                "--prefix",
                str(tmp),
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--no-save",
                "--loglevel=error",
                f"{KOTLIN_NPM_PACKAGE}@{KOTLIN_VERSION}",
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                raise ToolchainError(
                    f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n"
                    f"{(proc.stdout + proc.stderr).strip()}"
                )
            pkg_json = tmp / "node_modules" / KOTLIN_NPM_PACKAGE / "package.json"
            version = json.loads(pkg_json.read_text())["version"]
            if version != KOTLIN_VERSION:
                raise ToolchainError(
                    f"npm installed {KOTLIN_NPM_PACKAGE} {version}, expected {KOTLIN_VERSION}"
                )
            shutil.rmtree(home_parent, ignore_errors=True)
            os.replace(tmp, home_parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    stdlib = home / "lib" / "kotlin-stdlib.jar"
    if not stdlib.is_file():
        raise ToolchainError(
            f"Kotlin distribution at {home} has no lib/kotlin-stdlib.jar; "
            f"delete {home_parent} and retry"
        )
    stamp = home_parent / ".verified"
    if not stamp.is_file():
        got = _sha1(stdlib)
        if got != KOTLIN_STDLIB_SHA1:
            raise ToolchainError(
                f"{stdlib} SHA-1 {got} differs from Maven Central's kotlin-stdlib "
                f"{KOTLIN_VERSION} ({KOTLIN_STDLIB_SHA1}); delete {home_parent} and retry"
            )
        for script in (home / "bin").iterdir():
            if not script.suffix:  # kotlinc, kotlin, ...: make sure they are executable
                script.chmod(script.stat().st_mode | 0o111)
        stamp.write_text(KOTLIN_STDLIB_SHA1 + "\n")
    return kotlinc


# --------------------------------------------------------------------------------------------
# aapt2
# --------------------------------------------------------------------------------------------


def _find_aapt2() -> Path | None:
    env = os.environ.get("EDGESDK_AAPT2")
    if env:
        return Path(env)
    found = shutil.which("aapt2")
    return Path(found) if found else None


def _ensure_aapt2() -> Path:
    aapt2 = _find_aapt2()
    if aapt2 is None:
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
        apt_get = shutil.which("apt-get")
        if not (is_root and apt_get):
            raise ToolchainError(
                f"aapt2 not found on PATH. Install the Debian package '{APT_PACKAGE_AAPT2}' "
                f"(it ships /usr/bin/aapt2): sudo apt-get install -y {APT_PACKAGE_AAPT2}; "
                "or point EDGESDK_AAPT2 at an aapt2 binary"
            )
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = [apt_get, "install", "-y", "--no-install-recommends", APT_PACKAGE_AAPT2]
        _log(f"installing Debian package '{APT_PACKAGE_AAPT2}' for aapt2")
        proc = subprocess.run(install, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            _log("apt-get install failed; running apt-get update and retrying")
            subprocess.run([apt_get, "update"], capture_output=True, text=True, env=env)
            proc = subprocess.run(install, capture_output=True, text=True, env=env)
        aapt2 = _find_aapt2()
        if proc.returncode != 0 or aapt2 is None:
            raise ToolchainError(
                f"`{' '.join(install)}` failed (exit {proc.returncode}); aapt2 still missing:\n"
                f"{(proc.stdout + proc.stderr).strip()[-3000:]}"
            )
    if not os.access(aapt2, os.X_OK):
        raise ToolchainError(f"aapt2 at {aapt2} is not executable")
    return aapt2


# --------------------------------------------------------------------------------------------
# resources.arsc: rewrite API 34+ encodings into the classic dense one
# --------------------------------------------------------------------------------------------

_RES_STRING_POOL = 0x0001
_RES_TABLE = 0x0002
_RES_TABLE_PACKAGE = 0x0200
_RES_TABLE_TYPE = 0x0201
_RES_TABLE_TYPE_SPEC = 0x0202
_RES_TABLE_STAGED_ALIAS = 0x0206
_TYPE_FLAG_SPARSE = 0x01
_TYPE_FLAG_OFFSET16 = 0x02
_ENTRY_FLAG_COMPLEX = 0x0001
_ENTRY_FLAG_COMPACT = 0x0008
_NO_ENTRY = 0xFFFFFFFF


def _expand_entry(d: bytes, pos: int) -> bytes:
    """One ResTable_entry (+ value or map) at pos, in the full (non-compact) encoding."""
    size, flags = struct.unpack_from("<HH", d, pos)
    if flags & _ENTRY_FLAG_COMPACT:
        key, data = size, struct.unpack_from("<I", d, pos + 4)[0]
        data_type = flags >> 8
        low = flags & 0xFF & ~_ENTRY_FLAG_COMPACT
        return struct.pack("<HHI", 8, low, key) + struct.pack("<HBBI", 8, 0, data_type, data)
    if flags & _ENTRY_FLAG_COMPLEX:
        count = struct.unpack_from("<I", d, pos + 12)[0]
        return d[pos : pos + size + 12 * count]
    value_size = struct.unpack_from("<H", d, pos + size)[0]
    return d[pos : pos + size + value_size]


def _densify_type_chunk(d: bytes, p: int, entry_count_by_type: dict[int, int]) -> bytes:
    _, header_size, chunk_size = struct.unpack_from("<HHI", d, p)
    type_id, flags, reserved, n, entries_start = struct.unpack_from("<BBHII", d, p + 8)
    offsets: list[int | None]
    if flags & _TYPE_FLAG_SPARSE:
        total = entry_count_by_type.get(type_id, 0)
        offsets = [None] * total
        for i in range(n):
            idx, off4 = struct.unpack_from("<HH", d, p + header_size + 4 * i)
            if idx >= total:
                total = idx + 1
                offsets.extend([None] * (total - len(offsets)))
            offsets[idx] = off4 * 4
    elif flags & _TYPE_FLAG_OFFSET16:
        offsets = []
        for i in range(n):
            (off2,) = struct.unpack_from("<H", d, p + header_size + 2 * i)
            offsets.append(None if off2 == 0xFFFF else off2 * 4)
    else:
        offsets = []
        for i in range(n):
            (off,) = struct.unpack_from("<I", d, p + header_size + 4 * i)
            offsets.append(None if off == _NO_ENTRY else off)
    if header_size % 4:
        raise ToolchainError(f"resources.arsc: unexpected type header size {header_size}")
    body = bytearray()
    table = bytearray()
    for off in offsets:
        if off is None:
            table += struct.pack("<I", _NO_ENTRY)
            continue
        table += struct.pack("<I", len(body))
        entry = _expand_entry(d, p + entries_start + off)
        body += entry
        body += b"\0" * (-len(entry) % 4)
    new_start = header_size + len(table)
    header = bytearray(d[p : p + header_size])
    struct.pack_into("<I", header, 4, new_start + len(body))
    struct.pack_into("<BBHII", header, 8, type_id, 0, reserved, len(offsets), new_start)
    return bytes(header + table + body)


def convert_arsc_for_legacy_aapt2(d: bytes) -> bytes:
    """Rewrite a resources.arsc into the pre-API-34 encoding that Android 10's aapt2 reads.

    Sparse and offset16 type chunks become dense uint32 offset tables, compact entries become
    full entries + Res_value, staged-alias chunks are dropped. Resource ids and values are
    unchanged.
    """
    typ, hs, size = struct.unpack_from("<HHI", d, 0)
    if typ != _RES_TABLE or size != len(d):
        raise ToolchainError("resources.arsc: not a resource table")
    out = bytearray(d[:hs])
    off = hs
    while off < size:
        ct, chs, cs = struct.unpack_from("<HHI", d, off)
        if ct != _RES_TABLE_PACKAGE:
            out += d[off : off + cs]
            off += cs
            continue
        pkg = bytearray(d[off : off + chs])
        type_strings, _, key_strings = struct.unpack_from("<III", d, off + 268)
        counts: dict[int, int] = {}
        p, end = off + chs, off + cs
        while p < end:
            t2, _h2, s2 = struct.unpack_from("<HHI", d, p)
            if p - off in (type_strings, key_strings) and t2 != _RES_STRING_POOL:
                raise ToolchainError("resources.arsc: unexpected package layout")
            if t2 == _RES_TABLE_TYPE_SPEC:
                tid, _, _, n = struct.unpack_from("<BBHI", d, p + 8)
                counts[tid] = n
                pkg += d[p : p + s2]
            elif t2 == _RES_TABLE_TYPE:
                pkg += _densify_type_chunk(d, p, counts)
            elif t2 == _RES_TABLE_STAGED_ALIAS:
                pass
            else:
                pkg += d[p : p + s2]
            p += s2
        struct.pack_into("<I", pkg, 4, len(pkg))
        out += pkg
        off += cs
    struct.pack_into("<I", out, 4, len(out))
    return bytes(out)


def _build_framework_res(android_all: Path, dest: Path) -> None:
    with zipfile.ZipFile(android_all) as z:
        try:
            arsc = z.read("resources.arsc")
            manifest = z.read("AndroidManifest.xml")
        except KeyError as e:
            raise ToolchainError(
                f"{android_all} has no {e.args[0]}: cannot build the aapt2 -I framework apk"
            ) from e
    arsc = convert_arsc_for_legacy_aapt2(arsc)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in (("AndroidManifest.xml", manifest), ("resources.arsc", arsc)):
            info = zipfile.ZipInfo(name, date_time=(2008, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, data)
    _atomic_write_bytes(dest, buf.getvalue())


_SMOKE_MANIFEST = """<manifest xmlns:android="http://schemas.android.com/apk/res/android"
    package="edgesdk.toolchain.smoke">
  <uses-sdk android:minSdkVersion="24" android:targetSdkVersion="35"/>
  <application android:label="smoke" android:theme="@android:style/Theme.Material.Light"
      android:enableOnBackInvokedCallback="true">
    <activity android:name=".A" android:exported="true"/>
  </application>
</manifest>
"""


def _smoke_aapt2(aapt2: Path, framework: Path) -> None:
    """Link a manifest that needs API 33+ framework attributes; fails if -I is unusable."""
    with tempfile.TemporaryDirectory(prefix="aapt2-smoke.") as tmp:
        t = Path(tmp)
        (t / "AndroidManifest.xml").write_text(_SMOKE_MANIFEST)
        cmd = [
            str(aapt2),
            "link",
            "-o",
            str(t / "out.apk"),
            "-I",
            str(framework),
            "--manifest",
            str(t / "AndroidManifest.xml"),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise ToolchainError(
                f"aapt2 cannot link against {framework}: {(proc.stdout + proc.stderr).strip()}"
            )


# --------------------------------------------------------------------------------------------
# TFLite
# --------------------------------------------------------------------------------------------


def _classes_jar_from_aar(aar: Path, dest: Path) -> Path:
    if not dest.is_file():
        with zipfile.ZipFile(aar) as z:
            try:
                data = z.read("classes.jar")
            except KeyError as e:
                raise ToolchainError(f"{aar} has no classes.jar") from e
        _atomic_write_bytes(dest, data)
    return dest


# --------------------------------------------------------------------------------------------
# ensure
# --------------------------------------------------------------------------------------------


def ensure(root: Path | None = None, log: Callable[[str], None] | None = None) -> Toolchain:
    """Provision (first call) or look up (later calls, no network) the whole toolchain."""
    root = Path(root).expanduser() if root is not None else default_root()
    root = root.resolve()
    _LOG.append(log or _stderr_log)
    try:
        return _ensure(root)
    finally:
        _LOG.pop()


def _ensure(root: Path) -> Toolchain:
    with _lock(root):
        java, javac = _find_java()
        kotlinc = _ensure_kotlin(root)
        android_all = _fetch_maven(root, ANDROID_ALL)
        tflite: list[Path] = []
        for coord in TFLITE_ARTIFACTS:
            aar = _fetch_maven(root, coord)
            tflite.append(
                _classes_jar_from_aar(
                    aar, root / f"tflite-{TFLITE_VERSION}" / f"{coord[1]}-classes.jar"
                )
            )
        aapt2 = _ensure_aapt2()
        framework = root / f"android-{ANDROID_API}" / f"framework-res-{ANDROID_API}.apk"
        stamp = framework.with_suffix(".ok")
        stamp_text = f"{LAYOUT_VERSION} {ANDROID_ALL[2]} {aapt2}\n"
        if not framework.is_file() or not stamp.is_file() or stamp.read_text() != stamp_text:
            _log(f"building aapt2 -I framework apk (API {ANDROID_API}) from android-all")
            _build_framework_res(android_all, framework)
            _smoke_aapt2(aapt2, framework)
            stamp.write_text(stamp_text)
        return Toolchain(
            root=root,
            kotlinc=kotlinc,
            kotlin_stdlib=kotlinc.parent.parent / "lib" / "kotlin-stdlib.jar",
            java=java,
            javac=javac,
            android_jar=android_all,
            aapt2=aapt2,
            aapt2_android_jar=framework,
            tflite_jars=tuple(tflite),
        )


def status(root: Path | None = None) -> dict[str, object]:
    """What is installed, without installing or downloading anything."""
    root = (Path(root).expanduser() if root is not None else default_root()).resolve()
    home = root / f"kotlin-{KOTLIN_VERSION}" / "node_modules" / KOTLIN_NPM_PACKAGE
    kotlinc = home / "bin" / "kotlinc"
    pieces: dict[str, dict[str, object]] = {
        f"kotlin {KOTLIN_VERSION}": {"path": str(kotlinc), "installed": kotlinc.is_file()},
    }
    for coord in (ANDROID_ALL, *TFLITE_ARTIFACTS):
        path = root / "maven" / _maven_path(coord[0], coord[1], coord[2], coord[3])
        name = f"{coord[0]}:{coord[1]}:{coord[2]}"
        pieces[name] = {"path": str(path), "installed": path.is_file()}
    framework = root / f"android-{ANDROID_API}" / f"framework-res-{ANDROID_API}.apk"
    pieces[f"framework-res-{ANDROID_API}.apk"] = {
        "path": str(framework),
        "installed": framework.is_file(),
    }
    aapt2 = _find_aapt2()
    pieces["aapt2"] = {"path": str(aapt2) if aapt2 else None, "installed": aapt2 is not None}
    try:
        java, _ = _find_java()
        pieces[f"JDK >= {MIN_JAVA}"] = {"path": str(java), "installed": True}
    except ToolchainError as e:
        pieces[f"JDK >= {MIN_JAVA}"] = {"path": None, "installed": False, "problem": str(e)}
    return {
        "installed": all(bool(p["installed"]) for p in pieces.values()),
        "pieces": pieces,
    }


# --------------------------------------------------------------------------------------------
# Running the tools
# --------------------------------------------------------------------------------------------


def _cp(paths: Iterable[Path | str]) -> str:
    return os.pathsep.join(str(p) for p in paths)


def _run(
    cmd: Sequence[str],
    tool: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    cwd: Path | None = None,
) -> str:
    try:
        proc = subprocess.run(
            list(cmd), capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd
        )
    except subprocess.TimeoutExpired as e:
        raise CompileError(tool, f"timed out after {timeout}s", cmd) from e
    output = (proc.stdout or "") + (proc.stderr or "")
    if proc.returncode != 0:
        raise CompileError(tool, output or f"exit code {proc.returncode}", cmd)
    return output


def _java_env(tc: Toolchain, java_opts: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["JAVA_HOME"] = str(tc.java.parent.parent)
    env["JAVACMD"] = str(tc.java)
    env["JAVA_OPTS"] = java_opts or KOTLINC_JAVA_OPTS
    return env


def kotlinc(
    tc: Toolchain,
    sources: Sequence[Path],
    out_dir: Path,
    classpath: Sequence[Path] = (),
    java_sources_for_reference: Sequence[Path] = (),
    *,
    android_nullability: str = "warn",
    extra_args: Sequence[str] = (),
    timeout: float = 900,
) -> str:
    """Compile Kotlin sources (files or directories) in ONE kotlinc run into out_dir.

    ``java_sources_for_reference`` are Java files kotlinc reads to resolve symbols (e.g. R.java)
    but does not compile; compile them with :func:`javac` (or use :func:`compile_mixed`).
    The Kotlin stdlib is always available. Raises CompileError with kotlinc's output on
    failure; returns kotlinc's (warning) output on success.

    android-all is the framework *implementation*, so it carries ``android.annotation.Nullable``
    / ``libcore.util.Nullable`` where the SDK's android.jar stubs carry
    ``androidx.annotation.RecentlyNullable`` (which Kotlin reports as warnings). With the default
    ``android_nullability="warn"`` those annotations give warnings too, so code that compiles
    with AGP (``findViewById<TextView>(id).text = ...``) compiles here; ``"strict"`` makes them
    errors, ``"ignore"`` drops them.
    """
    srcs = [str(Path(s)) for s in sources] + [str(Path(s)) for s in java_sources_for_reference]
    if not sources:
        raise ValueError("kotlinc: no sources given")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(tc.kotlinc),
        "-jvm-target",
        JVM_TARGET,
        "-d",
        str(out_dir),
        "-no-reflect",
        "-Xsuppress-version-warnings",
    ]
    if classpath:
        cmd += ["-cp", _cp(classpath)]
    if android_nullability not in ("warn", "strict", "ignore"):
        raise ValueError(
            f"android_nullability must be warn|strict|ignore, not {android_nullability!r}"
        )
    for pkg in ("android.annotation", "libcore.util"):
        cmd.append(f"-Xnullability-annotations=@{pkg}:{android_nullability}")
    cmd += list(extra_args)
    cmd += srcs
    return _run(cmd, "kotlinc", env=_java_env(tc), timeout=timeout)


def javac(
    tc: Toolchain,
    sources: Sequence[Path],
    out_dir: Path,
    classpath: Sequence[Path] = (),
    *,
    extra_args: Sequence[str] = (),
    timeout: float = 600,
) -> str:
    """Compile Java sources into out_dir (release 17). Raises CompileError on failure."""
    if not sources:
        raise ValueError("javac: no sources given")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(tc.javac),
        "--release",
        JVM_TARGET,
        "-encoding",
        "UTF-8",
        "-nowarn",
        "-d",
        str(out_dir),
    ]
    if classpath:
        cmd += ["-cp", _cp(classpath)]
    cmd += list(extra_args)
    cmd += [str(s) for s in sources]
    return _run(cmd, "javac", timeout=timeout)


def compile_mixed(
    tc: Toolchain,
    kotlin_sources: Sequence[Path],
    java_sources: Sequence[Path],
    out_dir: Path,
    classpath: Sequence[Path] = (),
) -> str:
    """Kotlin + Java in one module (e.g. app sources + aapt2's R.java), like Gradle does:
    kotlinc reads the Java sources, then javac compiles them against kotlinc's output."""
    out = ""
    if kotlin_sources:
        out += kotlinc(tc, kotlin_sources, out_dir, classpath, java_sources)
    if java_sources:
        out += javac(tc, java_sources, out_dir, [out_dir, *classpath, tc.kotlin_stdlib])
    return out


_PACKAGE_ATTR = re.compile(r"<manifest\b[^>]*\bpackage\s*=\s*[\"']([^\"']*)[\"']", re.S)


def aapt2_link(
    tc: Toolchain,
    res_dir: Path | None,
    manifest: Path,
    out_dir: Path,
    package: str | None = None,
    *,
    min_sdk: int | None = None,
    target_sdk: int | None = None,
    strict_manifest: bool = False,
    extra_args: Sequence[str] = (),
) -> Path:
    """aapt2 compile every file of res_dir, then aapt2 link against the API 35 framework.

    ``package`` is the R class package (Gradle's ``namespace``); it is injected into a copy of
    the manifest when the manifest has no ``package`` attribute (AGP-style manifests), or passed
    as ``--custom-package`` when it differs. Returns the directory holding the generated
    R.java tree (out_dir/gen). The linked apk is out_dir/resources.apk. Raises CompileError.

    Debian's aapt2 is Android 10's: its manifest validator does not know elements added after
    API 29 (``<queries>``, ``<property>``, ...), so by default manifest validation problems are
    warnings (``--warn-manifest-validation``); ``strict_manifest=True`` makes them errors.
    Attribute and resource references are always checked against the API 35 framework.
    """
    out_dir = Path(out_dir)
    compiled = out_dir / "compiled"
    gen = out_dir / "gen"
    for d in (compiled, gen):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    flats: list[Path] = []
    if res_dir is not None:
        res_dir = Path(res_dir)
        files = sorted(p for p in res_dir.glob("*/*") if p.is_file() and not p.name.startswith("."))
        if files:
            _run([str(tc.aapt2), "compile", "-o", str(compiled), *map(str, files)], "aapt2 compile")
            flats = sorted(compiled.glob("*.flat"))
    text = Path(manifest).read_text(encoding="utf-8")
    m = _PACKAGE_ATTR.search(text)
    manifest_path = Path(manifest)
    cmd = [
        str(tc.aapt2),
        "link",
        "-o",
        str(out_dir / "resources.apk"),
        "-I",
        str(tc.aapt2_android_jar),
        "--java",
        str(gen),
        "--auto-add-overlay",
    ]
    if m is None:
        if not package:
            raise CompileError(
                "aapt2 link",
                f"{manifest}: no package attribute in <manifest>; "
                "pass package= (the Gradle namespace)",
            )
        text = re.sub(r"<manifest\b", f'<manifest package="{package}"', text, count=1)
        manifest_path = out_dir / "AndroidManifest.xml"
        manifest_path.write_text(text, encoding="utf-8")
    elif package and m.group(1) != package:
        cmd += ["--custom-package", package]
    cmd += ["--manifest", str(manifest_path)]
    if not strict_manifest:
        cmd.append("--warn-manifest-validation")
    if min_sdk is not None:
        cmd += ["--min-sdk-version", str(min_sdk)]
    if target_sdk is not None:
        cmd += ["--target-sdk-version", str(target_sdk)]
    cmd += list(extra_args)
    cmd += [str(f) for f in flats]
    _run(cmd, "aapt2 link")
    return gen


def run_jvm(
    tc: Toolchain,
    classpath: Sequence[Path],
    main_class: str,
    args: Sequence[str] = (),
    timeout: float = 300,
    *,
    check: bool = False,
    jvm_args: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run main_class on the JVM with the Kotlin stdlib on the classpath (text output)."""
    cmd = [
        str(tc.java),
        *jvm_args,
        "-cp",
        _cp([*classpath, tc.kotlin_stdlib]),
        main_class,
        *map(str, args),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise ToolchainError(
            f"{main_class} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}".strip()
        )
    return proc


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _dir_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="android_toolchain", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_ensure = sub.add_parser("ensure", help="fetch/cache the toolchain and print its paths")
    p_ensure.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p_ensure.add_argument(
        "--root",
        type=Path,
        default=None,
        help="cache dir (default $EDGESDK_TOOLCHAIN_DIR or ~/.cache/edgesdk/toolchain)",
    )
    ns = parser.parse_args(argv)
    start = time.monotonic()
    try:
        tc = ensure(ns.root)
    except ToolchainError as e:
        print(f"error: {e}", file=sys.stderr)
        return 4
    info = tc.to_json()
    info["seconds"] = round(time.monotonic() - start, 2)
    info["cache_bytes"] = _dir_size(tc.root)
    if ns.json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            print(f"{k}: {v}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
