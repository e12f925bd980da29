"""Task kinds, registered by name. Each task knows which models it fits and how to
describe them in TFLite metadata.

``@register("image_classifier")`` adds a task; unknown names are rejected with the
list of known ones. A test fails when a registered task has no test model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import ConfigError
from .base import MetadataInputs, Task

_REGISTRY: dict[str, type[Task]] = {}
T = TypeVar("T", bound=type[Task])


def register(name: str) -> Callable[[T], T]:
    """Class decorator that registers a :class:`Task` under ``name``."""

    def deco(cls: T) -> T:
        if name in _REGISTRY:
            raise ValueError(f"task {name!r} is already registered by {_REGISTRY[name].__name__}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def names() -> tuple[str, ...]:
    """Registered task names, in registration order."""
    return tuple(_REGISTRY)


def get(name: str) -> Task:
    """The task registered as ``name``; a clear error lists the known ones."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise ConfigError(
            "unknown task",
            received=f"task={name!r}",
            supported=", ".join(_REGISTRY),
            fix="Use one of the supported task names",
        ) from None


def infer(loaded: object) -> Task:
    """The first registered task that matches the model (the generic one matches all)."""
    for cls in _REGISTRY.values():
        task = cls()
        if task.matches(loaded):  # type: ignore[arg-type]
            return task
    raise ConfigError("no task matches the model", received=repr(loaded))


def for_golden(golden_bin: Path) -> Task:
    """The task whose apps carry golden files like ``golden_bin`` (by its first bytes,
    :attr:`Task.golden_magic`): how a generated project without report.json tells its task.
    The first registered task when none matches (its reader then names what is wrong)."""
    try:
        with open(golden_bin, "rb") as fh:
            head = fh.read(8)
    except OSError:
        head = b""
    for cls in _REGISTRY.values():
        if cls.golden_magic and head.startswith(cls.golden_magic):
            return cls()
    return next(iter(_REGISTRY.values()))()


# Registration order is match order: specific tasks first, the generic one last.
from . import image_classifier as _image_classifier  # noqa: E402,F401
from . import object_detector as _object_detector  # noqa: E402,F401
from . import tensor as _tensor  # noqa: E402,F401

__all__ = ["Task", "MetadataInputs", "register", "get", "infer", "names", "for_golden"]
