"""Tier ``arm64``: the golden inputs through aarch64 LiteRT under qemu-user, XNNPACK on.

The app's model (``android/app/src/main/assets/model.tflite``, else ``model.tflite``) runs in
one emulated aarch64 process (the ``ai-edge-litert`` wheel for manylinux aarch64 in a Debian
bookworm arm64 root, :mod:`edgesdk.toolchain.arm64`) on the input tensors the Python
preprocessing makes from the golden pixels (their SHA-256 checked against the stored ones).
Every output comes back, in the interpreter's order with its tensor name, and is judged
against the stored references, which came from x86_64 LiteRT:

- one-output models (image classifiers, tensor models; :mod:`edgesdk.verify.golden`):
  integer outputs equal or one step apart (±1 LSB), float outputs within the golden
  tolerance, top-1 as on every tier;
- a task with its own golden set (:meth:`edgesdk.tasks.base.Task.golden_inputs`) prepares the
  inputs and judges the outputs itself: an object detector maps the four outputs by the
  ``TFLite_Detection_PostProcess`` op's ports (the op is in LiteRT's built-in resolver on
  aarch64 too) and applies the host detector check's rule (:func:`edgesdk.detection.golden.
  compare`: same class, IoU >= the stored minimum, score within the stored tolerance, none
  missing or unexpected).

What it proves: XNNPACK's (and LiteRT's) ARM64 kernels, as the emulated core selects them,
compute what the references say. What it does not: a phone's own LiteRT build (Android's
library may choose other kernels, e.g. none of XNNPACK for weight-quantized models), its
scheduler and threads, the GPU/NPU, or the Kotlin side (see ``android_host`` and ``device``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, ModelLoadError
from . import golden as gv
from .golden_check import compare_case
from .golden_format import _le

if TYPE_CHECKING:
    from ..tasks.base import GoldenInputs, GoldenJudgement, Task

PROVES = (
    "the golden inputs through the aarch64 ai-edge-litert wheel (XNNPACK's ARM64 kernels) "
    "under qemu-user: integer outputs within 1 LSB, float outputs within the golden tolerance"
)
PROVES_TASK = (
    "the golden inputs through the aarch64 ai-edge-litert wheel (XNNPACK's ARM64 kernels) "
    "under qemu-user, its outputs judged by the {task} host check's rule"
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
    #: per case (``gv.CaseCheck`` for one-output models, the task's own check otherwise)
    cases: tuple[Any, ...]
    passed: bool
    seconds: float  #: the emulated process, qemu start included
    problems: tuple[str, ...] = ()
    proves: str = PROVES
    not_proven: str = NOT_PROVEN
    task: str = ""  #: the package's task, "" when report.json does not name one
    rule: dict[str, Any] = field(default_factory=dict)  #: how a case passes
    outputs: tuple[str, ...] = ()  #: the model's output tensor names, in interpreter order

    @property
    def status(self) -> str:
        return "passed" if self.passed else "failed"

    @property
    def failing(self) -> tuple[Any, ...]:
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


def score_golden_inputs(out: Path, content: bytes) -> GoldenInputs:
    """The one-output golden vectors (:mod:`edgesdk.verify.golden`) of ``out`` as inputs of
    ``content``, prepared exactly as tier 1 prepares them, judged by the classifier rule:
    float outputs within the golden tolerance, integer outputs within 1 LSB, top-1."""
    from ..tasks.base import GoldenInputs
    from .host import TFLiteRunner

    folder = out / "android" / gv.ANDROID_ASSET_DIR
    if not (folder / gv.DATA_NAME).is_file():
        raise ConfigError(
            f"tier arm64 runs the golden vectors, and {out} has none",
            received=str(folder),
            fix="Package with '--target android' (it writes golden vectors into the app)",
        )
    golden = gv.read_golden(folder)
    host = TFLiteRunner(content)  # prepares the tensors exactly as tier 1 does
    channels = host.input.shape[3] if len(host.input.shape) == 4 else 0
    tensors = [
        host.prepare(gv.model_pixels(c.pixel_array(), channels), golden.mean, golden.std)
        for c in golden.cases
    ]
    digests = [hashlib.sha256(_le(t, host.input.dtype)).hexdigest() for t in tensors]
    inputs = np.stack(tensors) if tensors else np.zeros((0, *host.input.shape[1:]))

    def judge(outputs: Sequence[np.ndarray], names: Sequence[str]) -> GoldenJudgement:
        from ..tasks.base import GoldenJudgement

        quantized = golden.output.quantized
        checks = []
        worst_lsb = 0
        for case, raw, digest in zip(golden.cases, outputs[0], digests, strict=True):
            raw = np.asarray(raw).reshape(-1)
            scores = host.dequantized(raw).reshape(-1)
            check = compare_case(case, scores, input_sha256=digest)
            if quantized:
                ref = np.frombuffer(case.output, np.dtype(golden.output.dtype))
                lsb = (
                    int(np.max(np.abs(raw.astype(np.int32) - ref.astype(np.int32))))
                    if ref.size
                    else 0
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
        return GoldenJudgement(
            tuple(checks), golden.output.dtype, worst_lsb if quantized else None
        )

    rule = {
        "integer_outputs": "each element equal or 1 LSB apart, top-1 as on every tier",
        "float_outputs": "within the golden tolerance, top-1 as on every tier",
    }
    return GoldenInputs(folder, inputs, judge, rule, golden.model_sha256)


def _task_of(out: Path) -> Task | None:
    import json

    from .. import tasks

    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = (report.get("model") or {}).get("task") if isinstance(report, dict) else None
    return tasks.get(name) if name in tasks.names() else None


def verify_arm64(
    out: Path,
    *,
    cpu: str | None = None,
    cache_dir: Path | None = None,
    task: Task | None = None,
) -> Arm64Verification:
    """Run every golden case of the package folder ``out`` on aarch64 and compare.

    ``cpu``: the emulated core (``QEMU_CPU``), default ``$EDGESDK_ARM64_CPU`` or
    :data:`edgesdk.toolchain.arm64.DEFAULT_CPU`. ``task``: the package's task (default: the
    one report.json names); its :meth:`~edgesdk.tasks.base.Task.golden_inputs` supplies the
    inputs and the judge, else the one-output golden vectors are used.

    Raises :class:`~edgesdk.errors.EnvironmentMissingError` (exit 4) when the aarch64 root is
    not installed (``edgesdk toolchain install``)."""
    from ..toolchain import arm64 as tc
    from .kernels import KernelPath, Model, run_arm64

    out = Path(out)
    task = task if task is not None else _task_of(out)
    model_path = app_model(out)
    content = model_path.read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    golden = task.golden_inputs(out, content) if task is not None else None
    own_rule = golden is not None
    if golden is None:
        golden = score_golden_inputs(out, content)
    problems = list(golden.problems)
    matches = golden.model_sha256 is None or sha == golden.model_sha256
    if not matches:
        assert golden.model_sha256 is not None
        problems.append(
            f"the golden set was made for the model with SHA-256 {golden.model_sha256[:12]}…, "
            f"{model_path} is {sha[:12]}…"
        )
    cpu = cpu or os.environ.get("EDGESDK_ARM64_CPU") or tc.DEFAULT_CPU
    runs = run_arm64(
        [Model("app", content, golden.tensors)], ("auto",), cpu=cpu, cache_dir=cache_dir
    )
    run = runs[("app", KernelPath("aarch64", "auto", cpu))]
    if not run.xnnpack:
        problems.append("LiteRT did not apply the XNNPACK delegate in the aarch64 process")
    judged = golden.judge(run.all_outputs or (run.outputs,), run.output_names)
    problems += judged.problems
    checks = judged.cases
    if not checks:
        problems.append("the golden set has no cases")
    if run.machine != "aarch64":
        problems.append(f"the emulated process reported machine {run.machine!r}, not aarch64")
    name = task.name if task is not None else ""
    return Arm64Verification(
        tier="arm64",
        golden=str(golden.folder),
        model=str(model_path),
        model_matches=matches,
        cpu=cpu,
        machine=run.machine,
        litert=tc.LITERT_VERSION,
        xnnpack=run.xnnpack,
        output_dtype=judged.output_dtype,
        max_lsb_diff=judged.max_lsb_diff,
        cases=tuple(checks),
        passed=not problems and all(c.passed for c in checks),
        seconds=run.seconds,
        problems=tuple(problems),
        proves=PROVES_TASK.format(task=name) if own_rule else PROVES,
        task=name,
        rule=dict(golden.rule),
        outputs=run.output_names,
    )
