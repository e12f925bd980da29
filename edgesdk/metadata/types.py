"""Plain typed values for the subset of TFLite metadata edgesdk writes and reads.

These mirror the tables of the published TFLite metadata schema (``ModelMetadata``,
``TensorMetadata``, ``AssociatedFile``) closely enough that a reader of the schema
recognises every field, but they are ordinary frozen dataclasses: no flatbuffers
types leak out of :mod:`edgesdk.metadata`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

ContentKind = Literal["image", "feature", "bounding_box"]
ColorSpace = Literal["RGB", "GRAYSCALE"]


class FileType(str, Enum):
    """Type of an associated file (``AssociatedFileType`` in the metadata schema).

    The value is the schema's enum name; :attr:`code` is the byte stored in the flatbuffer.
    """

    UNKNOWN = "UNKNOWN"
    DESCRIPTIONS = "DESCRIPTIONS"
    TENSOR_AXIS_LABELS = "TENSOR_AXIS_LABELS"
    TENSOR_VALUE_LABELS = "TENSOR_VALUE_LABELS"
    TENSOR_AXIS_SCORE_CALIBRATION = "TENSOR_AXIS_SCORE_CALIBRATION"
    VOCABULARY = "VOCABULARY"
    SCANN_INDEX_FILE = "SCANN_INDEX_FILE"

    @property
    def code(self) -> int:
        """The ``AssociatedFileType`` byte value stored in the flatbuffer."""
        return _FILE_TYPE_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> FileType | None:
        """The member for a stored byte value, or ``None`` if this schema subset lacks it."""
        return _FILE_TYPE_BY_CODE.get(code)


_FILE_TYPE_CODES: dict[FileType, int] = {
    FileType.UNKNOWN: 0,
    FileType.DESCRIPTIONS: 1,
    FileType.TENSOR_AXIS_LABELS: 2,
    FileType.TENSOR_VALUE_LABELS: 3,
    FileType.TENSOR_AXIS_SCORE_CALIBRATION: 4,
    FileType.VOCABULARY: 5,
    FileType.SCANN_INDEX_FILE: 6,
}
_FILE_TYPE_BY_CODE: dict[int, FileType] = {v: k for k, v in _FILE_TYPE_CODES.items()}


@dataclass(frozen=True)
class AssociatedFile:
    """A file packed into the model's zip and described in the metadata.

    ``content`` is the file's bytes. It is packed by :func:`edgesdk.metadata.populate`
    and filled in by :func:`edgesdk.metadata.read`; :func:`parse_metadata_buffer`
    leaves it empty because a bare metadata buffer carries no file contents.
    ``locale`` is optional (e.g. ``"en"``); an empty string is treated as absent.
    """

    name: str
    description: str = ""
    type: FileType = FileType.TENSOR_AXIS_LABELS
    content: bytes = b""
    locale: str | None = None


@dataclass(frozen=True)
class BoundingBox:
    """``BoundingBoxProperties``: how the 4 values of a box are laid out.

    ``index`` gives the positions of left, top, right, bottom (for ``BOUNDARIES``) in
    the 4 values: ``(1, 0, 3, 2)`` for ``[top, left, bottom, right]``. ``type`` is
    ``BOUNDARIES``, ``UPPER_LEFT`` or ``CENTER``; ``coordinate_type`` ``RATIO`` (0..1 of
    the image) or ``PIXEL``.
    """

    index: tuple[int, int, int, int] = (1, 0, 3, 2)
    type: Literal["BOUNDARIES", "UPPER_LEFT", "CENTER"] = "BOUNDARIES"
    coordinate_type: Literal["RATIO", "PIXEL"] = "RATIO"


@dataclass(frozen=True)
class TensorGroup:
    """A named group of tensors (``TensorGroup``), e.g. a detector's ``detection_result``."""

    name: str
    tensor_names: tuple[str, ...]


