"""The tools tier ``apk`` adds to the Kotlin/aapt2 toolchain (``tools/android_toolchain.py``:
kotlinc, android-all, the TFLite 2.16.1 AARs, aapt2) to make signed APKs without Gradle.

- D8: Maven Central ``com.android.tools:r8`` (pinned; SHA-1 pinned here and checked against
  the ``.sha1`` Maven Central publishes), into ``<cache>/maven/...``.
- ``apksigner``, ``zipalign``, ``dexdump``: Debian packages of the same names (apt-get, root).
- A debug signing key, generated once with the JDK's ``keytool`` into ``<cache>/apk/``
  (store and key password ``android``, alias ``androiddebugkey``: the Android SDK's debug-key
  conventions). It signs debug builds only.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._host import Log, apt_install, default_dir, download, lock, missing

R8 = ("com.android.tools", "r8", "8.5.35", "6b41e4ac5e238c953246d07c006585aecc16c546")
MAVEN = "https://repo1.maven.org/maven2"
DEBIAN_PACKAGES = ("apksigner", "zipalign", "dexdump")
BINARIES = ("apksigner", "zipalign", "dexdump", "keytool")
KEY_ALIAS = "androiddebugkey"
KEY_PASSWORD = "android"
KEY_DNAME = "CN=Android Debug,O=Android,C=US"


@dataclass(frozen=True)
class ApkTools:
    r8_jar: Path
    apksigner: Path
    zipalign: Path
    dexdump: Path
    keytool: Path
    keystore: Path


def _r8_path(cache_dir: Path) -> Path:
    group, artifact, version, _ = R8
    return (
        Path(cache_dir) / "maven" / group.replace(".", "/") / artifact / version
        / f"{artifact}-{version}.jar"
    )  # fmt: skip


def keystore_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / "apk" / "debug.keystore"


def status(cache_dir: Path) -> dict[str, Any]:
    r8 = _r8_path(cache_dir)
    key = keystore_path(cache_dir)
    absent = [b for b in BINARIES if shutil.which(b) is None]
    gone = (
        absent + (["r8"] if not r8.is_file() else []) + (["debug-key"] if not key.is_file() else [])
    )
    return {
        "component": "apk",
        "installed": not gone,
        "path": str(r8.parent.parent.parent),
        "versions": {"r8": R8[2]},
        "missing": gone,
        "r8_jar": str(r8),
        "keystore": str(key),
    }


def find(cache_dir: Path | None = None) -> ApkTools:
    """The installed tools, or :class:`~edgesdk.errors.EnvironmentMissingError` (exit 4)."""
    cache_dir = Path(cache_dir or default_dir())
    st = status(cache_dir)
    if st["missing"]:
        raise missing("apk", "not installed: " + ", ".join(st["missing"]), cache_dir)

    def which(name: str) -> Path:
        return Path(shutil.which(name) or name)

    return ApkTools(
        _r8_path(cache_dir), which("apksigner"), which("zipalign"), which("dexdump"),
        which("keytool"), keystore_path(cache_dir),
    )  # fmt: skip


def ensure(cache_dir: Path, log: Log) -> None:
    """Install what is missing (network: Maven Central, Debian); idempotent."""
    cache_dir = Path(cache_dir)
    apt_install(DEBIAN_PACKAGES, BINARIES[:3], log)
    if shutil.which("keytool") is None:
        raise missing("apk", "keytool (the JDK's) not found; install a JDK 17+")
    with lock(cache_dir, "apk"):
        r8 = _r8_path(cache_dir)
        if not r8.is_file():
            group, artifact, version, sha1 = R8
            url = f"{MAVEN}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"
            with urllib.request.urlopen(url + ".sha1", timeout=60) as resp:
                published = resp.read().decode("ascii", "replace").split()
            if not published or published[0].lower() != sha1:
                raise missing(
                    "apk", f"{url}: published SHA-1 {published[:1]} is not the pinned {sha1}"
                )
            log(f"downloading {group}:{artifact}:{version} (D8) from Maven Central")
            download(url, r8, "sha1", sha1)
        key = keystore_path(cache_dir)
        if not key.is_file():
            key.parent.mkdir(parents=True, exist_ok=True)
            log(f"generating the debug signing key {key}")
            tmp = key.with_name(key.name + ".tmp")
            tmp.unlink(missing_ok=True)
            proc = subprocess.run(
                ["keytool", "-genkeypair", "-keystore", str(tmp), "-storetype", "PKCS12",
                 "-storepass", KEY_PASSWORD, "-keypass", KEY_PASSWORD, "-alias", KEY_ALIAS,
                 "-keyalg", "RSA", "-keysize", "2048", "-validity", "10000",
                 "-dname", KEY_DNAME],
                capture_output=True, text=True,
            )  # fmt: skip
            if proc.returncode != 0:
                tmp.unlink(missing_ok=True)
                raise missing("apk", "keytool could not make the debug key", proc.stderr[-1000:])
            tmp.replace(key)
