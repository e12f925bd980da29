"""Golden vectors, the format: the types, and ``golden.bin`` / ``golden.json`` encoded and
decoded (the layout is described in :mod:`edgesdk.verify.golden`)."""

from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VerificationError
from .tolerance import measured

FORMAT = "edgesdk-golden"
VERSION = 1
MAGIC = b"EDGG"
INDEX_NAME = "golden.json"
DATA_NAME = "golden.bin"
#: Where ``generate_android`` puts the golden folder inside the generated Gradle project.
ANDROID_ASSET_DIR = Path("app", "src", "androidTest", "assets", "golden")
DEFAULT_CASES = 16
#: Pixel budget per stored image (e.g. 64 x 48): 16 RGB cases take at most 144 KB of pixels.
MAX_PIXELS = 3072
_HEADER = struct.Struct("<4sIII")
_CASE = struct.Struct("<IIIifIIIIII32s")
_ALIGN = 4


@dataclass(frozen=True)
class TensorSpec:
    """dtype, shape and affine quantization of one model tensor (scale 0: not quantized)."""

    dtype: str
    shape: tuple[int, ...]
    scale: float = 0.0
    zero_point: int = 0

    def __post_init__(self) -> None:
        if self.dtype not in ("float32", "int8", "uint8"):
            raise ValueError(f"unsupported tensor type {self.dtype!r}")
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    @property
    def quantized(self) -> bool:
        return self.dtype != "float32"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "shape": list(self.shape),
            "scale": self.scale,
            "zero_point": self.zero_point,
        }


@dataclass(frozen=True)
class RawSample:
    """One image to turn into a golden case: uint8 ``H x W x C`` pixels (C = 1 or 3)."""

    pixels: np.ndarray
    label: int | None = None
    origin: str = ""


@dataclass(frozen=True)
class GoldenCase:
    """One golden case: the raw pixels and what the host computed from them."""

    index: int
    width: int
    height: int
    channels: int  #: of the stored pixels: 3 (RGB) or 1 (gray)
    pixels: bytes  #: uint8, row-major, ``height x width x channels``
    input_sha256: str  #: of the input tensor bytes (little-endian) Python fed the interpreter
    output: bytes  #: the raw output tensor (little-endian)
    scores: tuple[float, ...]  #: the dequantized output, float32 values
    top1: int
    top1_margin: float  #: reference score of the top-1 minus the runner-up's
    tolerance: float
    label: int | None = None  #: the sample's class index in the data (folder order / y), if known
    origin: str = ""  #: where the sample came from

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"golden pixels have 1 or 3 channels, not {self.channels}")
        if len(self.pixels) != self.width * self.height * self.channels:
            raise ValueError(
                f"case {self.index}: {len(self.pixels)} pixel bytes for "
                f"{self.width} x {self.height} x {self.channels}"
            )

    def pixel_array(self) -> np.ndarray:
        """The stored pixels, ``H x W x channels`` uint8."""
        return np.frombuffer(self.pixels, np.uint8).reshape(self.height, self.width, self.channels)

    def argb(self) -> np.ndarray:
        """The pixels as opaque ARGB (``0xFFRRGGBB``, uint32, ``H x W``), as Kotlin gets them."""
        p = self.pixel_array().astype(np.uint32)
        if self.channels == 1:
            p = np.repeat(p, 3, axis=2)
        return (0xFF000000 | p[..., 0] << 16 | p[..., 1] << 8 | p[..., 2]).astype(np.uint32)

    def scores_array(self) -> np.ndarray:
        return np.asarray(self.scores, dtype=np.float32)


@dataclass(frozen=True)
class GoldenSet:
    """A model's golden cases and the facts needed to recompute them."""

    model_sha256: str
    quantization: str  #: how the model was converted: none, float16, dynamic, int8
    input: TensorSpec
    output: TensorSpec
    mean: tuple[float, ...]
    std: tuple[float, ...]
    num_classes: int
    source: str  #: eval_data, calibration_data or generated
    tolerance_basis: str
    cases: tuple[GoldenCase, ...]

    @property
    def input_size(self) -> tuple[int, int, int]:
        """Model input ``(height, width, channels)``."""
        _, h, w, c = self.input.shape
        return h, w, c