@dataclass(frozen=True)
class TensorMeta:
    """Metadata of one input or output tensor (``TensorMetadata``).

    - ``content``: ``"image"`` (``ImageProperties``) or ``"feature"``
      (``FeatureProperties``); ``None`` writes no ``Content`` table.
    - ``color_space``: ``"RGB"`` or ``"GRAYSCALE"``, only for ``content="image"``.
    - ``mean`` / ``std``: a ``NormalizationOptions`` process unit, ``(x - mean) / std``
      per channel; give both or neither, of the same length. Values are stored as
      float32.
    - ``stats_min`` / ``stats_max``: the ``Stats`` table (float32), each optional.
    - ``associated_files``: files attached to this tensor (e.g. ``labels.txt`` of type
      ``TENSOR_AXIS_LABELS`` on a classifier's output).
    - ``dimension_names``: optional names of the tensor's dimensions.
    - ``content_range``: optional ``Content.range`` as ``(min, max)`` dimension indices.
    - ``bounding_box``: the ``BoundingBoxProperties`` of ``content="bounding_box"``.
    - ``score_threshold``: a ``ScoreThresholdingOptions`` process unit (global threshold).
    """

    name: str
    description: str = ""
    content: ContentKind | None = None
    color_space: ColorSpace | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    stats_min: tuple[float, ...] | None = None
    stats_max: tuple[float, ...] | None = None
    associated_files: tuple[AssociatedFile, ...] = ()
    dimension_names: tuple[str, ...] | None = None
    content_range: tuple[int, int] | None = None
    bounding_box: BoundingBox | None = None
    score_threshold: float | None = None


@dataclass(frozen=True)
class ModelMetadata:
    """Model-level metadata (``ModelMetadata`` with one ``SubGraphMetadata``).

    ``inputs`` / ``outputs`` follow the order of the model's first subgraph's inputs
    and outputs. ``min_parser_version`` is computed by the writer from the features
    used (any value given here is ignored when writing) and filled in by the reader.
    ``subgraph_name`` / ``subgraph_description`` are the optional name and description
    of the ``SubGraphMetadata``.
    """

    name: str
    description: str = ""
    version: str = ""
    author: str = ""
    license: str = ""
    inputs: tuple[TensorMeta, ...] = ()
    outputs: tuple[TensorMeta, ...] = ()
    associated_files: tuple[AssociatedFile, ...] = ()
    min_parser_version: str | None = None
    subgraph_name: str = ""
    subgraph_description: str = ""
    output_tensor_groups: tuple[TensorGroup, ...] = ()

    def all_associated_files(self) -> tuple[AssociatedFile, ...]:
        """Every associated file: model-level first, then inputs', then outputs', in order."""
        files = list(self.associated_files)
        for tensor in (*self.inputs, *self.outputs):
            files.extend(tensor.associated_files)
        return tuple(files)


def _floats(values: tuple[float, ...] | None) -> list[float | None] | None:
    if values is None:
        return None
    return [float(v) if math.isfinite(v) else None for v in values]


def _file_json(f: AssociatedFile) -> dict[str, Any]:
    return {
        "name": f.name,
        "description": f.description,
        "type": FileType(f.type).value,
        "locale": f.locale,
        "size": len(f.content),
    }


def _tensor_json(t: TensorMeta) -> dict[str, Any]:
    return {
        "name": t.name,
        "description": t.description,
        "content": t.content,
        "color_space": t.color_space,
        "mean": _floats(t.mean),
        "std": _floats(t.std),
        "stats_min": _floats(t.stats_min),
        "stats_max": _floats(t.stats_max),
        "dimension_names": list(t.dimension_names) if t.dimension_names is not None else None,
        "content_range": list(t.content_range) if t.content_range is not None else None,
        "associated_files": [_file_json(f) for f in t.associated_files],
        **(
            {"bounding_box": {"index": list(t.bounding_box.index), "type": t.bounding_box.type,
                              "coordinate_type": t.bounding_box.coordinate_type}}
            if t.bounding_box is not None
            else {}
        ),
        **({"score_threshold": t.score_threshold} if t.score_threshold is not None else {}),
    }


def to_json(meta: ModelMetadata) -> dict[str, Any]:
    """Return ``meta`` as a plain JSON-serialisable dict (for ``edgesdk inspect --json``).

    Associated files are listed with ``size`` (bytes of ``content`` held by the object,
    0 when the metadata was parsed without file contents) instead of their bytes.
    Non-finite floats become ``None`` so the result is strict JSON.
    """
    return {
        "name": meta.name,
        "description": meta.description,
        "version": meta.version,
        "author": meta.author,
        "license": meta.license,
        "min_parser_version": meta.min_parser_version,
        "subgraph_name": meta.subgraph_name,
        "subgraph_description": meta.subgraph_description,
        "inputs": [_tensor_json(t) for t in meta.inputs],
        "outputs": [_tensor_json(t) for t in meta.outputs],
        "associated_files": [_file_json(f) for f in meta.associated_files],
        **(
            {"output_tensor_groups": [
                {"name": g.name, "tensor_names": list(g.tensor_names)}
                for g in meta.output_tensor_groups
            ]}
            if meta.output_tensor_groups
            else {}
        ),
    }
