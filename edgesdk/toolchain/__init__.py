"""Installable toolchains for the verification tiers that run Android code on this machine.

Each component is a module with ``ensure(cache_dir, log)`` (install what is missing, verified
by pinned checksums; later calls use the cache without network) and ``status(cache_dir) ->
dict`` (what is installed, never downloading). ``edgesdk toolchain install|status`` drives
them. The cache is ``$EDGESDK_TOOLCHAIN_DIR``, else ``~/.cache/edgesdk/toolchain``.

Components: ``android`` (JDK check, kotlinc, android-all, TFLite classes, aapt2: tiers 2-3),
``android_host`` (Robolectric, Android 14 framework, LiteRT's Android x86_64 library and the
bionic compatibility library: tier ``android_host``), ``arm64`` (a Debian arm64 root with the
aarch64 LiteRT wheel, run under qemu-user: tier ``arm64``) and ``apk`` (D8, zipalign, apksigner,
dexdump and a debug key: tier ``apk``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from ._missing import INSTALL_COMMAND as INSTALL_COMMAND
from ._missing import ToolchainMissing as ToolchainMissing

#: component name -> module (imported on use). Install order is this order.
COMPONENTS: dict[str, str] = {
    "android": "edgesdk.toolchain.android",
    "android_host": "edgesdk.toolchain.android_host",
    "arm64": "edgesdk.toolchain.arm64",
    "apk": "edgesdk.toolchain.apk",
}


def component(name: str) -> ModuleType:
    if name not in COMPONENTS:
        from ..errors import ConfigError

        raise ConfigError(
            f"unknown toolchain component {name!r}",
            received=name,
            supported=", ".join(COMPONENTS),
            fix="Name one of the supported components, or none for all",
        )
    return importlib.import_module(COMPONENTS[name])


def cache_dir() -> Path:
    from .android import default_root

    return default_root()


def install(
    names: list[str] | None = None,
    root: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Install the named components (all by default); returns their status."""
    chosen = names or list(COMPONENTS)
    mods = [component(n) for n in chosen]
    base = (root or cache_dir()).expanduser()
    for mod in mods:
        mod.ensure(base, log or _quiet)
    return status(chosen, base)


def _quiet(message: str) -> None:
    pass


def status(names: list[str] | None = None, root: Path | None = None) -> dict[str, Any]:
    chosen = names or list(COMPONENTS)
    base = (root or cache_dir()).expanduser()
    return {
        "cache_dir": str(base.resolve()),
        "components": {n: component(n).status(base) for n in chosen},
    }


__all__ = ["COMPONENTS", "INSTALL_COMMAND", "ToolchainMissing", "cache_dir", "component",
           "install", "status"]  # fmt: skip
