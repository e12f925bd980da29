"""Tier ``arm64``: the golden inputs through aarch64 LiteRT under qemu-user, XNNPACK on.

The app's model (``android/app/src/main/assets/model.tflite``, else ``model.tflite``) runs in
one emulated aarch64 process (the ``ai-edge-litert`` wheel for manylinux aarch64 in a Debian
bookworm arm64 root, :mod:`edgesdk.toolchain.arm64`) on the input tensors the Python
preprocessing makes from the golden pixels. Its outputs are compared with the stored
references, which came from x86_64 LiteRT: integer outputs must be equal or one step apart
(±1 LSB), float outputs within the golden tolerance, top-1 as on every tier.

What it proves: XNNPACK's (and LiteRT's) ARM64 kernels, as the emulated core selects them,
compute what the references say. What it does not: a phone's own LiteRT build (Android's
library may choose other kernels, e.g. none of XNNPACK for weight-quantized models), its
scheduler and threads, the GPU/NPU, or the Kotlin side (see ``android_host`` and ``device``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelLoadError
from . import golden as gv
from .golden_check import compare_case
from .golden_format import _le

PROVES = (
    "the golden inputs through the aarch64 ai-edge-litert wheel (XNNPACK's ARM64 kernels) "
    "under qemu-user: integer outputs within 1 LSB, float outputs within the golden tolerance"
)
NOT_PROVEN = (
    "not a phone: not Android's LiteRT build, its threads or drivers, GPU or NPU delegates, "
    "nor the Kotlin code"
)


@dataclass(frozen=True)
class Arm64Verification:
    """The golden cases on aarch64 LiteRT under qemu-user."""

    tier: str
    golden: str
    model: str
    model_matches: bool
    cpu: str  #: QEMU_CPU: the emulated core
    machine: str
    litert: str
    xnnpack: bool  #: LiteRT applied its XNNPACK delegate in the emulated process
    output_dtype: str
    max_lsb_diff: int | None  #: integer outputs: the largest raw difference, in steps
    cases: tuple[gv.CaseCheck, ...]
    passed: bool
    seconds: float  #: the emulated process, qemu start included
    problems: tuple[str, ...] = ()
    proves: str = PROVES
    not_proven: str = NOT_PROVEN

    @property
    def status(self) -> str:
        return "passed" if self.passed else "failed"

    @property
    def failing(self) -> tuple[gv.CaseCheck, ...]:
        return tuple(c for c in self.cases if not c.passed)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status
        d["cases"] = [c.to_dict() for c in self.cases]
        d["failing_cases"] = [c.index for c in self.failing]
        return d


def app_model(out: Path) -> Path:
    """The model the app ships, else the package's ``model.tflite``."""
    asset = out / "android" / "app" / "src" / "main" / "assets" / "model.tflite"
    path = asset if asset.is_file() else out / "model.tflite"
    if not path.is_file():
        raise ModelLoadError(
            f"no TFLite model at {path}",
            received=str(out),
            fix="Pass the folder written by 'edgesdk package --target android'",
        )
    return path


def verify_arm64(
    out: Path, *, cpu: str | None = None, cache_dir: Path | None = None
) -> Arm64Verification:
    """Run every golden case of the package folder ``out`` on aarch64 and compare.

    ``cpu``: the emulated core (``QEMU_CPU``), default ``$EDGESDK_ARM64_CPU`` or
    :data:`edgesdk.toolchain.arm64.DEFAULT_CPU`.

    Raises :class:`~edgesdk.errors.EnvironmentMissingError` (exit 4) when the aarch64 root is
    not installed (``edgesdk toolchain install``)."""
    from ..toolchain import arm64 as tc
    from .host import TFLiteRunner
    from .kernels import KernelPath, Model, run_arm64

    out = Path(out)
    folder = out / "android" / gv.ANDROID_ASSET_DIR
    if not (folder / gv.DATA_NAME).is_file():
        raise ConfigError(
            f"tier arm64 runs the golden vectors, and {out} has none",
            received=str(folder),
            fix="Package with '--target android' (it writes golden vectors into the app)",
        )
    golden = gv.read_golden(folder)
    model_path = app_model(out)
    content = model_path.read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    problems: list[str] = []
    if sha != golden.model_sha256:
        problems.append(
            f"the golden vectors were made for the model with SHA-256 {golden.model_sha256[:12]}…, "
            f"{model_path} is {sha[:12]}…"
        )
    host = TFLiteRunner(content)  # prepares the tensors exactly as tier 1 does
    channels = host.input.shape[3] if len(host.input.shape) == 4 else 0
    tensors = [
        host.prepare(gv.model_pixels(c.pixel_array(), channels), golden.mean, golden.std)
        for c in golden.cases
    ]
    digests = [hashlib.sha256(_le(t, host.input.dtype)).hexdigest() for t in tensors]
    cpu = cpu or os.environ.get("EDGESDK_ARM64_CPU") or tc.DEFAULT_CPU
    inputs = np.stack(tensors) if tensors else np.zeros((0, *host.input.shape[1:]))
    runs = run_arm64([Model("app", content, inputs)], ("auto",), cpu=cpu, cache_dir=cache_dir)
    run = runs[("app", KernelPath("aarch64", "auto", cpu))]
    if not run.xnnpack:
        problems.append("LiteRT did not apply the XNNPACK delegate in the aarch64 process")
    quantized = golden.output.quantized
    checks = []
    worst_lsb = 0
    for case, raw, digest in zip(golden.cases, run.outputs, digests, strict=True):
        raw = np.asarray(raw).reshape(-1)
        scores = host.dequantized(raw).reshape(-1)
        check = compare_case(case, scores, input_sha256=digest)
        if quantized:
            ref = np.frombuffer(case.output, np.dtype(golden.output.dtype))
            lsb = (
                int(np.max(np.abs(raw.astype(np.int32) - ref.astype(np.int32)))) if ref.size else 0
            )
            worst_lsb = max(worst_lsb, lsb)
            # Integer outputs: each element equal or one step apart; top-1 as on every tier.
            top1_ok = check.top1_got == case.top1 or (
                check.top1_got >= 0
                and np.float32(case.scores[case.top1] - case.scores[check.top1_got])
                <= np.float32(case.tolerance)
            )
            check = replace(check, passed=bool(lsb <= 1 and top1_ok and check.input_match))
        checks.append(check)
    if not checks:
        problems.append("the golden set has no cases")
    if run.machine != "aarch64":
        problems.append(f"the emulated process reported machine {run.machine!r}, not aarch64")
    return Arm64Verification(
        tier="arm64",
        golden=str(folder),
        model=str(model_path),
        model_matches=sha == golden.model_sha256,
        cpu=cpu,
        machine=run.machine,
        litert=tc.LITERT_VERSION,
        xnnpack=run.xnnpack,
        output_dtype=golden.output.dtype,
        max_lsb_diff=worst_lsb if quantized else None,
        cases=tuple(checks),
        passed=not problems and all(c.passed for c in checks),
        seconds=run.seconds,
        problems=tuple(problems),
    )
