"""Validated, frozen configuration of ``package``. One place decides defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

TARGETS = ("android", "none")
QUANTIZE_CHOICES = ("none", "dynamic", "float16", "int8", "auto")


def _floats(name: str, values: tuple[float, ...] | list[float] | None) -> tuple[float, ...] | None:
    if values is None or len(values) == 0:
        return None
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ConfigError(
                f"--{name} must be a number", received=f"{name}={v!r}", fix="Pass e.g. 127.5"
            ) from None
        if not math.isfinite(f):
            raise ConfigError(
                f"--{name} must be a finite number",
                received=f"{name}={v!r}",
                supported="finite floats such as 0, 127.5 or 255",
                fix=f"Pass a finite --{name}",
            )
        out.append(f)
    return tuple(out)


@dataclass(frozen=True)
class PackageConfig:
    """Everything ``edgesdk package`` needs; validated on construction."""

    model: Path
    output: Path
    target: str = "android"
    labels: Path | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    quantize: str = "none"
    calibration_data: Path | None = None
    eval_data: Path | None = None
    max_accuracy_drop: float = 1.0
    name: str | None = None
    class_name: str | None = None
    android_package: str | None = None
    author: str = ""
    model_version: str = "1"
    license: str = ""
    force: bool = False
    trust_model: bool = False
    golden_cases: int = 16
    android_runtime: str = "interpreter"
    android_accelerators: tuple[str, ...] = ("cpu",)
    #: task name (``edgesdk.tasks``); ``None`` infers it from the model
    task: str | None = None
    #: anchors ``[A, 4]`` (.npy) for a detector with raw box outputs that carries none
    anchors: Path | None = None
    fold_normalization: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "model", Path(self.model))
        set_(self, "output", Path(self.output))
        for attr in ("labels", "calibration_data", "eval_data", "anchors"):
            v = getattr(self, attr)
            if v is not None:
                set_(self, attr, Path(v))
        if self.target not in TARGETS:
            raise ConfigError(
                "unknown target",
                received=f"target={self.target!r}",
                supported=", ".join(TARGETS),
                fix="Use --target android",
            )
        q = str(self.quantize).lower()
        if q not in QUANTIZE_CHOICES:
            raise ConfigError(
                "unknown quantization mode",
                received=f"quantize={self.quantize!r}",
                supported=", ".join(QUANTIZE_CHOICES),
                fix="Pick one of the supported modes",
            )
        set_(self, "quantize", q)
        mean = _floats("mean", self.mean)
        std = _floats("std", self.std)
        if std is not None and any(s == 0 for s in std):
            raise ConfigError(
                "--std must not be 0 (inputs are divided by it)",
                received=f"std={list(std)}",
                supported="non-zero finite values, e.g. 127.5 or 255",
                fix="Pass the standard deviation the model was trained with",
            )
        if (mean is None) != (std is None):
            mean = mean or (0.0,)
            std = std or (1.0,)
        set_(self, "mean", mean)
        set_(self, "std", std)
        if not (0.0 <= float(self.max_accuracy_drop) <= 100.0) or not math.isfinite(
            float(self.max_accuracy_drop)
        ):
            raise ConfigError(
                "--max-accuracy-drop is a percentage between 0 and 100",
                received=f"max_accuracy_drop={self.max_accuracy_drop}",
                fix="Pass e.g. --max-accuracy-drop 1",
            )
        from .codegen.runtime import AndroidRuntime

        rt = AndroidRuntime(self.android_runtime, tuple(self.android_accelerators or ("cpu",)))
        set_(self, "android_runtime", rt.name)
        set_(self, "android_accelerators", rt.accelerators)
        if self.golden_cases < 0:
            raise ConfigError("golden_cases must be >= 0", received=self.golden_cases)
