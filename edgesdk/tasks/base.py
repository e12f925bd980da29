"""The task interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ..metadata import ModelMetadata
    from ..models import LoadedModel


@dataclass(frozen=True)
class MetadataInputs:
    """What a task needs to describe a packaged model."""

    name: str
    description: str
    version: str
    author: str
    license: str
    labels: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    input_min: tuple[float, ...]
    input_max: tuple[float, ...]


class Task:
    """A kind of model (image classifier, ...): matching and metadata."""

    name: ClassVar[str] = ""
    #: whether the task's output is a class score vector that takes labels
    has_labels: ClassVar[bool] = False

    def matches(self, loaded: LoadedModel) -> bool:
        raise NotImplementedError

    def num_classes(self, loaded: LoadedModel) -> int | None:
        return None

    def metadata(self, loaded: LoadedModel, info: MetadataInputs) -> ModelMetadata:
        raise NotImplementedError
