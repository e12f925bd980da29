"""The Android SDK on this machine, for the device tier (tier 4): where ``adb``, ``emulator`` and
Gradle are, what the generated app's ids are, and :class:`DeviceSetupError` for whatever is
missing (exit 4, naming the stage and the fix).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import EnvironmentMissingError

ADB_TIMEOUT = 30.0  #: seconds for one quick adb command

SYSTEM_IMAGE = "system-images;android-34;google_apis;x86_64"
SDK_SETUP = (
    "Install the Android SDK command-line tools "
    "(https://developer.android.com/studio#command-line-tools-only), then run: "
    "export ANDROID_HOME=$HOME/Android/Sdk; "
    'sdkmanager --sdk_root="$ANDROID_HOME" "platform-tools" "emulator" "platforms;android-35" '
    f'"build-tools;35.0.0" "{SYSTEM_IMAGE}"; '
    f'avdmanager create avd -n edgesdk -k "{SYSTEM_IMAGE}"'
)


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