def _le(array: np.ndarray, dtype: str) -> bytes:
    return np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()


def _pad(buf: bytearray) -> None:
    buf.extend(b"\0" * (-len(buf) % _ALIGN))


def encode(golden: GoldenSet) -> tuple[bytes, bytes]:
    """``(golden.bin, golden.json)`` bytes of ``golden``; deterministic."""
    n = len(golden.cases)
    data = bytearray()
    data_start = _HEADER.size + n * _CASE.size
    layout = []
    for case in golden.cases:
        _pad(data)
        pix = (data_start + len(data), len(case.pixels))
        data.extend(case.pixels)
        _pad(data)
        outp = (data_start + len(data), len(case.output))
        data.extend(case.output)
        if golden.output.quantized:
            _pad(data)
            sc = (data_start + len(data), 4 * len(case.scores))
            data.extend(_le(case.scores_array(), "float32"))
        else:
            sc = outp
        layout.append((pix, outp, sc))
    _pad(data)
    head = bytearray(_HEADER.pack(MAGIC, VERSION, n, golden.num_classes))
    for case, (pix, outp, sc) in zip(golden.cases, layout, strict=True):
        head.extend(
            _CASE.pack(
                case.width, case.height, case.channels, case.top1, case.tolerance,
                pix[0], pix[1], outp[0], outp[1], sc[0], sc[1],
                bytes.fromhex(case.input_sha256),
            )
        )  # fmt: skip
    blob = bytes(head + data)
    index = {
        "format": FORMAT,
        "version": VERSION,
        "data": {
            "file": DATA_NAME,
            "bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "layout": "little-endian; see edgesdk.verify.golden",
        },
        "model": {
            "sha256": golden.model_sha256,
            "quantization": golden.quantization,
            "input": golden.input.to_dict(),
            "output": golden.output.to_dict(),
            "num_classes": golden.num_classes,
            "mean": list(golden.mean),
            "std": list(golden.std),
        },
        "source": golden.source,
        "tolerance": {
            "basis": golden.tolerance_basis,
            "kernel_spread": measured(golden.quantization),
            "rule": "max |scores - reference| <= tolerance, and top-1 equal to the expected "
            "class or tied with it within the tolerance in the reference",
        },
        "cases": [
            {
                "index": c.index,
                "width": c.width,
                "height": c.height,
                "channels": c.channels,
                "top1": c.top1,
                "top1_margin": c.top1_margin if math.isfinite(c.top1_margin) else None,
                "tolerance": c.tolerance,
                "label": c.label,
                "origin": c.origin,
                "input_sha256": c.input_sha256,
                "pixels": list(pix),
                "output": list(outp),
                "scores": list(sc),
            }
            for c, (pix, outp, sc) in zip(golden.cases, layout, strict=True)
        ],
    }
    return blob, _index_text(index).encode("ascii")


def _index_text(index: dict[str, Any]) -> str:
    """Readable and compact: indented, but one line per case."""
    cases = index["cases"]
    head = json.dumps({**index, "cases": []}, indent=1, sort_keys=True, ensure_ascii=True)
    lines = ",\n".join("  " + json.dumps(c, sort_keys=True, ensure_ascii=True) for c in cases)
    return head.replace('"cases": []', '"cases": [\n' + lines + "\n ]", 1) + "\n"


