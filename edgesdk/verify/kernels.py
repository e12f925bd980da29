"""Prepared input tensors through LiteRT on one kernel path: the host's x86 kernels or
aarch64 under qemu-user, with or without XNNPACK.

Both sides run the same script, :mod:`edgesdk.verify.litert_runner`: on the host in this
process, on aarch64 in one emulated process per ``QEMU_CPU`` carrying every model and
resolver of the request (a qemu start costs seconds, a case milliseconds).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EnvironmentMissingError, VerificationError
from . import litert_runner

#: The line LiteRT prints when it applies the XNNPACK delegate.
XNNPACK_LINE = "Created TensorFlow Lite XNNPACK delegate for CPU"
RESOLVERS = ("auto", "builtin", "builtin_ref")


@dataclass(frozen=True)
class KernelPath:
    """Where and how a model runs: ``machine`` x86_64 (host) or aarch64 (qemu, ``cpu``);
    ``resolver`` auto (XNNPACK), builtin (no XNNPACK) or builtin_ref (reference kernels)."""

    machine: str
    resolver: str = "auto"
    cpu: str = ""

    def __post_init__(self) -> None:
        if self.machine not in ("x86_64", "aarch64"):
            raise ValueError(f"machine {self.machine!r}")
        if self.resolver not in RESOLVERS:
            raise ValueError(f"resolver {self.resolver!r} is not one of {RESOLVERS}")

    @property
    def name(self) -> str:
        xnn = {"auto": "XNNPACK", "builtin": "built-in", "builtin_ref": "reference"}[self.resolver]
        return f"{self.machine}{'/' + self.cpu if self.cpu else ''} {xnn}"


@dataclass(frozen=True)
class KernelRun:
    """Raw outputs of one model on one path, and what the run says about itself."""

    path: KernelPath
    outputs: np.ndarray  #: ``N x <output shape without batch>``, the model's output dtype
    seconds: float  #: wall time of the whole process that ran it (qemu start included)
    xnnpack: bool  #: LiteRT said it applied the XNNPACK delegate in that process
    machine: str = ""  #: ``platform.machine()`` inside the process that ran it
    log: str = ""
    #: every output in the interpreter's output order (``outputs`` is the first), each
    #: ``N x <output shape without batch>``, and their tensor names
    all_outputs: tuple[np.ndarray, ...] = ()
    output_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Model:
    name: str
    content: bytes
    inputs: np.ndarray  #: prepared tensors, ``N x <input shape without batch>``


def _write_jobs(
    folder: Path, models: Sequence[Model], resolvers: Sequence[str], threads: int
) -> list[dict[str, Any]]:
    jobs = []
    for i, m in enumerate(models):
        (folder / f"m{i}.tflite").write_bytes(m.content)
        np.save(folder / f"m{i}_in.npy", np.ascontiguousarray(m.inputs), allow_pickle=False)
        for r in resolvers:
            jobs.append(
                {"name": f"m{i}_{r}", "model": f"m{i}.tflite", "inputs": f"m{i}_in.npy",
                 "resolver": r, "threads": threads}
            )  # fmt: skip
    (folder / "job.json").write_text(json.dumps({"jobs": jobs}), encoding="utf-8")
    return jobs


def _collect(
    folder: Path, models: Sequence[Model], paths: dict[str, KernelPath], seconds: float, log: str
) -> dict[tuple[str, KernelPath], KernelRun]:
    try:
        result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise VerificationError(
            "the LiteRT process ended without a result", received=log.strip()[-2000:]
        ) from None
    xnn = XNNPACK_LINE in log
    out: dict[tuple[str, KernelPath], KernelRun] = {}
    for job in result["jobs"]:
        i, resolver = job["name"][1:].split("_", 1)
        model = models[int(i)]
        if not job["ok"]:
            raise VerificationError(
                f"LiteRT could not run {model.name} on {paths[resolver].name}",
                received=job.get("error"),
            )
        described = job.get("outputs") or [{"name": ""}]
        arrays = tuple(
            np.load(folder / f"{job['name']}_out{k if k else ''}.npy", allow_pickle=False)
            for k in range(len(described))
        )
        out[(model.name, paths[resolver])] = KernelRun(
            paths[resolver], arrays[0], seconds, xnn and resolver == "auto", result["machine"],
            log, arrays, tuple(str(o["name"]) for o in described),
        )  # fmt: skip
    return out


def run_host(
    models: Sequence[Model], resolvers: Sequence[str] = ("auto",), threads: int = 1
) -> dict[tuple[str, KernelPath], KernelRun]:
    """Every model x resolver on the host's x86_64 kernels, in this process."""
    from .._io import quiet_native

    paths = {r: KernelPath("x86_64", r) for r in resolvers}
    with tempfile.TemporaryDirectory(prefix="edgesdk-kernels.") as tmp:
        folder = Path(tmp)
        _write_jobs(folder, models, resolvers, threads)
        start = time.perf_counter()
        with quiet_native():
            litert_runner.main(["litert_runner", str(folder)])
        # In-process runs cannot read LiteRT's stderr: XNNPACK is LiteRT's default on x86_64.
        log = XNNPACK_LINE if "auto" in resolvers else ""
        return _collect(folder, models, paths, time.perf_counter() - start, log)


def run_arm64(
    models: Sequence[Model],
    resolvers: Sequence[str] = ("auto",),
    *,
    cpu: str | None = None,
    cache_dir: Path | None = None,
    threads: int = 1,
    timeout: float = 900,
) -> dict[tuple[str, KernelPath], KernelRun]:
    """Every model x resolver in ONE aarch64 process under qemu-user (``QEMU_CPU=cpu``).

    Raises :class:`~edgesdk.errors.EnvironmentMissingError` (exit 4) when the root is not
    installed, :class:`~edgesdk.errors.VerificationError` when the process fails."""
    from ..toolchain import arm64 as tc

    cpu = cpu or tc.DEFAULT_CPU
    if cpu not in tc.CPUS:
        raise EnvironmentMissingError(
            f"QEMU_CPU {cpu!r} has no /proc/cpuinfo description",
            supported=", ".join(sorted(tc.CPUS)),
        )
    root = tc.find(cache_dir)
    paths = {r: KernelPath("aarch64", r, cpu) for r in resolvers}
    folder = Path(tempfile.mkdtemp(prefix="edgesdk-job.", dir=root.path / "tmp"))
    try:
        folder.chmod(0o755)
        _write_jobs(folder, models, resolvers, threads)
        script = folder / "litert_runner.py"
        shutil.copyfile(litert_runner.__file__, script)
        inside = "/" + folder.relative_to(root.path).as_posix()
        start = time.perf_counter()
        try:
            log = tc.run_python(root, Path(inside, script.name), [inside], cpu=cpu, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise VerificationError(
                f"the aarch64 LiteRT process did not finish in {timeout:.0f} s (QEMU_CPU={cpu})"
            ) from None
        except tc.RunError as exc:
            raise VerificationError(
                f"the aarch64 LiteRT process failed under qemu (QEMU_CPU={cpu})",
                received=exc.output.strip()[-2000:],
            ) from None
        return _collect(folder, models, paths, time.perf_counter() - start, log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
