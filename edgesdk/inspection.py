"""``inspect``: what a ``.tflite`` holds — tensors, operators, size and metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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


def inspect(path: str | Path) -> ModelInfo:
    """Read a ``.tflite`` file: tensors, operators, size and edgesdk/TFLite metadata."""
    from ai_edge_litert import schema_py_generated as schema

    from . import metadata as md

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
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelLoadError(
            f"{p} is not a TFLite model",
            received=f"a file of {len(data)} bytes starting with {data[:8]!r}",
            supported="a .tflite flatbuffer (file identifier TFL3)",
            fix="Pass the model.tflite written by 'edgesdk package'",
        )
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception as exc:  # flatbuffers raises assorted errors on corrupt input
        raise ModelLoadError(
            f"{p} is a corrupt TFLite model", received=f"{type(exc).__name__}: {exc}"
        ) from None
    names = _builtin_names()
    counts: dict[str, int] = {}
    codes = model.operatorCodes or []
    sub = model.subgraphs[0]
    for op in sub.operators or []:
        code = codes[op.opcodeIndex]
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        if builtin == 32 and code.customCode:  # CUSTOM
            custom = (
                code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
            )
            name = f"CUSTOM:{custom}"
        else:
            name = names.get(builtin, str(builtin))
        counts[name] = counts.get(name, 0) + 1

    def tensor(i: int) -> TensorInfo:
        t = sub.tensors[i]
        q = t.quantization
        scale = zp = None
        if q is not None and q.scale is not None and len(q.scale) > 0:
            scale = float(q.scale[0])
            zp = int(q.zeroPoint[0]) if q.zeroPoint is not None and len(q.zeroPoint) else 0
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        return TensorInfo(name, shape, _DTYPES.get(int(t.type), str(t.type)), scale, zp)

    meta = md.read(data)
    files = tuple(sorted(md.read_associated_files(data))) if meta is not None else ()
    return ModelInfo(
        path=str(p),
        size_bytes=len(data),
        inputs=tuple(tensor(i) for i in sub.inputs),
        outputs=tuple(tensor(i) for i in sub.outputs),
        operators=tuple(sorted(counts.items())),
        metadata=None if meta is None else md.to_json(meta),
        associated_files=files,
    )
