"""Golden vectors: raw pixels, and what Python computed from them, for the JVM and the phone.

``edgesdk package --target android`` writes N cases (default 16) into the app's
``androidTest`` assets, ``app/src/androidTest/assets/golden/``:

``golden.bin`` (little-endian; the machine-readable set, read by the generated Kotlin)::

    header      "EDGG" | u32 version (1) | u32 case count | u32 number of classes
    case table  per case, 76 bytes:
                u32 width | u32 height | u32 channels (3 = RGB, 1 = gray) | i32 expected top-1 |
                f32 tolerance | u32 pixels offset | u32 pixels length | u32 output offset |
                u32 output length | u32 scores offset | u32 scores length |
                32 bytes SHA-256 of the input tensor Python fed the interpreter
    data        per case: raw pixels (uint8, row-major, H x W x channels), the raw output tensor
                (float32 or int8/uint8), the dequantized scores (float32); each block starts on a
                4-byte boundary. For a float32 output the scores ARE the raw output: both entries
                point at the same bytes.

``golden.json`` is the same index for people and for Python, plus what the binary does not
need: the model's SHA-256, tensor types, mean/std, where each sample came from, the top-1
margin and the tolerance basis.

What is stored and why:

- **Raw pixels at their own size, as uint8**, not the float tensor: the device must run the
  resize itself. Samples come from ``--eval-data``, else the calibration data, else seeded
  synthetic images; every sample is shrunk (bilinear, same contract) to at most
  :data:`MAX_PIXELS` pixels so 16 cases of a 224 x 224 x 3 model stay well under 256 KB, and
  every other case whose size equals the model input is given another, non-square size, so
  both the resize and the same-size path run. Gray models get RGB pixels where the data has
  them, so the device also runs the gray formula.
- **The input tensor only as a SHA-256** (a float32 224 x 224 x 3 tensor is 588 KB per case):
  Python recomputes it from the pixels; the JVM and the device hash theirs and compare bits.
- **The reference outputs** from the LiteRT interpreter on the host (1 thread): the raw output
  tensor and the dequantized scores, the expected top-1 and a per-case tolerance that follows
  from the output type (see :func:`case_tolerance`).

A case passes when ``max |scores - reference| <= tolerance`` and the top-1 class equals the
expected one, or is tied with it within the tolerance in the reference (near-ties of a
1000-class softmax must not fail on a device whose float kernels round differently).

Writing is deterministic: the same model and samples give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import preprocess
from ..errors import DataError, VerificationError

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


# --------------------------------------------------------------------------------- types


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


# ----------------------------------------------------------------------------- samples


def _fit(h: int, w: int, max_pixels: int) -> tuple[int, int]:
    if h * w <= max_pixels:
        return h, w
    s = math.sqrt(max_pixels / (h * w))
    return max(1, int(h * s)), max(1, int(w * s))


def _other_size(i: int, height: int, width: int) -> tuple[int, int]:
    """A non-square size unlike the model input's, varied with ``i``: larger than the model
    input for even ``i`` (the device downscales), smaller for odd ``i`` (it upscales)."""
    k = i // 2
    if i % 2 == 0:
        h = height + max(1, height // 2) + k % 4
        w = width + max(3, width // 4) + (3 * k) % 5
    else:
        h = max(1, height * 2 // 3 - k % 3)
        w = max(2, width * 3 // 5 + 2 + k % 4)
    if h == w:
        w += 1
    return h, w


def stored_size(
    i: int, src: tuple[int, int], model: tuple[int, int], max_pixels: int = MAX_PIXELS
) -> tuple[int, int]:
    """The ``(height, width)`` case ``i`` is stored at, for a sample of size ``src``."""
    h, w = _fit(src[0], src[1], max_pixels)
    if (h, w) == tuple(model) and i % 2 == 1:
        h, w = _fit(*_other_size(i // 2, *model), max_pixels)
        if (h, w) == tuple(model):
            h = h - 1 if h > 1 else h + 1
    return h, w


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(np.asarray(values, np.float32) + np.float32(0.5)), 0, 255).astype(
        np.uint8
    )


def _resized(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if pixels.shape[:2] == tuple(size):
        return pixels
    out = preprocess.resize_bilinear(pixels, size[0], size[1])
    return _to_uint8(out.reshape(size[0], size[1], pixels.shape[2]))


def _spread(total: int, n: int) -> list[int]:
    """``n`` indices spread evenly over ``range(total)`` (all of them when ``total <= n``)."""
    if total <= n:
        return list(range(total))
    return sorted({int(round(v)) for v in np.linspace(0, total - 1, n)})


def samples_from_data(path: Path, model_channels: int, n: int) -> list[RawSample]:
    """Up to ``n`` samples spread over a data set, at their ORIGINAL size, as uint8.

    Image folders are read as RGB (also for gray models: the device then runs the gray
    formula); an ``.npz`` gives its ``x`` as stored (values rounded to 0..255).
    """
    from ..data import IMAGE_SUFFIXES, read_image

    path = Path(path)
    if path.is_dir():
        files: list[tuple[int, Path]] = []
        folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
        for label, folder in enumerate(folders):
            files += [
                (label, f)
                for f in sorted(folder.iterdir())
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
            ]
        out = []
        for i in _spread(len(files), n):
            label, f = files[i]
            try:
                pixels = read_image(f, 3)
            except DataError:  # not a usable image: the data's loader skipped or refused it
                continue
            out.append(RawSample(pixels, label, f"{path.name}/{f.relative_to(path).as_posix()}"))
        return out
    try:
        with np.load(path, allow_pickle=False) as data:
            x = np.asarray(data["x"])
            y = np.asarray(data["y"]).reshape(-1) if "y" in data.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"could not read golden samples from {path}",
            received=f"{type(exc).__name__}: {exc}",
            supported="an .npz with x (raw pixel values) and optionally y",
        ) from None
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise DataError(
            f"the images in {path} cannot make golden vectors",
            received=f"x.shape={x.shape}",
            supported="x of shape (N, H, W), (N, H, W, 1) or (N, H, W, 3)",
        )
    if x.shape[-1] == 1 and model_channels == 3:
        x = np.repeat(x, 3, axis=-1)
    return [
        RawSample(
            _to_uint8(x[i]),
            None if y is None or len(y) != len(x) else int(y[i]),
            f"{path.name}:x[{i}]",
        )
        for i in _spread(len(x), n)
    ]


def generated_samples(n: int, height: int, width: int, seed: int = 0) -> list[RawSample]:
    """``n`` seeded synthetic RGB images (gradients, discs, noise) of sizes unlike the model's."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        h, w = _fit(*_other_size(i, height, width), MAX_PIXELS)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.empty((h, w, 3), np.float32)
        for c in range(3):
            gx, gy, base = rng.uniform(-1.0, 1.0, 3)
            img[..., c] = 127.5 + 60.0 * (gx * xx / max(w - 1, 1) + gy * yy / max(h - 1, 1))
            img[..., c] += 40.0 * base
        for _ in range(3):
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            r = rng.uniform(0.15, 0.45) * min(h, w) + 1.0
            img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = rng.uniform(0, 255, 3)
        img += rng.normal(0.0, 8.0, img.shape).astype(np.float32)
        out.append(RawSample(_to_uint8(img), None, f"generated[seed={seed}, {i}]"))
    return out


