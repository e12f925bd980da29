"""``inspect``: what a ``.tflite`` holds — tensors, operators, size and metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .errors import ModelLoadError


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output tensor as the interpreter sees it."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None
    zero_point: int | None
    #: Where ``shape`` comes from when the flatbuffer stores none (an operator that sets its
    #: outputs' shapes at run time, e.g. ``TFLite_Detection_PostProcess``); None: the model.
    shape_from: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """Everything ``edgesdk inspect`` shows about a ``.tflite`` file."""

    path: str
    size_bytes: int
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    operators: tuple[tuple[str, int], ...]  # (name, count), sorted by name
    metadata: dict[str, Any] | None
    associated_files: tuple[str, ...]
    #: What the model does, read from its metadata: "image_classifier", "object_detector",
    #: "tensor" (generic metadata), or None without metadata.
    task: str | None = None
    #: The output labels (TENSOR_AXIS_LABELS / TENSOR_VALUE_LABELS file), one per class.
    labels: tuple[str, ...] | None = None
    #: The input normalization ``{"mean": [...], "std": [...]}`` from the metadata.
    normalization: dict[str, list[float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["operators"] = {name: count for name, count in self.operators}
        return d


_DTYPES = {
    0: "float32",
    1: "float16",
    2: "int32",
    3: "uint8",
    4: "int64",
    5: "string",
    6: "bool",
    7: "int16",
    8: "complex64",
    9: "int8",
    10: "float64",
    11: "complex128",
    12: "uint64",
    13: "resource",
    14: "variant",
    15: "uint32",
    16: "uint16",
    17: "int4",
}


def _builtin_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {
        v: k
        for k, v in vars(schema.BuiltinOperator).items()
        if not k.startswith("_") and isinstance(v, int)
    }


def _labels(meta: Any) -> tuple[str, ...] | None:
    from .metadata import FileType

    for t in meta.outputs:
        for f in t.associated_files:
            if f.type in (FileType.TENSOR_AXIS_LABELS, FileType.TENSOR_VALUE_LABELS):
                text = bytes(f.content).decode("utf-8", errors="replace")
                return tuple(line.rstrip("\r") for line in text.splitlines())
    return None


def _task(meta: Any, labels: tuple[str, ...] | None) -> str:
    first = meta.inputs[0] if meta.inputs else None
    image_in = first is not None and first.content == "image"
    if image_in and len(meta.outputs) == 4:
        return "object_detector"
    if image_in and len(meta.outputs) == 1 and labels is not None:
        return "image_classifier"
    return "tensor"


def _operator_name(code: Any, names: dict[int, str]) -> str:
    if code.custom is not None:
        return f"CUSTOM:{code.custom}"
    return names.get(code.builtin, str(code.builtin))


def _tensor_info(t: Any) -> TensorInfo:
    return TensorInfo(t.name, t.shape, _DTYPES.get(t.type_code, str(t.type_code)), t.scale,
                      t.zero_point)  # fmt: skip


POSTPROCESS_OP = "TFLite_Detection_PostProcess"


def postprocess_shapes(options: bytes) -> tuple[tuple[int, ...], ...] | None:
    """The output shapes of a ``TFLite_Detection_PostProcess`` op from its custom options
    (a FlexBuffer map): boxes ``[1, N, 4]``, classes ``[1, N]``, scores ``[1, N]`` and the
    count ``[1]``, with N = ``max_detections * max_classes_per_detection`` (as the op's
    Prepare sets them). None when the options cannot be read."""
    from flatbuffers import flexbuffers

    if not options:
        return None
    try:  # damaged FlexBuffers raise assorted errors; the options are capped in size
        attrs = flexbuffers.Loads(options)
        n = int(attrs["max_detections"]) * int(attrs.get("max_classes_per_detection", 1))
    except Exception:  # noqa: BLE001
        return None
    if not 0 < n <= 1_000_000:
        return None
    return (1, n, 4), (1, n), (1, n), (1,)


def _output_infos(summary: Any) -> tuple[TensorInfo, ...]:
    """The outputs, with the shapes a post-processing op sets at run time filled in."""
    infos = [_tensor_info(t) for t in summary.outputs]
    for op in summary.custom_operators:
        if op.name != POSTPROCESS_OP:
            continue
        shapes = postprocess_shapes(op.options)
        if shapes is None:
            continue
        for port, tensor in enumerate(op.outputs[: len(shapes)]):
            for i, index in enumerate(summary.output_indices):
                if index == tensor and not infos[i].shape:
                    infos[i] = replace(
                        infos[i], shape=shapes[port], shape_from=f"{POSTPROCESS_OP} (run time)"
                    )
    return tuple(infos)


def inspect(path: str | Path) -> ModelInfo:
    """Read a ``.tflite`` file: tensors, operators, size and edgesdk/TFLite metadata.

    Any bytes give a result or an :class:`~edgesdk.errors.EdgeSdkError`, in time and memory
    bounded by the file's size (see :mod:`edgesdk.metadata.tflite_reader`).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelLoadError(
            f"could not read {p}",
            received=f"{type(exc).__name__}: {exc}",
            supported="a .tflite file",
            fix="Check the path",
        ) from None
    return inspect_bytes(data, str(p))


def inspect_bytes(data: bytes, path: str = "<bytes>") -> ModelInfo:
    """:func:`inspect` on the bytes of a ``.tflite`` (``path`` only labels the result)."""
    from . import metadata as md
    from .errors import MetadataError
    from .metadata.tflite_reader import read_model

    p = path
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelLoadError(
            f"{p} is not a TFLite model",
            received=f"a file of {len(data)} bytes starting with {data[:8]!r}",
            supported="a .tflite flatbuffer (file identifier TFL3)",
            fix="Pass the model.tflite written by 'edgesdk package'",
        )
    try:
        summary = read_model(data)
    except MetadataError as exc:
        raise ModelLoadError(f"{p} is a corrupt TFLite model", received=exc.received) from None
    names = _builtin_names()
    counts: dict[str, int] = {}
    for code in summary.operators:
        name = _operator_name(code, names)
        counts[name] = counts.get(name, 0) + 1
    meta = md.read(data)
    files = tuple(sorted(md.read_associated_files(data))) if meta is not None else ()
    labels = _labels(meta) if meta is not None else None
    norm = None
    if meta is not None and meta.inputs and meta.inputs[0].mean is not None:
        norm = {"mean": list(meta.inputs[0].mean), "std": list(meta.inputs[0].std or ())}
    return ModelInfo(
        path=p,
        size_bytes=len(data),
        inputs=tuple(_tensor_info(t) for t in summary.inputs),
        outputs=_output_infos(summary),
        operators=tuple(sorted(counts.items())),
        metadata=None if meta is None else md.to_json(meta),
        associated_files=files,
        task=None if meta is None else _task(meta, labels),
        labels=labels,
        normalization=norm,
    )
