"""Put metadata and associated files into a ``.tflite`` model, and read them back.

The layout follows what the TFLite Support library, ML Model Binding and the Task
Library read:

- the model flatbuffer (identifier ``TFL3``) gets a ``metadata`` entry named
  ``TFLITE_METADATA`` whose buffer holds the ``M001`` metadata flatbuffer;
- the associated files are stored uncompressed (``ZIP_STORED``) in a zip archive
  appended after the flatbuffer, with offsets counted from the start of the file (as
  Python's ``zipfile`` writes when appending to a model file).

Everything is deterministic: fixed zip timestamps (1980-01-01), attributes and order.
"""

from __future__ import annotations

import io
import lzma
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as tfl

from edgesdk.errors import MetadataError
from edgesdk.metadata.schema import build_metadata_buffer, parse_metadata_buffer
from edgesdk.metadata.types import AssociatedFile, ModelMetadata, TensorMeta

METADATA_NAME = "TFLITE_METADATA"
MODEL_FILE_IDENTIFIER = b"TFL3"
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_BUFFER_ALIGNMENT = 16
_MAX_FLATBUFFER = 2**31 - 1
_SUPPORTED = "a TFLite flatbuffer model (file identifier TFL3) under 2 GB"


def _error(what: str, *, received: object | None = None, fix: str | None = None) -> MetadataError:
    return MetadataError(what, received=received, supported=_SUPPORTED, fix=fix)


def _as_bytes(model: object) -> bytes:
    if not isinstance(model, (bytes, bytearray, memoryview)):
        raise _error("A TFLite model must be given as bytes", received=type(model).__name__)
    data = bytes(model)
    if len(data) < 8 or data[4:8] != MODEL_FILE_IDENTIFIER:
        raise _error(
            "Not a TFLite model (file identifier TFL3 missing)",
            received=f"{len(data)} bytes starting {data[:8]!r}",
            fix="Pass the bytes of a .tflite file produced by the TFLite converter",
        )
    return data


def _name(value: bytes | str | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


# --------------------------------------------------------------------------- zip


def _collect_files(meta: ModelMetadata) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for f in meta.all_associated_files():
        content = bytes(f.content)
        if f.name in files and files[f.name] != content:
            raise MetadataError(
                f"Two different associated files are both named {f.name!r}",
                received=f"{len(files[f.name])} bytes and {len(content)} bytes",
                supported="one content per associated file name (the same file may be "
                "attached to several tensors)",
                fix="Rename one of them",
            )
        files[f.name] = content
    return files


def _append_zip(model: bytes, files: Mapping[str, bytes]) -> bytes:
    """``model`` followed by a zip of ``files`` whose offsets count from byte 0."""
    out = io.BytesIO()
    out.write(model)
    # Mode "w" on a positioned stream starts the archive at the current position and
    # records absolute offsets, as zipfile's append mode does on a model file.
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, content)
    return out.getvalue()


#: Limits on the zip of associated files: entries, inflated bytes per file and in total.
#: Declared sizes are checked first, then every file is streamed with the limit, so a
#: compressed bomb stops at the limit whatever its headers say.
MAX_ASSOCIATED_FILES = 1024
MAX_ASSOCIATED_FILE_BYTES = 64 * 2**20
MAX_ASSOCIATED_TOTAL_BYTES = 64 * 2**20
_CHUNK = 1 << 16


def _zip_error(what: str, received: object) -> MetadataError:
    return _error(
        what,
        received=received,
        fix="Re-populate the metadata with edgesdk (labels and vocabularies are small files)",
    )


