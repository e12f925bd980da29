"""A bounded reader of the TFLite model flatbuffer (``TFL3``): what ``inspect`` and the
metadata reader need, on the bounds-checked primitives of :mod:`edgesdk.metadata.schema`.

The generated bindings (``ai_edge_litert.schema_py_generated``) trust every offset: on
damaged bytes they raise assorted exceptions or follow offsets for a long time. This reader
checks every offset and length before use, reads only the first subgraph, and stops after a
work budget proportional to the file's size, so any byte string gives either a correct read or
a :class:`~edgesdk.errors.MetadataError`.

Field slots follow the published ``schema.fbs`` (declaration order).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from edgesdk.errors import MetadataError
from edgesdk.metadata.schema import _Buf, _Malformed, _Table

# Model { version, operator_codes, subgraphs, description, buffers, metadata_buffer,
#         metadata, signature_defs }
_M_OPERATOR_CODES, _M_SUBGRAPHS, _M_BUFFERS, _M_METADATA = 1, 2, 4, 6
# OperatorCode { deprecated_builtin_code, custom_code, version, builtin_code }
_OC_DEPRECATED, _OC_CUSTOM, _OC_BUILTIN = 0, 1, 3
# SubGraph { tensors, inputs, outputs, operators, name }
_SG_TENSORS, _SG_INPUTS, _SG_OUTPUTS, _SG_OPERATORS = 0, 1, 2, 3
# Tensor { shape, type, buffer, name, quantization, ... }
_T_SHAPE, _T_TYPE, _T_NAME, _T_QUANTIZATION = 0, 1, 3, 4
# QuantizationParameters { min, max, scale, zero_point, ... }
_Q_SCALE, _Q_ZERO_POINT = 2, 3
# Operator { opcode_index, inputs, outputs, builtin_options_type, builtin_options,
#            custom_options, ... }
_OP_OPCODE_INDEX, _OP_OUTPUTS, _OP_CUSTOM_OPTIONS = 0, 2, 5
#: Custom options longer than this are not kept (a post-processing op's are ~300 bytes).
MAX_CUSTOM_OPTIONS = 64 * 1024
# Buffer { data, offset, size }
_B_DATA, _B_OFFSET, _B_SIZE = 0, 1, 2
# Metadata { name, buffer }
_MD_NAME, _MD_BUFFER = 0, 1

_CUSTOM = 32  # BuiltinOperator.CUSTOM
_SUPPORTED = "a TFLite flatbuffer model (file identifier TFL3)"


@dataclass(frozen=True)
class TensorRecord:
    """One tensor of the first subgraph."""

    name: str
    shape: tuple[int, ...]
    type_code: int
    scale: float | None
    zero_point: int | None


@dataclass(frozen=True)
class OperatorCode:
    """An operator code: the builtin number, or ``CUSTOM`` with its name."""

    builtin: int
    custom: str | None


@dataclass(frozen=True)
class CustomOperator:
    """A custom operator of the first subgraph: its name, output tensor indices and its
    custom options (FlexBuffer bytes; empty when absent or over :data:`MAX_CUSTOM_OPTIONS`)."""

    name: str
    outputs: tuple[int, ...]
    options: bytes


@dataclass(frozen=True)
class ModelSummary:
    """What the reader took from a model."""

    inputs: tuple[TensorRecord, ...]
    outputs: tuple[TensorRecord, ...]
    operators: tuple[OperatorCode, ...]  #: one per operator of the first subgraph
    metadata: dict[str, bytes]  #: metadata entries by name (first of each name)
    #: the subgraph's output tensor indices, in output order (as ``outputs``)
    output_indices: tuple[int, ...] = ()
    custom_operators: tuple[CustomOperator, ...] = ()


def _error(what: str, received: object) -> MetadataError:
    return MetadataError(
        what,
        received=received,
        supported=_SUPPORTED,
        fix="Re-convert the model with the TFLite converter, or re-run edgesdk package",
    )


def _root(data: bytes) -> tuple[_Buf, _Table]:
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise _error("Not a TFLite model (file identifier TFL3 missing)", f"{data[:8]!r}")
    buf = _Buf(data)
    return buf, buf.table(buf.u32(0))


def _tensor(sg: _Table, index: int) -> TensorRecord:
    t = sg.table_at(_SG_TENSORS, index)
    shape = tuple(int(d) for d in (t.scalars(_T_SHAPE, "i", 4) or ()))
    scale = zero_point = None
    q = t.table(_T_QUANTIZATION)
    if q is not None:
        scales = q.scalars(_Q_SCALE, "f", 4)
        if scales:
            scale = float(scales[0])
            zps = q.scalars(_Q_ZERO_POINT, "q", 8)
            zero_point = int(zps[0]) if zps else 0
    return TensorRecord(t.string(_T_NAME) or "", shape, t.i8(_T_TYPE), scale, zero_point)


def _buffer_bytes(buf: _Buf, model: _Table, index: int) -> bytes:
    b = model.table_at(_M_BUFFERS, index)
    offset = b.u64(_B_OFFSET)
    if offset > 1:  # stored after the flatbuffer (models over 2 GB)
        size = b.u64(_B_SIZE)
        if offset + size > buf.size:
            raise _Malformed(f"buffer {index} at {offset} (+{size}) outside the file")
        buf.charge(size)
        return bytes(buf.data[offset : offset + size])
    rng = b.byte_range(_B_DATA)
    if rng is None:
        return b""
    buf.charge(rng[1])
    return bytes(buf.data[rng[0] : rng[0] + rng[1]])


def _metadata(buf: _Buf, model: _Table, wanted: str | None) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for entry in model.tables(_M_METADATA):
        name = entry.string(_MD_NAME) or ""
        if name in out or (wanted is not None and name != wanted):
            continue
        out[name] = _buffer_bytes(buf, model, entry.u32(_MD_BUFFER))
    return out


def read_model(data: bytes) -> ModelSummary:
    """Read the first subgraph's inputs, outputs and operators, and the metadata entries."""
    try:
        buf, model = _root(data)
        n_sub = model.length(_M_SUBGRAPHS)
        if n_sub == 0:
            raise _Malformed("the model has no subgraph")
        sg = model.table_at(_M_SUBGRAPHS, 0)
        inputs = tuple(_tensor(sg, int(i)) for i in sg.scalars(_SG_INPUTS, "i", 4) or ())
        output_indices = tuple(int(i) for i in sg.scalars(_SG_OUTPUTS, "i", 4) or ())
        outputs = tuple(_tensor(sg, i) for i in output_indices)
        codes: dict[int, OperatorCode] = {}
        operators = []
        custom_ops = []
        for op in sg.tables(_SG_OPERATORS):
            index = op.u32(_OP_OPCODE_INDEX)
            if index not in codes:
                oc = model.table_at(_M_OPERATOR_CODES, index)
                builtin = max(oc.i8(_OC_DEPRECATED), oc.i32(_OC_BUILTIN))
                custom = oc.string(_OC_CUSTOM) if builtin == _CUSTOM else None
                codes[index] = OperatorCode(builtin, custom)
            operators.append(codes[index])
            if codes[index].custom is not None:
                outs = tuple(int(i) for i in op.scalars(_OP_OUTPUTS, "i", 4) or ())
                rng = op.byte_range(_OP_CUSTOM_OPTIONS)
                options = b""
                if rng is not None and rng[1] <= MAX_CUSTOM_OPTIONS:
                    buf.charge(rng[1])
                    options = bytes(buf.data[rng[0] : rng[0] + rng[1]])
                custom_ops.append(CustomOperator(str(codes[index].custom), outs, options))
        return ModelSummary(
            inputs, outputs, tuple(operators), _metadata(buf, model, None), output_indices,
            tuple(custom_ops),
        )  # fmt: skip
    except MetadataError:
        raise
    except (_Malformed, struct.error, RecursionError, OverflowError, MemoryError) as exc:
        raise _error("The TFLite model flatbuffer is malformed", str(exc)) from None


def metadata_entry(data: bytes, name: str) -> bytes | None:
    """The buffer of the first metadata entry called ``name``, or ``None``."""
    try:
        buf, model = _root(data)
        return _metadata(buf, model, name).get(name)
    except MetadataError:
        raise
    except (_Malformed, struct.error, RecursionError, OverflowError, MemoryError) as exc:
        raise _error("The TFLite model flatbuffer is malformed", str(exc)) from None


__all__ = [
    "CustomOperator",
    "ModelSummary",
    "OperatorCode",
    "TensorRecord",
    "metadata_entry",
    "read_model",
]
