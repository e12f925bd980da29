"""Which LiteRT API the generated Android code runs on, and which accelerators it ships.

Two runtimes share everything but the runtime calls (the pure pre/post-processing class, the
golden checker, the sample screen). Every task with an Android app follows the choice: image
classifiers, and object detectors (whose ``compiled-model`` wrapper binds the four outputs of
the post-processing op by their signature names, see :mod:`edgesdk.detection.android`):

- ``interpreter`` (the default): ``org.tensorflow.lite.Interpreter``, kept by LiteRT 2.x for
  backward compatibility and CPU only. It is the variant verified end to end here: it compiles
  against the real TFLite 2.16.1 classes from Maven Central, and tiers ``android_host`` and
  ``apk`` build and run it on them.
- ``compiled-model`` (opt-in): LiteRT's ``CompiledModel`` API
  (``com.google.ai.edge.litert.CompiledModel``), the API LiteRT's Android guides present as the
  standard, with CPU, GPU and NPU accelerators. Its classes are on Google's Maven only, so its
  check here is a compile check against a stub of the documented API (signatures only), never
  the real classes.

``accelerators`` names what the app bundles: ``cpu`` always; ``gpu`` adds the
``com.google.ai.edge.litert:litert-gpu`` artifact (from LiteRT 2.3.0 the GPU accelerator is a
separate artifact; without it ``Accelerator.GPU`` is not registered). ``npu`` is refused: NPU
runtimes are vendor libraries (the ``litert_npu_runtime_libraries`` download) delivered as Play
Feature Delivery modules, with AOT-compiled models in Play AI Packs
(ai.google.dev/edge/litert/next/npu, checked December 2026), which this generator does not write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edgesdk.errors import ConfigError

COMPILED_MODEL = "compiled-model"
INTERPRETER = "interpreter"
#: The runtimes ``package --android-runtime`` accepts, the default first.
ANDROID_RUNTIMES = (INTERPRETER, COMPILED_MODEL)
DEFAULT_ANDROID_RUNTIME = INTERPRETER
#: Accelerators ``package --android-accelerator`` accepts.
ANDROID_ACCELERATORS = ("cpu", "gpu")
_REFUSED = {
    "npu": (
        "NPU runtimes are vendor libraries (litert_npu_runtime_libraries, a download) delivered "
        "as Play Feature Delivery modules, with AOT-compiled models in Play AI Packs "
        "(ai.google.dev/edge/litert/next/npu), which edgesdk does not generate; the "
        "CompiledModel wrapper still accepts Accelerator.NPU at run time and reports a "
        "fallback when it is not there"
    ),
}


#: The golden test's tolerance on the GPU, relative to the largest host score (at least 1):
#: ``max(cpu_tolerance, GPU_RELATIVE_TOLERANCE * max(1, max |host score|))``. GPU backends may
#: compute in fp16 (10-bit mantissa: each rounding is up to 2^-11 ~ 4.9e-4 relative), and
#: rounding accumulates over a network's layers and reductions; 2e-2 leaves room for ~40 such
#: roundings while still catching a wrong preprocessing or a wrong class (errors of 1e-1 and
#: more). It was not measured here (no GPU, no device); the device report prints it so a run on
#: a phone can tighten it.
GPU_RELATIVE_TOLERANCE = 0.02


def gpu_tolerance(cpu_tolerance: float, max_abs_score: float) -> float:
    """The golden tolerance of a case on the GPU (see :data:`GPU_RELATIVE_TOLERANCE`)."""
    return max(float(cpu_tolerance), GPU_RELATIVE_TOLERANCE * max(1.0, float(max_abs_score)))


@dataclass(frozen=True)
class AndroidRuntime:
    """The runtime API of the generated wrapper and the accelerators the app bundles."""

    name: str = DEFAULT_ANDROID_RUNTIME
    accelerators: tuple[str, ...] = ("cpu",)

    def __post_init__(self) -> None:
        name = str(self.name).strip().lower().replace("_", "-")
        if name not in ANDROID_RUNTIMES:
            raise ConfigError(
                "unknown Android runtime",
                received=f"android_runtime={self.name!r}",
                supported=", ".join(ANDROID_RUNTIMES),
                fix="Pass --android-runtime interpreter (the default) or "
                "--android-runtime compiled-model (LiteRT's current API, for the GPU)",
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "accelerators", _accelerators(self.accelerators, name))

    @property
    def gpu(self) -> bool:
        """Whether the app bundles ``litert-gpu``."""
        return "gpu" in self.accelerators


def _accelerators(values: Iterable[str] | str, runtime: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    seen = ["cpu"]
    for raw in values:
        acc = str(raw).strip().lower()
        if acc in _REFUSED:
            raise ConfigError(
                f"--android-accelerator {acc} cannot be bundled by the generated Gradle project",
                received=f"android_accelerator={raw!r}",
                supported=", ".join(ANDROID_ACCELERATORS),
                fix=_REFUSED[acc],
            )
        if acc not in ANDROID_ACCELERATORS:
            raise ConfigError(
                "unknown Android accelerator",
                received=f"android_accelerator={raw!r}",
                supported=", ".join(ANDROID_ACCELERATORS),
                fix="Pass --android-accelerator gpu to bundle LiteRT's GPU accelerator",
            )
        if acc not in seen:
            seen.append(acc)
    if runtime == INTERPRETER and "gpu" in seen:
        raise ConfigError(
            "the Interpreter runtime runs on the CPU only in LiteRT 2.x",
            received="android_runtime='interpreter', android_accelerator='gpu'",
            supported="--android-runtime compiled-model with --android-accelerator gpu, or "
            "--android-runtime interpreter alone",
            fix="Use --android-runtime compiled-model for GPU acceleration",
        )
    return tuple(a for a in ANDROID_ACCELERATORS if a in seen)


__all__ = [
    "AndroidRuntime",
    "ANDROID_RUNTIMES",
    "ANDROID_ACCELERATORS",
    "DEFAULT_ANDROID_RUNTIME",
    "COMPILED_MODEL",
    "INTERPRETER",
    "GPU_RELATIVE_TOLERANCE",
    "gpu_tolerance",
]