def _read_limited(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    out = bytearray()
    with zf.open(info) as f:
        while True:
            chunk = f.read(min(_CHUNK, limit + 1 - len(out)))
            if not chunk:
                return bytes(out)
            out += chunk
            if len(out) > limit:
                raise _zip_error(
                    f"The associated file {info.filename!r} inflates beyond the limit",
                    f"more than {limit} bytes (declared {info.file_size})",
                )


def read_associated_files(model: bytes) -> dict[str, bytes]:
    """Return the files packed in the zip appended to ``model`` (name -> bytes).

    Returns an empty dict when the model carries no zip. Raises
    :class:`MetadataError` if ``model`` is not a TFLite model, its zip is corrupt, or it
    holds more than :data:`MAX_ASSOCIATED_FILES` files or more than
    :data:`MAX_ASSOCIATED_FILE_BYTES` / :data:`MAX_ASSOCIATED_TOTAL_BYTES` inflated bytes.
    """
    data = _as_bytes(model)
    errors = (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        struct.error,
        EOFError,
        NotImplementedError,
        RuntimeError,  # encrypted entries
        KeyError,
        OverflowError,
        MemoryError,
        UnicodeDecodeError,
        zlib.error,
        lzma.LZMAError,
    )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return {}
    except errors as exc:
        raise _zip_error(
            "The zip of associated files appended to the model is corrupt",
            f"{type(exc).__name__}: {exc}",
        ) from None
    try:
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_ASSOCIATED_FILES:
                raise _zip_error(
                    "The zip of associated files holds too many files",
                    f"{len(infos)} entries (limit {MAX_ASSOCIATED_FILES})",
                )
            declared = sum(max(int(i.file_size), 0) for i in infos)
            if declared > MAX_ASSOCIATED_TOTAL_BYTES:
                raise _zip_error(
                    "The associated files declare more bytes than the limit",
                    f"{declared} bytes (limit {MAX_ASSOCIATED_TOTAL_BYTES})",
                )
            out: dict[str, bytes] = {}
            total = 0
            for info in infos:
                if info.file_size > MAX_ASSOCIATED_FILE_BYTES:
                    raise _zip_error(
                        f"The associated file {info.filename!r} is larger than the limit",
                        f"{info.file_size} bytes (limit {MAX_ASSOCIATED_FILE_BYTES})",
                    )
                limit = min(MAX_ASSOCIATED_FILE_BYTES, MAX_ASSOCIATED_TOTAL_BYTES - total)
                content = _read_limited(zf, info, limit)
                total += len(content)
                out.setdefault(info.filename, content)
            return out
    except MetadataError:
        raise
    except errors as exc:
        raise _zip_error(
            "The zip of associated files appended to the model is corrupt",
            f"{type(exc).__name__}: {exc}",
        ) from None


# --------------------------------------------------------------------------- model side


class _AlignedBufferT(tfl.BufferT):  # type: ignore[misc]
    """``BufferT`` whose data vector starts on a 16-byte boundary, as the converter's."""

    def Pack(self, builder: flatbuffers.Builder) -> int:  # noqa: N802 - generated API
        data = None
        if self.data is not None:
            raw = np.ascontiguousarray(self.data, dtype=np.uint8).tobytes()
            builder.StartVector(1, len(raw), _BUFFER_ALIGNMENT)
            builder.head = builder.head - len(raw)
            builder.Bytes[builder.head : builder.head + len(raw)] = raw
            data = builder.EndVector()
        tfl.BufferStart(builder)
        if data is not None:
            tfl.BufferAddData(builder, data)
        tfl.BufferAddOffset(builder, self.offset)
        tfl.BufferAddSize(builder, self.size)
        return int(tfl.BufferEnd(builder))


def _aligned(buffer: Any) -> _AlignedBufferT:
    out = _AlignedBufferT()
    out.__dict__.update(buffer.__dict__)
    return out


def _malformed(exc: Exception) -> MetadataError:
    return _error(
        "The TFLite model flatbuffer is malformed",
        received=f"{type(exc).__name__}: {exc}",
        fix="Re-convert the model with the TFLite converter",
    )


def _unpack_model(data: bytes) -> Any:
    try:
        return tfl.ModelT.InitFromPackedBuf(data, 0)
    except Exception as exc:  # the generated reader raises anything on garbage
        raise _malformed(exc) from None


def inline_buffers(model: bytes) -> bytes:
    """Move tensor data stored after the flatbuffer (``Buffer.offset``) into the flatbuffer.

    Some tools (e.g. ai-edge-quantizer) write weights outside the flatbuffer even for
    small models; older runtimes and :func:`populate` need them inside. Models over
    2 GB cannot be inlined and raise :class:`MetadataError`.
    """
    data = _as_bytes(model)
    model_t = _unpack_model(data)
    changed = False
    for b in model_t.buffers or []:
        if (b.offset or 0) > 1:
            end = int(b.offset) + int(b.size)
            if end > len(data):
                raise _error(
                    "The model points at tensor data beyond the end of the file",
                    received=f"buffer at offset {b.offset} size {b.size}, file {len(data)} bytes",
                )
            b.data = np.frombuffer(data[int(b.offset) : end], dtype=np.uint8)
            b.offset = 0
            b.size = 0
            changed = True
    if not changed:
        return data
    if len(data) >= 2**31 - 2**20:
        raise _error(
            "The model is too large to hold its tensor data inside the flatbuffer",
            received=f"{len(data)} bytes",
            fix="Shrink or quantize the model below 2 GB",
        )
    return _pack_model(model_t)


def _check_packable(model_t: Any) -> None:
    external = [i for i, b in enumerate(model_t.buffers or []) if (b.offset or 0) > 1]
    large_ops = [
        op
        for sg in model_t.subgraphs or []
        for op in sg.operators or []
        if (op.largeCustomOptionsOffset or 0) > 1
    ]
    if external or large_ops:
        raise _error(
            "The model stores tensor data outside its flatbuffer (a model over 2 GB)",
            received=f"{len(external)} external buffers, {len(large_ops)} operators with "
            "external custom options",
            fix="Quantize or shrink the model below 2 GB before adding metadata",
        )
    if not model_t.subgraphs:
        raise _error("The TFLite model has no subgraph", received="0 subgraphs")


def _check_tensor_counts(model_t: Any, meta: ModelMetadata) -> None:
    sg = model_t.subgraphs[0]
    n_in = len(sg.inputs) if sg.inputs is not None else 0
    n_out = len(sg.outputs) if sg.outputs is not None else 0
    if len(meta.inputs) != n_in or len(meta.outputs) != n_out:
        raise MetadataError(
            "The metadata does not describe every input and output tensor of the model",
            received=f"model has {n_in} inputs / {n_out} outputs, metadata has "
            f"{len(meta.inputs)} / {len(meta.outputs)}",
            supported="exactly one TensorMeta per input and per output of the first subgraph",
            fix="Give one TensorMeta per model input and output, in model order",
        )


def _set_metadata_buffer(model_t: Any, metadata_buf: bytes) -> None:
    """Point the ``TFLITE_METADATA`` entry at ``metadata_buf``, replacing an old one."""
    buffers = model_t.buffers if model_t.buffers is not None else []
    entries = model_t.metadata if model_t.metadata is not None else []
    data = np.frombuffer(metadata_buf, dtype=np.uint8)
    ours = [e for e in entries if _name(e.name) == METADATA_NAME]
    others = [e for e in entries if _name(e.name) != METADATA_NAME]
    # Reuse the old buffer when it is a private, valid one, so that re-populating gives
    # the same bytes as populating the original model.
    reusable = (
        ours
        and 0 < ours[0].buffer < len(buffers)
        and not any(
            t.buffer == ours[0].buffer for sg in model_t.subgraphs for t in sg.tensors or []
        )
        and sum(e.buffer == ours[0].buffer for e in others) == 0
    )
    if reusable:
        entry = ours[0]
        buffers[entry.buffer] = tfl.BufferT(data=data, offset=0, size=0)
    else:
        if not buffers:
            buffers.append(tfl.BufferT())  # buffer 0 is the conventional empty buffer
        buffers.append(tfl.BufferT(data=data, offset=0, size=0))
        entry = tfl.MetadataT(name=METADATA_NAME, buffer=len(buffers) - 1)
    entry.name = METADATA_NAME
    model_t.buffers = buffers
    model_t.metadata = [*others, entry]


def _pack_model(model_t: Any) -> bytes:
    model_t.buffers = [_aligned(b) for b in model_t.buffers]
    try:
        builder = flatbuffers.Builder(1024 * 1024)
        builder.Finish(model_t.Pack(builder), file_identifier=MODEL_FILE_IDENTIFIER)
        return bytes(builder.Output())
    except flatbuffers.builder.BuilderSizeError as exc:
        raise _error(
            "The model with metadata would exceed the 2 GB flatbuffer limit",
            received=str(exc),
            fix="Quantize or shrink the model",
        ) from None


def populate(model: bytes, meta: ModelMetadata) -> bytes:
    """Return a copy of the ``.tflite`` ``model`` carrying ``meta`` and its files.

    The model flatbuffer is re-packed with a ``TFLITE_METADATA`` metadata entry whose
    buffer holds :func:`build_metadata_buffer` of ``meta``; every associated file
    (model- and tensor-level, de-duplicated by name) is stored in a zip appended to
    the flatbuffer. Metadata and zip already present are replaced, so populating a
    populated model gives the same bytes as populating the original. The rest of the
    model (graph, weights, signatures, other metadata entries) is kept. Output is
    deterministic.

    Raises :class:`MetadataError` if ``model`` is not a TFLite model, stores data
    outside its flatbuffer, if ``meta`` does not have one ``TensorMeta`` per input and
    output of the first subgraph, or if two different files share a name.
    """
    data = _as_bytes(model)
    metadata_buf = build_metadata_buffer(meta)
    files = _collect_files(meta)
    model_t = _unpack_model(data)
    _check_packable(model_t)
    _check_tensor_counts(model_t, meta)
    _set_metadata_buffer(model_t, metadata_buf)
    packed = _pack_model(model_t)
    return _append_zip(packed, files) if files else packed


def _metadata_buffer(data: bytes) -> bytes | None:
    from edgesdk.metadata.tflite_reader import metadata_entry

    return metadata_entry(data, METADATA_NAME)


def _with_contents(
    files: tuple[AssociatedFile, ...], contents: Mapping[str, bytes]
) -> tuple[AssociatedFile, ...]:
    return tuple(replace(f, content=contents.get(f.name, b"")) for f in files)


def _tensor_with_contents(t: TensorMeta, contents: Mapping[str, bytes]) -> TensorMeta:
    return replace(t, associated_files=_with_contents(t.associated_files, contents))


def read(model: bytes) -> ModelMetadata | None:
    """Read the metadata of a ``.tflite`` model, with associated file contents.

    Returns ``None`` when the model has no ``TFLITE_METADATA`` entry. Each
    :class:`AssociatedFile` gets its ``content`` from the appended zip (empty if the
    zip lacks it). Raises :class:`MetadataError` for a malformed model or metadata.
    """
    data = _as_bytes(model)
    buf = _metadata_buffer(data)
    if buf is None:
        return None
    meta = parse_metadata_buffer(buf)
    contents = read_associated_files(data)
    return replace(
        meta,
        inputs=tuple(_tensor_with_contents(t, contents) for t in meta.inputs),
        outputs=tuple(_tensor_with_contents(t, contents) for t in meta.outputs),
        associated_files=_with_contents(meta.associated_files, contents),
    )