def model_pixels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """Stored pixels -> what the model's preprocessing starts from (the Kotlin twin's rule:
    gray pixels become R = G = B, RGB pixels become Pillow's gray for 1-channel models)."""
    if pixels.shape[-1] == channels:
        return pixels
    if channels == 1:
        return preprocess.rgb_to_gray(pixels)
    return np.repeat(pixels, 3, axis=-1)


# ---------------------------------------------------------------------------- tolerance


def case_tolerance(output: TensorSpec, quantization: str, scores: np.ndarray) -> float:
    """How far a device's scores may be from the host's, from the output type.

    - int8 / uint8 output: one output quantization step (``scale``, plus 0.1 % for the float
      rounding of the dequantized difference).
    - float32 output: a small epsilon relative to the largest score, ``1e-4 * max(1, |s|max)``,
      and ``1e-2 * max(1, |s|max)`` for dynamic-range models (activations are quantized at run
      time, so a device's integer kernels may round differently).
    """
    if output.quantized:
        return float(np.float32(output.scale * 1.001))
    peak = float(np.max(np.abs(scores))) if scores.size and np.isfinite(scores).all() else 1.0
    rel = 1e-2 if quantization == "dynamic" else 1e-4
    return float(np.float32(rel * max(1.0, peak)))


def tolerance_basis(output: TensorSpec, quantization: str) -> str:
    if output.quantized:
        return f"{output.dtype} output: one quantization step (scale {output.scale:.6g}) + 0.1%"
    if quantization == "dynamic":
        return "float32 output of a dynamic-range model: 1e-2 x max(1, max |score|)"
    return "float32 output: 1e-4 x max(1, max |score|)"