def write_golden(golden: GoldenSet, folder: Path) -> tuple[Path, Path]:
    """Write ``golden.bin`` and ``golden.json`` into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    blob, index = encode(golden)
    (folder / DATA_NAME).write_bytes(blob)
    (folder / INDEX_NAME).write_bytes(index)
    return folder / DATA_NAME, folder / INDEX_NAME


def _bad(folder: Path, what: str, received: object) -> VerificationError:
    return VerificationError(
        f"the golden vectors in {folder} are damaged: {what}",
        received=received,
        fix="Re-create them with 'edgesdk package ... --target android --force'",
    )


def read_golden(folder: Path) -> GoldenSet:
    """Read ``golden.json`` + ``golden.bin`` from ``folder``; checks they agree.

    Raises :class:`~edgesdk.errors.VerificationError` when the files are damaged or do
    not match each other, whatever their bytes.
    """
    try:
        return _read_golden(Path(folder))
    except VerificationError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, struct.error,
            OverflowError, RecursionError, MemoryError) as exc:  # fmt: skip
        raise _bad(Path(folder), "unreadable content", f"{type(exc).__name__}: {exc}") from None


def _read_golden(folder: Path) -> GoldenSet:
    try:
        index = json.loads((folder / INDEX_NAME).read_text(encoding="utf-8"))
        blob = (folder / DATA_NAME).read_bytes()
    except (OSError, ValueError) as exc:
        raise _bad(
            folder, "cannot read golden.json / golden.bin", f"{type(exc).__name__}: {exc}"
        ) from None
    if index.get("format") != FORMAT or index.get("version") != VERSION:
        raise _bad(folder, "unknown format", f"{index.get('format')} v{index.get('version')}")
    if hashlib.sha256(blob).hexdigest() != index["data"]["sha256"]:
        raise _bad(
            folder, "golden.bin does not match the SHA-256 in golden.json", f"{len(blob)} bytes"
        )
    magic, version, n, classes = _HEADER.unpack_from(blob, 0)
    m = index["model"]
    if (
        magic != MAGIC
        or version != VERSION
        or n != len(index["cases"])
        or classes != m["num_classes"]
    ):
        raise _bad(
            folder, "golden.bin header disagrees with golden.json", (magic, version, n, classes)
        )
    out_spec = TensorSpec(**{**m["output"], "shape": tuple(m["output"]["shape"])})
    cases = []
    for i, entry in enumerate(index["cases"]):
        rec = _CASE.unpack_from(blob, _HEADER.size + i * _CASE.size)
        w, h, ch, top1, tol, po, pl, oo, ol, so, sl, sha = rec
        if (w, h, ch, top1, [po, pl], [oo, ol], [so, sl], sha.hex()) != (
            entry["width"], entry["height"], entry["channels"], entry["top1"],
            entry["pixels"], entry["output"], entry["scores"], entry["input_sha256"],
        ) or np.float32(tol) != np.float32(entry["tolerance"]):  # fmt: skip
            raise _bad(folder, f"case {i} differs between golden.bin and golden.json", entry)
        scores = np.frombuffer(blob[so : so + sl], dtype="<f4")
        margin = entry.get("top1_margin")
        cases.append(
            GoldenCase(
                index=int(entry["index"]),
                width=w,
                height=h,
                channels=ch,
                pixels=blob[po : po + pl],
                input_sha256=sha.hex(),
                output=blob[oo : oo + ol],
                scores=tuple(float(v) for v in scores),
                top1=top1,
                top1_margin=math.inf if margin is None else float(margin),
                tolerance=float(entry["tolerance"]),
                label=entry.get("label"),
                origin=entry.get("origin", ""),
            )
        )
    return GoldenSet(
        model_sha256=m["sha256"],
        quantization=m["quantization"],
        input=TensorSpec(**{**m["input"], "shape": tuple(m["input"]["shape"])}),
        output=out_spec,
        mean=tuple(m["mean"]),
        std=tuple(m["std"]),
        num_classes=int(m["num_classes"]),
        source=index["source"],
        tolerance_basis=index["tolerance"]["basis"],
        cases=tuple(cases),
    )


def golden_bytes(folder: Path) -> int:
    """Total size of the golden files in ``folder``."""
    return sum((Path(folder) / name).stat().st_size for name in (DATA_NAME, INDEX_NAME))
