"""The aarch64 LiteRT root for tier ``arm64``: Debian bookworm arm64 + the aarch64
``ai-edge-litert`` wheel, run under ``qemu-aarch64-static`` (no binfmt_misc needed).

Installed once into ``<cache>/arm64/<ROOT_NAME>/`` by :func:`ensure`:

1. Debian packages on the host: ``qemu-user-static`` and ``debootstrap`` (apt-get, as root).
2. ``debootstrap --foreign --arch=arm64 --variant=minbase --include=python3,python3-numpy
   bookworm``: it downloads the packages and checks them against the archive's signed
   Release file. ``--foreign`` stops before running any arm64 program, which would need
   binfmt_misc; instead every downloaded package is unpacked with the host's ``dpkg-deb -x``
   (no maintainer scripts run, so the two library links they would make, BLAS and LAPACK for
   numpy, are made here).
3. ``pip download --only-binary=:all: --platform manylinux_2_27_aarch64 --python-version 3.11
   --abi cp311 ai-edge-litert==LITERT_VERSION`` with ``--require-hashes`` (SHA-256 pinned
   here), unpacked into the root's ``/usr/local/lib/python3.11/dist-packages``.
4. ``qemu-aarch64-static`` copied into the root's ``/usr/bin``.

Everything is built in a staging folder and renamed into place at the end: a root either is
complete (it has ``READY``) or absent.

Running (:func:`run_python`): ``unshare --mount`` gives the run its own mount namespace, so
``/proc`` and ``/sys`` mounted inside the root vanish with the process, also on error, timeout
or Ctrl-C; then ``chroot ROOT /usr/bin/qemu-aarch64-static /usr/bin/python3 ...``. XNNPACK's
CPU detection (cpuinfo) reads ``/proc/cpuinfo`` and ``/sys/devices/system/cpu``: without them
it silently keeps XNNPACK off. qemu-user 7.2 passes the host's x86 ``/proc/cpuinfo`` through,
which makes cpuinfo's ARM parser crash the interpreter, so each run bind-mounts an ARM
``/proc/cpuinfo`` describing the emulated core (``QEMU_CPU``; MIDR fields from :data:`CPUS`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._host import Log, apt_install, default_dir, lock, missing

SUITE = "bookworm"
MIRROR = os.environ.get("EDGESDK_DEBIAN_MIRROR", "http://deb.debian.org/debian")
INCLUDE = ("python3", "python3-numpy")
LITERT_VERSION = "2.3.0"
LITERT_WHEEL = f"ai_edge_litert-{LITERT_VERSION}-cp311-cp311-manylinux_2_27_aarch64.whl"
LITERT_SHA256 = "853fc608f96da87bd5f3458465dfb9abbf18d5ae6b94eceacead407146f175ae"
HOST_PACKAGES = ("qemu-user-static", "debootstrap")
HOST_BINARIES = ("qemu-aarch64-static", "debootstrap", "dpkg-deb", "unshare", "chroot")
LAYOUT = 1
ROOT_NAME = f"{SUITE}-litert-{LITERT_VERSION}-v{LAYOUT}"
SITE = "usr/local/lib/python3.11/dist-packages"
#: The core tier ``arm64`` emulates by default: a current phone's big core (ARMv8.2 + dot
#: product, so XNNPACK takes its int8 dot-product kernels).
DEFAULT_CPU = "cortex-a76"
#: ``QEMU_CPU`` value -> (implementer, variant, part, revision, architecture features) for the
#: synthetic ``/proc/cpuinfo``; the MIDR fields are those qemu 7.2 gives each model.
CPUS: dict[str, tuple[int, int, int, int, str]] = {
    "cortex-a53": (0x41, 0x0, 0xD03, 4, "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"),
    "cortex-a72": (0x41, 0x0, 0xD08, 3, "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"),
    "cortex-a76": (
        0x41, 0x4, 0xD0B, 1,
        "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc "
        "dcpop asimddp",
    ),
    "neoverse-n1": (
        0x41, 0x4, 0xD0C, 1,
        "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc "
        "dcpop asimddp ssbs",
    ),
    "max": (
        0x00, 0x0, 0x051, 0,
        "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt "
        "fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs "
        "sb paca pacg dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint "
        "svei8mm svef32mm svef64mm svebf16 i8mm bf16 dgh rng bti",
    ),
}  # fmt: skip
CPUS["max-sme"] = CPUS["max"][:4] + (CPUS["max"][4] + " sme",)
#: The ``QEMU_CPU`` value each name runs with. ``max`` runs without SME: with qemu 7.2's SME
#: emulation LiteRT 2.3's int8 kernels gave wrong results (up to 255 LSB, top-1 wrong on most
#: inputs; bit-exact with ``sme=off``, on Cortex-A53/A72/A76 and Neoverse-N1). Real SME
#: hardware is not available here to tell an emulation fault from a kernel fault;
#: ``max-sme`` reproduces it.
QEMU_CPU_VALUE = {"max": "max,sme=off", "max-sme": "max"}


@dataclass(frozen=True)
class Arm64Root:
    """An installed root: where it is and what it holds."""

    path: Path
    qemu: Path  #: the host's qemu-aarch64-static
    info: dict[str, Any]


def root_dir(cache_dir: Path | None = None) -> Path:
    return Path(cache_dir or default_dir()) / "arm64" / ROOT_NAME


def _ready(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((path / "READY").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def status(cache_dir: Path) -> dict[str, Any]:
    """What is installed, without touching the network."""
    path = root_dir(cache_dir)
    info = _ready(path)
    absent = [b for b in HOST_BINARIES if shutil.which(b) is None]
    return {
        "component": "arm64",
        "installed": info is not None and not absent,
        "path": str(path),
        "versions": {"debian": SUITE, "ai-edge-litert": LITERT_VERSION, "layout": LAYOUT},
        "missing": (["root"] if info is None else []) + absent,
        "root": info,
    }


def find(cache_dir: Path | None = None) -> Arm64Root:
    """The installed root, or :class:`~edgesdk.errors.EnvironmentMissingError` (exit 4)."""
    path = root_dir(cache_dir)
    absent = [b for b in HOST_BINARIES if shutil.which(b) is None]
    if absent:
        raise missing("arm64", f"host programs {', '.join(absent)} not found", absent)
    info = _ready(path)
    if info is None:
        raise missing("arm64", f"no aarch64 LiteRT root at {path}", str(path))
    if os.geteuid() != 0:
        raise missing("arm64", "running a program in the aarch64 root needs root (chroot)")
    return Arm64Root(path, Path(shutil.which("qemu-aarch64-static") or ""), info)


def ensure(cache_dir: Path, log: Log) -> None:
    """Install the root when it is not there (network: Debian, PyPI); idempotent."""
    cache_dir = Path(cache_dir)
    final = root_dir(cache_dir)
    if _ready(final) is not None and all(shutil.which(b) for b in HOST_BINARIES):
        return
    if os.geteuid() != 0:
        raise missing("arm64", "installing the aarch64 root needs root (debootstrap, chroot)")
    apt_install(HOST_PACKAGES, HOST_BINARIES, log)
    with lock(final.parent, ROOT_NAME):
        if _ready(final) is not None:
            return
        stage = Path(tempfile.mkdtemp(prefix=f".{ROOT_NAME}.", dir=final.parent))
        try:
            _build(stage, log)
            if final.exists():
                shutil.rmtree(final)
            os.replace(stage, final)
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)
    log(f"aarch64 LiteRT root ready: {final}")


def _run(cmd: Sequence[str], what: str, timeout: float = 1800) -> None:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise missing(
            "arm64", f"{what} failed (exit {proc.returncode})",
            (proc.stdout + proc.stderr).strip()[-2000:],
        )  # fmt: skip


def _build(stage: Path, log: Log) -> None:
    root = stage
    root.chmod(0o755)
    log(f"debootstrap {SUITE} arm64 (minbase + {', '.join(INCLUDE)}) from {MIRROR}")
    _run(
        ["debootstrap", "--foreign", "--arch=arm64", "--variant=minbase",
         f"--include={','.join(INCLUDE)}", SUITE, str(root), MIRROR],
        "debootstrap",
    )  # fmt: skip
    debs = sorted((root / "var" / "cache" / "apt" / "archives").glob("*.deb"))
    if not debs:
        raise missing("arm64", "debootstrap downloaded no packages", str(root))
    log(f"unpacking {len(debs)} packages")
    for deb in debs:
        _run(["dpkg-deb", "-x", str(deb), str(root)], f"dpkg-deb -x {deb.name}")
        deb.unlink()
    lib = root / "usr" / "lib" / "aarch64-linux-gnu"
    for name, sub in (("libblas.so.3", "blas"), ("liblapack.so.3", "lapack")):
        if (lib / sub / name).exists() and not (lib / name).exists():
            (lib / name).symlink_to(f"{sub}/{name}")
    log(f"downloading ai-edge-litert {LITERT_VERSION} (aarch64 wheel, SHA-256 pinned)")
    wheels = Path(tempfile.mkdtemp(prefix="edgesdk-wheels."))
    try:
        req = wheels / "requirements.txt"
        req.write_text(f"ai-edge-litert=={LITERT_VERSION} --hash=sha256:{LITERT_SHA256}\n")
        _run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
             "--only-binary=:all:", "--platform", "manylinux_2_27_aarch64", "--python-version",
             "3.11", "--abi", "cp311", "-r", str(req), "-d", str(wheels)],
            "pip download ai-edge-litert (aarch64)",
        )  # fmt: skip
        with zipfile.ZipFile(wheels / LITERT_WHEEL) as whl:
            whl.extractall(root / SITE)
    finally:
        shutil.rmtree(wheels, ignore_errors=True)
    qemu = shutil.which("qemu-aarch64-static")
    assert qemu is not None
    shutil.copy2(qemu, root / "usr" / "bin" / "qemu-aarch64-static")
    for sub in ("proc", "sys", "tmp"):
        (root / sub).mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "READY").write_text(
        json.dumps(
            {"debian": SUITE, "include": list(INCLUDE), "ai-edge-litert": LITERT_VERSION,
             "wheel_sha256": LITERT_SHA256, "layout": LAYOUT},
            indent=1,
        )
    )  # fmt: skip


def cpuinfo(cpu: str, cores: int = 2) -> str:
    """An aarch64 ``/proc/cpuinfo`` for ``QEMU_CPU=cpu`` (what the Linux kernel would print)."""
    implementer, variant, part, revision, features = CPUS[cpu]
    block = (
        "processor\t: {i}\nBogoMIPS\t: 50.00\nFeatures\t: " + features + "\n"
        f"CPU implementer\t: 0x{implementer:02x}\nCPU architecture: 8\n"
        f"CPU variant\t: 0x{variant:x}\nCPU part\t: 0x{part:03x}\nCPU revision\t: {revision}\n\n"
    )
    return "".join(block.format(i=i) for i in range(cores))


class RunError(RuntimeError):
    """The emulated process failed: ``output`` is its stdout + stderr."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def run_python(
    root: Arm64Root,
    script: Path,
    args: Sequence[str],
    *,
    cpu: str = DEFAULT_CPU,
    timeout: float = 600,
) -> str:
    """Run ``python3 script args...`` in the root under qemu (``QEMU_CPU=cpu``), with /proc,
    /sys and a matching /proc/cpuinfo mounted for this process only. ``script`` and any path
    in ``args`` must be inside the root (as seen from inside it). Returns stdout + stderr."""
    if cpu not in CPUS:
        raise ValueError(f"QEMU_CPU {cpu!r} is not one of {sorted(CPUS)}")
    r = str(root.path)
    fake = tempfile.NamedTemporaryFile("w", prefix=".cpuinfo.", dir=root.path / "tmp", delete=False)
    try:
        with fake:
            fake.write(cpuinfo(cpu, os.cpu_count() or 1))
        mounts = (
            f'mount -t proc proc "{r}/proc" && mount -t sysfs sysfs "{r}/sys" && '
            f'mount --bind "{fake.name}" "{r}/proc/cpuinfo" && '
        )
        inner = ["/usr/bin/qemu-aarch64-static", "/usr/bin/python3", str(script), *args]
        shell = mounts + 'exec chroot "$0" "$@"'
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell, r, *inner]
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "QEMU_CPU": QEMU_CPU_VALUE.get(cpu, cpu),
            "LANG": "C.UTF-8",
            "HOME": "/root",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            out, _ = proc.communicate(timeout=timeout)
        except BaseException:  # timeout, Ctrl-C: the whole group goes, and its mounts with it
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if proc.returncode != 0:
            raise RunError(f"the aarch64 process exited with {proc.returncode}", out)
        return out
    finally:
        os.unlink(fake.name)