# ------------------------------------------------------------------------------- build


def _le(array: np.ndarray, dtype: str) -> bytes:
    return np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()


def top1_of(scores: np.ndarray) -> tuple[int, float]:
    """Top-1 index (ties: lower index) and its margin over the runner-up; -1 if not finite."""
    s = np.asarray(scores, np.float32).reshape(-1)
    if s.size == 0 or not np.isfinite(s).all():
        return -1, 0.0
    ranked = preprocess.top_k(s, 2)
    margin = ranked[0][1] - ranked[1][1] if len(ranked) > 1 else math.inf
    return ranked[0][0], float(margin)


def build_golden(
    model_bytes: bytes,
    samples: Sequence[RawSample],
    *,
    mean: Sequence[float],
    std: Sequence[float],
    quantization: str,
    source: str,
    runner: Any = None,
    max_pixels: int = MAX_PIXELS,
) -> GoldenSet:
    """Run ``samples`` through the Python preprocessing and LiteRT: the golden set.

    ``runner`` is an :class:`edgesdk.verify.host.TFLiteRunner` of ``model_bytes`` (one is
    made when omitted).
    """
    from .host import TFLiteRunner

    runner = runner or TFLiteRunner(model_bytes)
    if len(runner.input.shape) != 4:
        raise DataError(
            "golden vectors need an image model",
            received=f"input shape {runner.input.shape}",
            supported="(1, H, W, 1) or (1, H, W, 3) inputs",
        )
    _, height, width, channels = runner.input.shape
    inp = TensorSpec(
        runner.input.dtype, runner.input.shape, runner.input.scale, runner.input.zero_point
    )
    out = TensorSpec(
        runner.output.dtype, runner.output.shape, runner.output.scale, runner.output.zero_point
    )
    mean_t = tuple(float(np.float32(m)) for m in mean)
    std_t = tuple(float(np.float32(s)) for s in std)
    cases = []
    for i, sample in enumerate(samples):
        src = np.asarray(sample.pixels, np.uint8)
        if src.ndim == 2:
            src = src[..., None]
        h, w = stored_size(i, src.shape[:2], (height, width), max_pixels)
        stored = _resized(src, (h, w))
        tensor = runner.prepare(model_pixels(stored, channels), mean_t, std_t)
        raw = runner.run_tensor(tensor)
        scores = runner.dequantized(raw).reshape(-1).astype(np.float32)
        top1, margin = top1_of(scores)
        cases.append(
            GoldenCase(
                index=i,
                width=w,
                height=h,
                channels=int(stored.shape[2]),
                pixels=stored.tobytes(),
                input_sha256=hashlib.sha256(_le(tensor, inp.dtype)).hexdigest(),
                output=_le(raw.reshape(-1), out.dtype),
                scores=tuple(float(v) for v in scores),
                top1=top1,
                top1_margin=margin,
                tolerance=case_tolerance(out, quantization, scores),
                label=sample.label,
                origin=sample.origin,
            )
        )
    return GoldenSet(
        model_sha256=hashlib.sha256(model_bytes).hexdigest(),
        quantization=quantization,
        input=inp,
        output=out,
        mean=mean_t,
        std=std_t,
        num_classes=int(np.prod(out.shape[1:])) if len(out.shape) > 1 else int(out.shape[0]),
        source=source,
        tolerance_basis=tolerance_basis(out, quantization),
        cases=tuple(cases),
    )


# ------------------------------------------------------------------------ write / read


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


# ------------------------------------------------------------------------------ check


@dataclass(frozen=True)
class CaseCheck:
    """One golden case checked on one tier (the JSON line the device test prints, too)."""

    index: int
    width: int
    height: int
    top1_expected: int
    top1_got: int
    max_abs_diff: float | None  #: None when the candidate scores are not finite
    tolerance: float
    input_match: bool | None  #: the input tensor hashed equal to Python's (None: not checked)
    passed: bool
    latency_ms: float | None = None
    bitmap_top1: int | None = None  #: top-1 through classify(Bitmap) on the device

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaseCheck:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in names})


def compare_case(
    case: GoldenCase,
    scores: np.ndarray,
    *,
    input_sha256: str | None = None,
    latency_ms: float | None = None,
) -> CaseCheck:
    """Python twin of the generated Kotlin ``GoldenCheck.compare``."""
    ref = case.scores_array()
    got = np.asarray(scores, np.float32).reshape(-1)
    finite = got.size == ref.size and bool(np.isfinite(got).all())
    diff = float(np.max(np.abs(got - ref))) if finite and got.size else None
    top1, _ = top1_of(got) if finite else (-1, 0.0)
    tol = np.float32(case.tolerance)
    top1_ok = top1 == case.top1 or (  # float32 arithmetic, as in the Kotlin twin
        top1 >= 0 and case.top1 >= 0 and ref[case.top1] - ref[top1] <= tol
    )
    match = None if input_sha256 is None else input_sha256 == case.input_sha256
    passed = bool(top1_ok and diff is not None and np.float32(diff) <= tol and match is not False)
    return CaseCheck(
        case.index, case.width, case.height, case.top1, top1, diff, case.tolerance, match, passed,
        latency_ms,
    )  # fmt: skip


@dataclass(frozen=True)
class GoldenVerification:
    """The golden cases re-run through Python preprocessing + LiteRT on the host (tier 1)."""

    tier: str
    golden: str
    source: str
    model: str
    model_matches: bool
    cases: tuple[CaseCheck, ...]
    passed: bool
    tolerance_basis: str
    problems: tuple[str, ...] = ()

    @property
    def failing(self) -> tuple[CaseCheck, ...]:
        return tuple(c for c in self.cases if not c.passed)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cases"] = [c.to_dict() for c in self.cases]
        d["failing_cases"] = [c.index for c in self.failing]
        return d


def verify_golden(folder: Path, model_bytes: bytes, model_label: str = "") -> GoldenVerification:
    """Re-run every golden case on the host and compare with the stored references.

    Checks, per case: the prepared tensor hashes to the stored SHA-256 (the Python
    preprocessing is what it was), the outputs are within tolerance, top-1 agrees.
    A model whose SHA-256 differs from the one the vectors were made for fails as a whole.
    """
    from .host import TFLiteRunner

    golden = read_golden(folder)
    sha = hashlib.sha256(model_bytes).hexdigest()
    problems: list[str] = []
    if sha != golden.model_sha256:
        problems.append(
            f"the golden vectors were made for the model with SHA-256 {golden.model_sha256[:12]}…, "
            f"{model_label or 'this model'} is {sha[:12]}…"
        )
    runner = TFLiteRunner(model_bytes)
    _, _, _, channels = runner.input.shape if len(runner.input.shape) == 4 else (0, 0, 0, 0)
    checks = []
    for case in golden.cases:
        tensor = runner.prepare(model_pixels(case.pixel_array(), channels), golden.mean, golden.std)
        digest = hashlib.sha256(_le(tensor, runner.input.dtype)).hexdigest()
        scores = runner.dequantized(runner.run_tensor(tensor)).reshape(-1)
        checks.append(compare_case(case, scores, input_sha256=digest))
    passed = not problems and bool(checks) and all(c.passed for c in checks)
    if not checks:
        problems.append("the golden set has no cases")
    return GoldenVerification(
        tier="host",
        golden=str(folder),
        source=golden.source,
        model=model_label,
        model_matches=sha == golden.model_sha256,
        cases=tuple(checks),
        passed=passed,
        tolerance_basis=golden.tolerance_basis,
        problems=tuple(problems),
    )


__all__ = [
    "TensorSpec",
    "RawSample",
    "GoldenCase",
    "GoldenSet",
    "CaseCheck",
    "GoldenVerification",
    "build_golden",
    "samples_from_data",
    "generated_samples",
    "stored_size",
    "model_pixels",
    "case_tolerance",
    "encode",
    "write_golden",
    "read_golden",
    "golden_bytes",
    "compare_case",
    "verify_golden",
]
