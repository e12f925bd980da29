"""edgesdk: take a trained Keras model to an Android phone.

The public API (importing this package does not import TensorFlow):

- :func:`package` — Keras model -> ``.tflite`` with metadata, Kotlin wrapper, Android app.
- :func:`inspect` — what a ``.tflite`` holds.
- :func:`train` — train a small CNN or MobileNetV2 on an image folder or ``.npz``.
- :func:`compress` — prune, cluster, quantization-aware training, distillation.
- :mod:`edgesdk.errors` — the error hierarchy.
"""

from __future__ import annotations

__version__ = "0.1.0"

from pathlib import Path
from typing import Any

from . import errors as errors
from .inspection import ModelInfo as ModelInfo
from .pipeline import PackageResult as PackageResult
from .training.compression import compress as compress
from .training.trainer import train as train


def package(model: str | Path, output: str | Path, **options: Any) -> PackageResult:
    """Package ``model`` into the folder ``output``.

    ``options`` are the fields of :class:`edgesdk.config.PackageConfig`, named like
    the CLI options: ``target="android"``, ``labels=``, ``mean=(127.5,)``,
    ``std=(127.5,)``, ``quantize="none"|"dynamic"|"float16"|"int8"``,
    ``calibration_data=``, ``eval_data=``, ``name=``, ``class_name=``,
    ``android_package=``, ``author=``, ``model_version=``, ``license=``, ``force=``,
    ``trust_model=``;
    plus ``on_warning=`` / ``on_progress=`` callbacks taking one string.

    Raises an :class:`edgesdk.errors.EdgeSdkError` subclass on bad input; nothing is
    written then.
    """
    from .config import PackageConfig
    from .pipeline import package as _package

    on_warning = options.pop("on_warning", None)
    on_progress = options.pop("on_progress", None)
    for key in ("mean", "std"):
        if isinstance(options.get(key), (int, float)):
            options[key] = (options[key],)
    config = PackageConfig(model=Path(model), output=Path(output), **options)
    return _package(config, on_warning=on_warning, on_progress=on_progress)


def inspect(path: str | Path) -> ModelInfo:
    """Describe a ``.tflite`` file: tensors, operators, size and metadata."""
    from .inspection import inspect as _inspect

    return _inspect(path)


__all__ = [
    "package",
    "inspect",
    "train",
    "compress",
    "errors",
    "PackageResult",
    "ModelInfo",
    "__version__",
]
