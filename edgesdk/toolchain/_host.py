"""Small host helpers shared by the toolchain pieces: the cache folder, a lock, Debian
packages, downloads checked against a digest, and the "piece missing" error (exit 4)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..errors import EnvironmentMissingError

Log = Callable[[str], None]
INSTALL_COMMAND = "edgesdk toolchain install"


def default_dir() -> Path:
    """``$EDGESDK_TOOLCHAIN_DIR``, else ``~/.cache/edgesdk/toolchain``."""
    env = os.environ.get("EDGESDK_TOOLCHAIN_DIR")
    return Path(env).expanduser() if env else Path("~/.cache/edgesdk/toolchain").expanduser()


def missing(piece: str, what: str, received: object = None) -> EnvironmentMissingError:
    """Exit 4, naming the piece and the command that installs it."""
    return EnvironmentMissingError(
        f"the toolchain piece '{piece}' is missing: {what}",
        received=received,
        fix=f"Run '{INSTALL_COMMAND}' (it installs and caches every piece)",
    )


@contextlib.contextmanager
def lock(folder: Path, name: str) -> Iterator[None]:
    """Serialise installs of one piece across processes."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f".{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def apt_install(packages: Sequence[str], binaries: Sequence[str], log: Log) -> None:
    """Install Debian ``packages`` when any of ``binaries`` is not on PATH (needs root)."""
    absent = [b for b in binaries if shutil.which(b) is None]
    if not absent:
        return
    apt_get = shutil.which("apt-get")
    if apt_get is None or os.geteuid() != 0:
        raise missing(
            "debian-packages",
            f"{', '.join(absent)} not found and cannot be installed here (needs root and "
            f"apt-get); install the Debian packages {' '.join(packages)}",
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = [apt_get, "install", "-y", "-qq", "--no-install-recommends", *packages]
    log(f"installing Debian packages: {' '.join(packages)}")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        subprocess.run([apt_get, "update", "-qq"], capture_output=True, text=True, env=env)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    still = [b for b in binaries if shutil.which(b) is None]
    if proc.returncode != 0 or still:
        raise missing(
            "debian-packages",
            f"'{' '.join(cmd)}' failed (exit {proc.returncode}); still missing: {still}",
            (proc.stdout + proc.stderr).strip()[-2000:],
        )


def digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, algorithm: str, expected: str, timeout: float = 300) -> Path:
    """Download ``url`` to ``dest`` and check its digest; nothing is left on a mismatch."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + f".part{os.getpid()}")
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "edgesdk-toolchain/1"})
        with urllib.request.urlopen(req, timeout=timeout) as resp, tmp.open("wb") as out:
            shutil.copyfileobj(resp, out, 1 << 20)
        got = digest(tmp, algorithm)
        if got != expected:
            raise missing(dest.name, f"{url} has {algorithm} {got}, not the pinned {expected}", url)
        os.replace(tmp, dest)
    except OSError as exc:
        raise missing(
            dest.name, f"download of {url} failed", f"{type(exc).__name__}: {exc}"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest
