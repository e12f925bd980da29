"""Writer and reader of the TFLite metadata flatbuffer (file identifier ``M001``).

Only the subset edgesdk needs is implemented, by hand, on the ``flatbuffers`` runtime:
``ModelMetadata``, ``SubGraphMetadata``, ``TensorMetadata``, ``Content`` (with
``FeatureProperties`` / ``ImageProperties`` and ``ValueRange``), ``ProcessUnit`` with
``NormalizationOptions``, ``Stats`` and ``AssociatedFile``. Field slots follow the
declaration order of the published ``metadata_schema.fbs`` (the flatbuffers field id
of a field is its position in its table), so every reader of the schema understands
the result. The reader checks every offset against the buffer, so a malformed buffer
raises :class:`~edgesdk.errors.MetadataError` instead of returning nonsense.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence

import flatbuffers

from edgesdk.errors import MetadataError
from edgesdk.metadata.types import (
    AssociatedFile,
    BoundingBox,
    FileType,
    ModelMetadata,
    TensorGroup,
    TensorMeta,
)

FILE_IDENTIFIER = b"M001"

# Field ids (slot numbers) per table, in declaration order of metadata_schema.fbs.
# AssociatedFile { name, description, type, locale, version }
_AF_NAME, _AF_DESCRIPTION, _AF_TYPE, _AF_LOCALE = 0, 1, 2, 3
_AF_FIELDS = 4
# ImageProperties { color_space, default_size }
_IP_COLOR_SPACE = 0
_IP_FIELDS = 1
# ValueRange { min, max }
_VR_MIN, _VR_MAX = 0, 1
_VR_FIELDS = 2
# Content { content_properties (union: type slot, then value slot), range }
_CT_PROPS_TYPE, _CT_PROPS, _CT_RANGE = 0, 1, 2
_CT_FIELDS = 3
# NormalizationOptions { mean, std }
_NO_MEAN, _NO_STD = 0, 1
_NO_FIELDS = 2
# ProcessUnit { options (union: type slot, then value slot) }
_PU_OPTIONS_TYPE, _PU_OPTIONS = 0, 1
_PU_FIELDS = 2
# Stats { max, min }
_ST_MAX, _ST_MIN = 0, 1
_ST_FIELDS = 2
# TensorMetadata { name, description, dimension_names, content, process_units, stats,
#                  associated_files }
_TM_NAME, _TM_DESCRIPTION, _TM_DIMENSION_NAMES, _TM_CONTENT = 0, 1, 2, 3
_TM_PROCESS_UNITS, _TM_STATS, _TM_ASSOCIATED_FILES = 4, 5, 6
_TM_FIELDS = 7
# SubGraphMetadata { name, description, input_tensor_metadata, output_tensor_metadata,
#                    associated_files, input_process_units, output_process_units,
#                    input_tensor_groups, output_tensor_groups, custom_metadata }
_SG_NAME, _SG_DESCRIPTION, _SG_INPUTS, _SG_OUTPUTS, _SG_ASSOCIATED_FILES = 0, 1, 2, 3, 4
_SG_FIELDS = 5
_SG_OUTPUT_TENSOR_GROUPS = 8
_SG_FIELDS_WITH_GROUPS = 9
# TensorGroup { name, tensor_names }
_TG_NAME, _TG_TENSOR_NAMES = 0, 1
_TG_FIELDS = 2
# BoundingBoxProperties { index, type, coordinate_type }
_BB_INDEX, _BB_TYPE, _BB_COORDINATE_TYPE = 0, 1, 2
_BB_FIELDS = 3
# ScoreThresholdingOptions { global_score_threshold }
_STO_THRESHOLD = 0
_STO_FIELDS = 1
# ModelMetadata { name, description, version, subgraph_metadata, author, license,
#                 associated_files, min_parser_version }
_MM_NAME, _MM_DESCRIPTION, _MM_VERSION, _MM_SUBGRAPHS = 0, 1, 2, 3
_MM_AUTHOR, _MM_LICENSE, _MM_ASSOCIATED_FILES, _MM_MIN_PARSER_VERSION = 4, 5, 6, 7
_MM_FIELDS = 8

# union ContentProperties { FeatureProperties, ImageProperties, BoundingBoxProperties,
#                           AudioProperties }  (0 is NONE)
_CONTENT_FEATURE = 1
_CONTENT_IMAGE = 2
_CONTENT_BOUNDING_BOX = 3
# enum BoundingBoxType : byte { UNKNOWN, BOUNDARIES, UPPER_LEFT, CENTER }
_BOX_TYPES = {"BOUNDARIES": 1, "UPPER_LEFT": 2, "CENTER": 3}
_BOX_TYPE_NAMES = {v: k for k, v in _BOX_TYPES.items()}
# enum CoordinateType : byte { RATIO, PIXEL }
_COORDINATE_TYPES = {"RATIO": 0, "PIXEL": 1}
_COORDINATE_TYPE_NAMES = {v: k for k, v in _COORDINATE_TYPES.items()}
# union ProcessUnitOptions { NormalizationOptions, ... }  (0 is NONE)
_OPTIONS_NORMALIZATION = 1
_OPTIONS_SCORE_THRESHOLDING = 3
# enum ColorSpaceType : byte { UNKNOWN, RGB, GRAYSCALE }
_COLOR_SPACES = {"RGB": 1, "GRAYSCALE": 2}
_COLOR_SPACE_NAMES = {v: k for k, v in _COLOR_SPACES.items()}

# Schema version that introduced each feature edgesdk can write (metadata_schema.fbs
# history); everything else used here exists since 1.0.0.
_BASE_PARSER_VERSION = (1, 0, 0)
_FILE_TYPE_VERSIONS = {
    FileType.VOCABULARY: (1, 0, 1),
    FileType.SCANN_INDEX_FILE: (1, 4, 0),
}

#: Output tensor groups entered the schema in 1.2.0.
_TENSOR_GROUPS_VERSION = (1, 2, 0)

_FLOAT32_MAX = 3.4028234663852886e38


# --------------------------------------------------------------------------- versions


def min_parser_version(meta: ModelMetadata) -> str:
    """The minimum metadata parser version that understands every field ``meta`` uses.

    Mirrors the published writers: start at ``1.0.0`` and take the highest version of
    every schema member added later that the buffer uses. Of those members, edgesdk
    can only emit the ``VOCABULARY`` (1.0.1) and ``SCANN_INDEX_FILE`` (1.4.0)
    associated-file types; the rest (tokenizer process units, tensor groups, audio
    properties, ``AssociatedFile.version``, custom metadata) are never written.
    """
    version = _BASE_PARSER_VERSION
    if meta.output_tensor_groups:
        version = max(version, _TENSOR_GROUPS_VERSION)
    for f in meta.all_associated_files():
        version = max(version, _FILE_TYPE_VERSIONS.get(_file_type(f.type), _BASE_PARSER_VERSION))
    return ".".join(str(part) for part in version)


# --------------------------------------------------------------------------- validation


def _error(what: str, *, received: object | None = None, fix: str | None = None) -> MetadataError:
    return MetadataError(
        what,
        received=received,
        supported="TFLite metadata (schema M001) with image/feature tensors, "
        "NormalizationOptions, Stats and associated files",
        fix=fix,
    )


def _file_type(value: object) -> FileType:
    try:
        return FileType(value)
    except ValueError:
        raise MetadataError(
            "Unknown associated file type",
            received=value,
            supported=", ".join(t.value for t in FileType),
            fix="Use one of the edgesdk.metadata.FileType members",
        ) from None


def _check_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _error(f"Metadata field {field} must be a string", received=repr(value))
    if "\x00" in value:
        raise _error(f"Metadata field {field} contains a NUL character", received=repr(value))
    return value


def _check_floats(values: Sequence[float], field: str) -> tuple[float, ...]:
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _error(f"{field} must hold numbers", received=repr(values))
        f = float(v)
        if not math.isfinite(f) or abs(f) > _FLOAT32_MAX:
            raise _error(
                f"{field} must hold finite float32 values",
                received=repr(values),
                fix="Pass finite numbers within the float32 range",
            )
        out.append(f)
    return tuple(out)


def _validate_file(f: AssociatedFile, where: str) -> None:
    if not isinstance(f, AssociatedFile):
        raise _error(f"{where} must hold AssociatedFile values", received=repr(f))
    name = _check_text(f.name, f"{where} name")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        raise _error(
            f"Associated file name {name!r} in {where} is not a plain relative file name",
            received=repr(name),
            fix="Use a name such as labels.txt",
        )
    _check_text(f.description, f"{where} description")
    _file_type(f.type)
    if f.locale is not None:
        _check_text(f.locale, f"{where} locale")
    if not isinstance(f.content, (bytes, bytearray, memoryview)):
        raise _error(
            f"Content of associated file {name!r} must be bytes",
            received=type(f.content).__name__,
            fix="Read the file in binary mode or encode text as UTF-8",
        )


def _validate_tensor(t: TensorMeta, where: str) -> None:
    if not isinstance(t, TensorMeta):
        raise _error(f"{where} must be a TensorMeta", received=repr(t))
    _check_text(t.name, f"{where} name")
    _check_text(t.description, f"{where} description")
    if t.content not in (None, "image", "feature", "bounding_box"):
        raise _error(
            f"{where} content must be 'image', 'feature', 'bounding_box' or None",
            received=repr(t.content),
        )
    _validate_detection_fields(t, where)
    if t.color_space is not None:
        if t.content != "image":
            raise _error(
                f"{where} has a color_space but its content is not 'image'",
                received=f"content={t.content!r}, color_space={t.color_space!r}",
                fix="Set content='image' or drop color_space",
            )
        if t.color_space not in _COLOR_SPACES:
            raise _error(
                f"{where} color_space must be 'RGB' or 'GRAYSCALE'", received=repr(t.color_space)
            )
    if (t.mean is None) != (t.std is None):
        raise _error(
            f"{where} needs both mean and std for NormalizationOptions, or neither",
            received=f"mean={t.mean!r}, std={t.std!r}",
        )
    if t.mean is not None and t.std is not None:
        mean = _check_floats(t.mean, f"{where} mean")
        std = _check_floats(t.std, f"{where} std")
        if not mean or len(mean) != len(std):
            raise _error(
                f"{where} mean and std must be non-empty and of the same length",
                received=f"mean={t.mean!r}, std={t.std!r}",
                fix="Give one value per channel, or one value for all channels, to both",
            )
        if any(s == 0.0 for s in std):
            raise _error(f"{where} std must not contain 0", received=repr(t.std))
    for field, values in (("stats_min", t.stats_min), ("stats_max", t.stats_max)):
        if values is not None:
            _check_floats(values, f"{where} {field}")
    if t.dimension_names is not None:
        for name in t.dimension_names:
            _check_text(name, f"{where} dimension_names")
    if t.content_range is not None:
        rng = t.content_range
        if t.content is None:
            raise _error(f"{where} has a content_range but no content", received=repr(rng))
        if (
            len(rng) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in rng)
            or not all(-(2**31) <= x < 2**31 for x in rng)
        ):
            raise _error(f"{where} content_range must be two int32 values", received=repr(rng))
    for i, f in enumerate(t.associated_files):
        _validate_file(f, f"{where} associated_files[{i}]")


def _validate_detection_fields(t: TensorMeta, where: str) -> None:
    """``bounding_box`` and ``score_threshold`` (object-detector outputs)."""
    if (t.content == "bounding_box") != (t.bounding_box is not None):
        raise _error(
            f"{where} needs content='bounding_box' and bounding_box together",
            received=f"content={t.content!r}, bounding_box={t.bounding_box!r}",
            fix="Give a BoundingBox with content='bounding_box', or neither",
        )
    box = t.bounding_box
    if box is not None:
        if not isinstance(box, BoundingBox):
            raise _error(f"{where} bounding_box must be a BoundingBox", received=repr(box))
        if sorted(box.index) != [0, 1, 2, 3]:
            raise _error(
                f"{where} bounding_box.index must be a permutation of 0..3",
                received=repr(box.index),
                fix="Give the positions of left, top, right, bottom, e.g. (1, 0, 3, 2)",
            )
        if box.type not in _BOX_TYPES or box.coordinate_type not in _COORDINATE_TYPES:
            raise _error(
                f"{where} bounding_box type/coordinate_type unknown",
                received=f"{box.type!r}, {box.coordinate_type!r}",
                fix="Use BOUNDARIES/UPPER_LEFT/CENTER and RATIO/PIXEL",
            )
    if t.score_threshold is not None:
        _check_floats((t.score_threshold,), f"{where} score_threshold")


def _validate_groups(meta: ModelMetadata) -> None:
    names = {t.name for t in meta.outputs}
    for i, g in enumerate(meta.output_tensor_groups):
        if not isinstance(g, TensorGroup):
            raise _error(f"output_tensor_groups[{i}] must be a TensorGroup", received=repr(g))
        _check_text(g.name, f"output_tensor_groups[{i}] name")
        missing = [n for n in g.tensor_names if n not in names]
        if missing or not g.tensor_names:
            raise _error(
                f"output_tensor_groups[{i}] ({g.name!r}) names tensors the outputs lack",
                received=f"tensor_names={list(g.tensor_names)}, outputs={sorted(names)}",
                fix="Group only output tensors that the metadata names",
            )


def validate(meta: ModelMetadata) -> None:
    """Raise :class:`MetadataError` if ``meta`` cannot be written."""
    if not isinstance(meta, ModelMetadata):
        raise _error("Expected an edgesdk.metadata.ModelMetadata", received=repr(meta))
    for field in ("name", "description", "version", "author", "license"):
        _check_text(getattr(meta, field), field)
    _check_text(meta.subgraph_name, "subgraph_name")
    _check_text(meta.subgraph_description, "subgraph_description")
    for i, t in enumerate(meta.inputs):
        _validate_tensor(t, f"inputs[{i}]")
    for i, t in enumerate(meta.outputs):
        _validate_tensor(t, f"outputs[{i}]")
    for i, f in enumerate(meta.associated_files):
        _validate_file(f, f"associated_files[{i}]")
    _validate_groups(meta)


# --------------------------------------------------------------------------- writer


def _string(b: flatbuffers.Builder, value: str | None) -> int | None:
    """A string offset, or ``None`` for an absent (empty) string."""
    return b.CreateString(value) if value else None


def _offset_vector(b: flatbuffers.Builder, offsets: Sequence[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _float_vector(b: flatbuffers.Builder, values: Sequence[float]) -> int:
    b.StartVector(4, len(values), 4)
    for v in reversed(values):
        b.PrependFloat32(float(v))
    return b.EndVector()


def _string_vector(b: flatbuffers.Builder, values: Iterable[str]) -> int:
    return _offset_vector(b, [b.CreateString(v) for v in values])


def _add_offset(b: flatbuffers.Builder, slot: int, off: int | None) -> None:
    if off is not None:
        b.PrependUOffsetTRelativeSlot(slot, off, 0)


def _write_file(b: flatbuffers.Builder, f: AssociatedFile) -> int:
    name = _string(b, f.name)
    description = _string(b, f.description)
    locale = _string(b, f.locale)
    b.StartObject(_AF_FIELDS)
    _add_offset(b, _AF_NAME, name)
    _add_offset(b, _AF_DESCRIPTION, description)
    b.PrependInt8Slot(_AF_TYPE, _file_type(f.type).code, 0)
    _add_offset(b, _AF_LOCALE, locale)
    return b.EndObject()


def _write_files(b: flatbuffers.Builder, files: Sequence[AssociatedFile]) -> int | None:
    if not files:
        return None
    return _offset_vector(b, [_write_file(b, f) for f in files])


def _write_content(b: flatbuffers.Builder, t: TensorMeta) -> int | None:
    if t.content is None:
        return None
    if t.content == "bounding_box":
        props = _write_bounding_box(b, t.bounding_box)
        props_type = _CONTENT_BOUNDING_BOX
    elif t.content == "image":
        b.StartObject(_IP_FIELDS)
        if t.color_space is not None:
            b.PrependInt8Slot(_IP_COLOR_SPACE, _COLOR_SPACES[t.color_space], 0)
        props = b.EndObject()
        props_type = _CONTENT_IMAGE
    else:
        b.StartObject(0)  # FeatureProperties has no fields
        props = b.EndObject()
        props_type = _CONTENT_FEATURE
    value_range = None
    if t.content_range is not None:
        b.StartObject(_VR_FIELDS)
        b.PrependInt32Slot(_VR_MIN, t.content_range[0], 0)
        b.PrependInt32Slot(_VR_MAX, t.content_range[1], 0)
        value_range = b.EndObject()
    b.StartObject(_CT_FIELDS)
    b.PrependUint8Slot(_CT_PROPS_TYPE, props_type, 0)
    _add_offset(b, _CT_PROPS, props)
    _add_offset(b, _CT_RANGE, value_range)
    return b.EndObject()


def _write_bounding_box(b: flatbuffers.Builder, box: BoundingBox | None) -> int:
    assert box is not None
    b.StartVector(4, len(box.index), 4)
    for v in reversed(box.index):
        b.PrependUint32(int(v))
    index = b.EndVector()
    b.StartObject(_BB_FIELDS)
    _add_offset(b, _BB_INDEX, index)
    b.PrependInt8Slot(_BB_TYPE, _BOX_TYPES[box.type], 0)
    b.PrependInt8Slot(_BB_COORDINATE_TYPE, _COORDINATE_TYPES[box.coordinate_type], 0)
    return b.EndObject()


def _write_score_threshold(b: flatbuffers.Builder, threshold: float) -> int:
    b.StartObject(_STO_FIELDS)
    b.PrependFloat32Slot(_STO_THRESHOLD, float(threshold), 0.0)
    options = b.EndObject()
    b.StartObject(_PU_FIELDS)
    b.PrependUint8Slot(_PU_OPTIONS_TYPE, _OPTIONS_SCORE_THRESHOLDING, 0)
    _add_offset(b, _PU_OPTIONS, options)
    return b.EndObject()


def _write_process_units(b: flatbuffers.Builder, t: TensorMeta) -> int | None:
    if t.score_threshold is not None and t.mean is None:
        return _offset_vector(b, [_write_score_threshold(b, t.score_threshold)])
    if t.mean is None or t.std is None:
        return None
    mean = _float_vector(b, t.mean)
    std = _float_vector(b, t.std)
    b.StartObject(_NO_FIELDS)
    _add_offset(b, _NO_MEAN, mean)
    _add_offset(b, _NO_STD, std)
    options = b.EndObject()
    b.StartObject(_PU_FIELDS)
    b.PrependUint8Slot(_PU_OPTIONS_TYPE, _OPTIONS_NORMALIZATION, 0)
    _add_offset(b, _PU_OPTIONS, options)
    return _offset_vector(b, [b.EndObject()])


def _write_stats(b: flatbuffers.Builder, t: TensorMeta) -> int | None:
    if t.stats_min is None and t.stats_max is None:
        return None
    max_ = _float_vector(b, t.stats_max) if t.stats_max is not None else None
    min_ = _float_vector(b, t.stats_min) if t.stats_min is not None else None
    b.StartObject(_ST_FIELDS)
    _add_offset(b, _ST_MAX, max_)
    _add_offset(b, _ST_MIN, min_)
    return b.EndObject()


def _write_tensor(b: flatbuffers.Builder, t: TensorMeta) -> int:
    name = _string(b, t.name)
    description = _string(b, t.description)
    dimension_names = (
        _string_vector(b, t.dimension_names) if t.dimension_names is not None else None
    )
    content = _write_content(b, t)
    process_units = _write_process_units(b, t)
    stats = _write_stats(b, t)
    files = _write_files(b, t.associated_files)
    b.StartObject(_TM_FIELDS)
    _add_offset(b, _TM_NAME, name)
    _add_offset(b, _TM_DESCRIPTION, description)
    _add_offset(b, _TM_DIMENSION_NAMES, dimension_names)
    _add_offset(b, _TM_CONTENT, content)
    _add_offset(b, _TM_PROCESS_UNITS, process_units)
    _add_offset(b, _TM_STATS, stats)
    _add_offset(b, _TM_ASSOCIATED_FILES, files)
    return b.EndObject()


def _write_tensor_groups(b: flatbuffers.Builder, groups: Sequence[TensorGroup]) -> int | None:
    if not groups:
        return None
    offsets = []
    for g in groups:
        name = _string(b, g.name)
        names = _string_vector(b, g.tensor_names)
        b.StartObject(_TG_FIELDS)
        _add_offset(b, _TG_NAME, name)
        _add_offset(b, _TG_TENSOR_NAMES, names)
        offsets.append(b.EndObject())
    return _offset_vector(b, offsets)


def _write_subgraph(b: flatbuffers.Builder, meta: ModelMetadata) -> int:
    name = _string(b, meta.subgraph_name)
    description = _string(b, meta.subgraph_description)
    inputs = _offset_vector(b, [_write_tensor(b, t) for t in meta.inputs])
    outputs = _offset_vector(b, [_write_tensor(b, t) for t in meta.outputs])
    groups = _write_tensor_groups(b, meta.output_tensor_groups)
    b.StartObject(_SG_FIELDS_WITH_GROUPS if groups is not None else _SG_FIELDS)
    _add_offset(b, _SG_OUTPUT_TENSOR_GROUPS, groups)
    _add_offset(b, _SG_NAME, name)
    _add_offset(b, _SG_DESCRIPTION, description)
    _add_offset(b, _SG_INPUTS, inputs)
    _add_offset(b, _SG_OUTPUTS, outputs)
    return b.EndObject()


def build_metadata_buffer(meta: ModelMetadata) -> bytes:
    """Serialise ``meta`` to a ``ModelMetadata`` flatbuffer (identifier ``M001``).

    The result is deterministic: the same ``meta`` always gives the same bytes.
    ``min_parser_version`` is computed (see :func:`min_parser_version`); the value in
    ``meta`` is ignored. File contents are not part of this buffer.
    """
    validate(meta)
    b = flatbuffers.Builder(1024)
    name = _string(b, meta.name)
    description = _string(b, meta.description)
    version = _string(b, meta.version)
    subgraphs = _offset_vector(b, [_write_subgraph(b, meta)])
    author = _string(b, meta.author)
    license_ = _string(b, meta.license)
    files = _write_files(b, meta.associated_files)
    parser_version = _string(b, min_parser_version(meta))
    b.StartObject(_MM_FIELDS)
    _add_offset(b, _MM_NAME, name)
    _add_offset(b, _MM_DESCRIPTION, description)
    _add_offset(b, _MM_VERSION, version)
    _add_offset(b, _MM_SUBGRAPHS, subgraphs)
    _add_offset(b, _MM_AUTHOR, author)
    _add_offset(b, _MM_LICENSE, license_)
    _add_offset(b, _MM_ASSOCIATED_FILES, files)
    _add_offset(b, _MM_MIN_PARSER_VERSION, parser_version)
    root = b.EndObject()
    b.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


# --------------------------------------------------------------------------- reader


class _Malformed(Exception):
    """Internal: an offset or length points outside the buffer."""


#: Work allowed per reader, in bytes touched, as a multiple of the buffer size (plus a
#: constant). A well-formed buffer reads each byte about once; a malformed one whose offsets
#: point many times at the same vector would otherwise cost time quadratic in its size.
WORK_FACTOR = 16
WORK_CONSTANT = 1 << 16


class _Buf:
    """Bounds-checked little-endian access to a flatbuffer, with a work budget."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self.budget = WORK_FACTOR * self.size + WORK_CONSTANT

    def _need(self, pos: int, n: int, charge: bool = True) -> None:
        if pos < 0 or n < 0 or pos + n > self.size:
            raise _Malformed(f"{n} bytes at {pos} outside a buffer of {self.size}")
        self.charge(n + 1 if charge else 1)

    def charge(self, n: int) -> None:
        """Count ``n`` units of work against the budget."""
        self.budget -= n
        if self.budget < 0:
            raise _Malformed(
                f"reading needs more work than a buffer of {self.size} bytes can justify "
                "(offsets point at the same data over and over)"
            )

    def i8(self, pos: int) -> int:
        self._need(pos, 1)
        return int(struct.unpack_from("<b", self.data, pos)[0])

    def u64(self, pos: int) -> int:
        self._need(pos, 8)
        return int(struct.unpack_from("<Q", self.data, pos)[0])

    def u8(self, pos: int) -> int:
        self._need(pos, 1)
        return self.data[pos]

    def u16(self, pos: int) -> int:
        self._need(pos, 2)
        return int(struct.unpack_from("<H", self.data, pos)[0])

    def i32(self, pos: int) -> int:
        self._need(pos, 4)
        return int(struct.unpack_from("<i", self.data, pos)[0])

    def u32(self, pos: int) -> int:
        self._need(pos, 4)
        return int(struct.unpack_from("<I", self.data, pos)[0])

    def table(self, pos: int) -> _Table:
        vtable = pos - self.i32(pos)
        vt_size = self.u16(vtable)
        if vt_size < 4 or vt_size % 2:
            raise _Malformed(f"vtable of size {vt_size} at {vtable}")
        self._need(vtable, vt_size)
        self._need(pos, self.u16(vtable + 2))
        return _Table(self, pos, vtable, vt_size)

    def vector(self, pos: int, elem_size: int) -> tuple[int, int]:
        """(number of elements, position of the first) of the vector at ``pos``."""
        n = self.u32(pos)
        self._need(pos + 4, n * elem_size, charge=False)  # elements are charged when read
        return n, pos + 4


class _Table:
    def __init__(self, buf: _Buf, pos: int, vtable: int, vt_size: int) -> None:
        self.buf, self.pos, self.vtable, self.vt_size = buf, pos, vtable, vt_size

    def _field(self, slot: int) -> int:
        entry = 4 + 2 * slot
        if entry + 2 > self.vt_size:
            return 0
        return self.buf.u16(self.vtable + entry)

    def _ref(self, slot: int) -> int | None:
        off = self._field(slot)
        if not off:
            return None
        at = self.pos + off
        return at + self.buf.u32(at)

    def u8(self, slot: int) -> int:
        off = self._field(slot)
        return self.buf.u8(self.pos + off) if off else 0

    def i8(self, slot: int) -> int:
        off = self._field(slot)
        return self.buf.i8(self.pos + off) if off else 0

    def u32(self, slot: int) -> int:
        off = self._field(slot)
        return self.buf.u32(self.pos + off) if off else 0

    def u64(self, slot: int) -> int:
        off = self._field(slot)
        return self.buf.u64(self.pos + off) if off else 0

    def has(self, slot: int) -> bool:
        return bool(self._field(slot))

    def scalars(self, slot: int, fmt: str, size: int) -> tuple[int | float, ...] | None:
        """A vector of scalars (``struct`` format letter ``fmt`` of ``size`` bytes)."""
        at = self._ref(slot)
        if at is None:
            return None
        n, first = self.buf.vector(at, size)
        self.buf.charge(size * n)
        return tuple(struct.unpack_from(f"<{n}{fmt}", self.buf.data, first))

    def byte_range(self, slot: int) -> tuple[int, int] | None:
        """``(start, length)`` of a ``[ubyte]`` vector, without copying it."""
        at = self._ref(slot)
        if at is None:
            return None
        n, first = self.buf.vector(at, 1)
        return first, n

    def table_at(self, slot: int, index: int) -> _Table:
        """Element ``index`` of a vector of tables."""
        at = self._ref(slot)
        if at is None:
            raise _Malformed(f"no vector in slot {slot}")
        n, first = self.buf.vector(at, 4)
        if not 0 <= index < n:
            raise _Malformed(f"index {index} outside a vector of {n}")
        elem = first + 4 * index
        return self.buf.table(elem + self.buf.u32(elem))

    def length(self, slot: int) -> int:
        at = self._ref(slot)
        return 0 if at is None else self.buf.vector(at, 1)[0]

    def i32(self, slot: int) -> int:
        off = self._field(slot)
        return self.buf.i32(self.pos + off) if off else 0

    def string(self, slot: int) -> str | None:
        at = self._ref(slot)
        return None if at is None else _read_string(self.buf, at)

    def table(self, slot: int) -> _Table | None:
        at = self._ref(slot)
        return None if at is None else self.buf.table(at)

    def tables(self, slot: int) -> list[_Table]:
        at = self._ref(slot)
        if at is None:
            return []
        n, first = self.buf.vector(at, 4)
        out = []
        for i in range(n):
            elem = first + 4 * i
            out.append(self.buf.table(elem + self.buf.u32(elem)))
        return out

    def strings(self, slot: int) -> list[str] | None:
        at = self._ref(slot)
        if at is None:
            return None
        n, first = self.buf.vector(at, 4)
        out = []
        for i in range(n):
            elem = first + 4 * i
            out.append(_read_string(self.buf, elem + self.buf.u32(elem)))
        return out

    def f32(self, slot: int) -> float:
        off = self._field(slot)
        if not off:
            return 0.0
        self.buf._need(self.pos + off, 4)
        return float(struct.unpack_from("<f", self.buf.data, self.pos + off)[0])

    def uints(self, slot: int) -> tuple[int, ...] | None:
        at = self._ref(slot)
        if at is None:
            return None
        n, first = self.buf.vector(at, 4)
        return tuple(int(x) for x in struct.unpack_from(f"<{n}I", self.buf.data, first))

    def floats(self, slot: int) -> tuple[float, ...] | None:
        at = self._ref(slot)
        if at is None:
            return None
        n, first = self.buf.vector(at, 4)
        self.buf.charge(4 * n)
        return tuple(float(x) for x in struct.unpack_from(f"<{n}f", self.buf.data, first))


def _read_string(buf: _Buf, at: int) -> str:
    n, first = buf.vector(at, 1)
    buf.charge(n)
    try:
        return bytes(buf.data[first : first + n]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Malformed(f"string at {at} is not UTF-8") from exc


def _read_file(t: _Table) -> AssociatedFile:
    # A type newer than this subset reads as UNKNOWN rather than failing.
    file_type = FileType.from_code(t.u8(_AF_TYPE)) or FileType.UNKNOWN
    return AssociatedFile(
        name=t.string(_AF_NAME) or "",
        description=t.string(_AF_DESCRIPTION) or "",
        type=file_type,
        locale=t.string(_AF_LOCALE) or None,
    )


def _read_tensor(t: _Table) -> TensorMeta:
    content = None
    color_space = None
    content_range = None
    bounding_box = None
    ct = t.table(_TM_CONTENT)
    if ct is not None:
        kind = ct.u8(_CT_PROPS_TYPE)
        if kind == _CONTENT_IMAGE:
            content = "image"
            props = ct.table(_CT_PROPS)
            if props is not None:
                color_space = _COLOR_SPACE_NAMES.get(props.u8(_IP_COLOR_SPACE))
        elif kind == _CONTENT_FEATURE:
            content = "feature"
        elif kind == _CONTENT_BOUNDING_BOX:
            props = ct.table(_CT_PROPS)
            bounding_box = _read_bounding_box(props) if props is not None else None
            content = "bounding_box" if bounding_box is not None else None
        # AudioProperties are outside edgesdk's subset.
        if content is not None:
            rng = ct.table(_CT_RANGE)
            if rng is not None:
                content_range = (rng.i32(_VR_MIN), rng.i32(_VR_MAX))
    mean = std = None
    score_threshold = _read_score_threshold(t.tables(_TM_PROCESS_UNITS))
    for unit in t.tables(_TM_PROCESS_UNITS):
        if unit.u8(_PU_OPTIONS_TYPE) == _OPTIONS_NORMALIZATION:
            options = unit.table(_PU_OPTIONS)
            if options is not None:
                mean, std = options.floats(_NO_MEAN), options.floats(_NO_STD)
            break
    stats_min = stats_max = None
    st = t.table(_TM_STATS)
    if st is not None:
        stats_max, stats_min = st.floats(_ST_MAX), st.floats(_ST_MIN)
    dimension_names = t.strings(_TM_DIMENSION_NAMES)
    return TensorMeta(
        name=t.string(_TM_NAME) or "",
        description=t.string(_TM_DESCRIPTION) or "",
        content=content,  # type: ignore[arg-type]
        color_space=color_space,  # type: ignore[arg-type]
        mean=mean,
        std=std,
        stats_min=stats_min,
        stats_max=stats_max,
        associated_files=tuple(_read_file(f) for f in t.tables(_TM_ASSOCIATED_FILES)),
        dimension_names=tuple(dimension_names) if dimension_names is not None else None,
        content_range=content_range,
        bounding_box=bounding_box,
        score_threshold=score_threshold,
    )


def _read_bounding_box(props: _Table) -> BoundingBox | None:
    index = props.uints(_BB_INDEX)
    box_type = _BOX_TYPE_NAMES.get(props.u8(_BB_TYPE))
    coordinate_type = _COORDINATE_TYPE_NAMES.get(props.u8(_BB_COORDINATE_TYPE))
    if index is None or len(index) != 4 or box_type is None or coordinate_type is None:
        return None
    return BoundingBox(tuple(index), box_type, coordinate_type)  # type: ignore[arg-type]


def _read_score_threshold(units: list[_Table]) -> float | None:
    for unit in units:
        if unit.u8(_PU_OPTIONS_TYPE) == _OPTIONS_SCORE_THRESHOLDING:
            options = unit.table(_PU_OPTIONS)
            return options.f32(_STO_THRESHOLD) if options is not None else 0.0
    return None


def _read_tensor_groups(sg: _Table) -> tuple[TensorGroup, ...]:
    return tuple(
        TensorGroup(g.string(_TG_NAME) or "", tuple(g.strings(_TG_TENSOR_NAMES) or ()))
        for g in sg.tables(_SG_OUTPUT_TENSOR_GROUPS)
    )


def parse_metadata_buffer(buf: bytes) -> ModelMetadata:
    """Parse a ``ModelMetadata`` flatbuffer (identifier ``M001``) into :class:`ModelMetadata`.

    Associated files come back with empty ``content`` (use
    :func:`edgesdk.metadata.read` on a model for the contents). Only the first
    ``SubGraphMetadata`` is read; fields outside edgesdk's subset are skipped.
    Raises :class:`MetadataError` if ``buf`` is not a well-formed metadata buffer.
    """
    if not isinstance(buf, (bytes, bytearray, memoryview)):
        raise _error("Metadata must be bytes", received=type(buf).__name__)
    data = bytes(buf)
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise _error(
            "Not a TFLite metadata flatbuffer (file identifier M001 missing)",
            received=f"{len(data)} bytes starting {data[:8]!r}",
            fix="Pass the TFLITE_METADATA buffer of a model, or use edgesdk.metadata.read",
        )
    try:
        reader = _Buf(data)
        root = reader.table(reader.u32(0))
        subgraphs = root.tables(_MM_SUBGRAPHS)
        inputs: tuple[TensorMeta, ...] = ()
        outputs: tuple[TensorMeta, ...] = ()
        sg_name = sg_description = ""
        groups: tuple[TensorGroup, ...] = ()
        if subgraphs:
            sg = subgraphs[0]
            sg_name = sg.string(_SG_NAME) or ""
            sg_description = sg.string(_SG_DESCRIPTION) or ""
            inputs = tuple(_read_tensor(t) for t in sg.tables(_SG_INPUTS))
            outputs = tuple(_read_tensor(t) for t in sg.tables(_SG_OUTPUTS))
            groups = _read_tensor_groups(sg)
        return ModelMetadata(
            name=root.string(_MM_NAME) or "",
            description=root.string(_MM_DESCRIPTION) or "",
            version=root.string(_MM_VERSION) or "",
            author=root.string(_MM_AUTHOR) or "",
            license=root.string(_MM_LICENSE) or "",
            inputs=inputs,
            outputs=outputs,
            associated_files=tuple(_read_file(f) for f in root.tables(_MM_ASSOCIATED_FILES)),
            min_parser_version=root.string(_MM_MIN_PARSER_VERSION),
            subgraph_name=sg_name,
            subgraph_description=sg_description,
            output_tensor_groups=groups,
        )
    except (_Malformed, struct.error, RecursionError) as exc:
        raise _error(
            "The TFLite metadata flatbuffer is malformed",
            received=str(exc),
            fix="Re-create the metadata (e.g. re-run edgesdk package)",
        ) from None
