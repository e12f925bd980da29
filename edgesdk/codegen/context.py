"""The render context of the Android generator: one frozen, validated object.

Everything a template may print comes from :class:`AndroidContext`, and every
value is checked here, once, so templates never have to guard against a value
they cannot emit safely. :func:`android_context` is the one place that decides
defaults (derived class name and package, broadcast mean/std, quantization of
float tensors) and their precedence: a value the user gives wins, and is
validated; a value derived from ``model_name`` is safe by construction.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from edgesdk.errors import CodegenError

from .runtime import COMPILED_MODEL, GPU_RELATIVE_TOLERANCE, AndroidRuntime

#: Tensor types the generated wrapper can feed and read.
DTYPES = ("float32", "int8", "uint8")
_INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255)}

#: Kotlin hard keywords: never an identifier (https://kotlinlang.org/docs/keyword-reference.html).
KOTLIN_HARD_KEYWORDS = frozenset(
    "as break class continue do else false for fun if in interface is null object package "
    "return super this throw true try typealias typeof val var when while".split()
)
#: Java keywords and literals: never a package segment or a class name Java code can use.
JAVA_KEYWORDS = frozenset(
    "abstract assert boolean break byte case catch char class const continue default do "
    "double else enum extends final finally float for goto if implements import instanceof "
    "int interface long native new package private protected public return short static "
    "strictfp super switch synchronized this throw throws transient try void volatile while "
    "true false null _".split()
)
#: Names the generated Kotlin file and app already use; a wrapper class of that name
#: would shadow an import or a Kotlin built-in, or clash with another generated file.
RESERVED_CLASS_NAMES = frozenset(
    "Accelerator Any Array Boolean Byte ByteArray ByteBuffer ByteOrder Bitmap Category Char "
    "Closeable CompiledModel Context DataType Double Environment FileChannel FileInputStream "
    "Float FloatArray Int IntArray Interpreter List Long MappedByteBuffer Nothing Options R "
    "BuildConfig Short String TensorBuffer TensorType Unit".split()
)
#: File names of the sample app's own sources (compared case-insensitively: the wrapper
#: lands in the same folder, and macOS / Windows file systems ignore case).
_APP_SOURCE_NAMES = frozenset(
    {"mainactivity", "goldenvectors", "goldenresult", "goldencheck", "goldeninstrumentation"}
)
#: The same, as class names (for messages).
_APP_CLASS_NAMES = frozenset(
    {"MainActivity", "GoldenVectors", "GoldenResult", "GoldenCheck", "GoldenInstrumentation"}
)
_MAX_LABELS = 5000

#: SDK levels of the generated app. Tool and library versions live in one place, the version
#: catalog template ``templates/android/gradle/libs.versions.toml.jinja`` (each with where it
#: was checked), and are read from there by :func:`android_build`.
_ANDROID_SDK = {"compile_sdk": 35, "target_sdk": 35, "min_sdk": 24}
_CATALOG_VERSIONS = ("agp", "kotlin", "gradle", "litert")
_VERSION_LINE = re.compile(r'^([A-Za-z][A-Za-z0-9_-]*)\s*=\s*"([0-9][0-9A-Za-z.+-]*)"\s*(?:#.*)?$')


def android_build() -> dict[str, Any]:
    """Versions the generated Gradle project builds with: ``agp``, ``kotlin``, ``gradle``,
    ``litert`` from the version catalog template's ``[versions]`` table, plus SDK levels."""
    from .android import templates_root

    text = templates_root().joinpath("android", "gradle", "libs.versions.toml.jinja")
    lines = text.read_bytes().decode("utf-8").splitlines()
    found: dict[str, str] = {}
    section = ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
            continue
        m = _VERSION_LINE.match(stripped)
        if section == "[versions]" and m:
            found[m.group(1)] = m.group(2)
    missing = [k for k in _CATALOG_VERSIONS if k not in found]
    if missing:
        raise CodegenError(
            "the version catalog template lacks versions",
            received=f"missing {missing} in templates/android/gradle/libs.versions.toml.jinja",
            fix="This is a bug in the templates; please report it",
        )
    return {**{k: found[k] for k in _CATALOG_VERSIONS}, **_ANDROID_SDK}


_MAX_TEXT = 200
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def float32(value: float) -> float:
    """``value`` rounded to the nearest float32, as a Python float (exactly representable)."""
    v = float(value)
    try:
        return float(struct.unpack("<f", struct.pack("<f", v))[0])
    except OverflowError:  # rounds beyond the largest float32
        return math.copysign(math.inf, v)


@dataclass(frozen=True)
class AndroidContext:
    """Everything the Kotlin wrapper and the Android sample app are rendered from.

    Build it with :func:`android_context`; constructing it directly validates too.
    Floats are stored rounded to float32, the precision the phone computes in.
    """

    model_name: str
    class_name: str
    android_package: str
    labels: tuple[str, ...]
    input_height: int
    input_width: int
    input_channels: int
    input_dtype: str
    input_scale: float
    input_zero_point: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    output_dtype: str
    output_scale: float
    output_zero_point: int
    num_classes: int
    version: str
    author: str
    edgesdk_version: str
    model_asset: str = "model.tflite"
    runtime: AndroidRuntime = AndroidRuntime()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        _check_text("model_name", self.model_name, allow_empty=False)
        _check_text("version", self.version, allow_empty=False)
        _check_text("author", self.author, allow_empty=True)
        _check_text("edgesdk_version", self.edgesdk_version, allow_empty=False)
        validate_class_name(self.class_name)
        validate_android_package(self.android_package)
        labels = _check_labels(self.labels)
        set_(self, "labels", labels)
        if self.num_classes != len(labels):
            raise CodegenError(
                "the number of labels differs from the model's number of classes",
                received=f"num_classes={self.num_classes}, len(labels)={len(labels)}",
                supported="exactly one label per output class",
                fix="Pass a labels file with one line per class",
            )
        for name in ("input_height", "input_width"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 16384:
                raise CodegenError(
                    f"{name} must be a positive integer",
                    received=f"{name}={v!r}",
                    supported="1..16384",
                    fix="Use a model with a fixed input size",
                )
        if self.input_channels not in (1, 3):
            raise CodegenError(
                "the image input must have 1 (grayscale) or 3 (RGB) channels",
                received=f"input_channels={self.input_channels!r}",
                supported="1 or 3",
                fix="Use a model whose input is H x W x 1 or H x W x 3",
            )
        scale, zp = _check_quant("input", self.input_dtype, self.input_scale, self.input_zero_point)
        set_(self, "input_scale", scale)
        set_(self, "input_zero_point", zp)
        scale, zp = _check_quant(
            "output", self.output_dtype, self.output_scale, self.output_zero_point
        )
        set_(self, "output_scale", scale)
        set_(self, "output_zero_point", zp)
        set_(self, "mean", _check_floats("mean", self.mean, self.input_channels, nonzero=False))
        set_(self, "std", _check_floats("std", self.std, self.input_channels, nonzero=True))
        if not isinstance(self.runtime, AndroidRuntime):
            raise CodegenError(
                "runtime must be an AndroidRuntime",
                received=type(self.runtime).__name__,
                fix="Build it with edgesdk.codegen.AndroidRuntime(name, accelerators)",
            )
        if self.model_asset != "model.tflite":
            raise CodegenError(
                "the model asset must be named model.tflite",
                received=f"model_asset={self.model_asset!r}",
                supported="model.tflite",
            )

    # --- derived values -------------------------------------------------------------------
    @property
    def package_path(self) -> str:
        """The package as a relative folder, e.g. ``com/example/app``."""
        return self.android_package.replace(".", "/")

    @property
    def preprocessing_class_name(self) -> str:
        """The pure-Kotlin pre/post-processing class that sits beside the wrapper."""
        return self.class_name + "Preprocessing"

    @property
    def app_name(self) -> str:
        """The sample app's display name (launcher label)."""
        return self.model_name

    def to_template_dict(self) -> dict[str, Any]:
        """The mapping templates are rendered with: all fields plus the derived values."""
        d = asdict(self)
        d["package_path"] = self.package_path
        d["preprocessing_class_name"] = self.preprocessing_class_name
        d["app_name"] = self.app_name
        d["build"] = android_build()
        d["runtime"] = self.runtime.name
        d["compiled_model"] = self.runtime.name == COMPILED_MODEL
        d["accelerators"] = list(self.runtime.accelerators)
        d["gpu"] = self.runtime.gpu
        d["gpu_relative_tolerance"] = GPU_RELATIVE_TOLERANCE
        return d


def android_context(
    *,
    model_name: str,
    labels: Sequence[str],
    input_shape: Sequence[int],
    input_dtype: Any = "float32",
    input_quant: tuple[float, int] | None = None,
    output_dtype: Any = "float32",
    output_quant: tuple[float, int] | None = None,
    mean: float | Sequence[float] = 0.0,
    std: float | Sequence[float] = 1.0,
    class_name: str | None = None,
    android_package: str | None = None,
    num_classes: int | None = None,
    version: str = "1",
    author: str = "",
    edgesdk_version: str | None = None,
    runtime: AndroidRuntime | None = None,
) -> AndroidContext:
    """Build the :class:`AndroidContext` for an image classifier.

    ``input_shape`` is ``(H, W, C)`` or ``(1, H, W, C)``. Dtypes may be strings or
    NumPy dtypes. ``*_quant`` is ``(scale, zero_point)``; ``None`` or ``(0.0, 0)`` for
    float32 tensors. ``mean`` / ``std`` are one value per channel or one for all.
    ``class_name`` defaults to a PascalCase name derived from ``model_name`` ending in
    ``Classifier``; ``android_package`` to ``com.example.<model name, lowercase>``.
    Raises :class:`~edgesdk.errors.CodegenError` for anything that cannot be emitted.
    """
    _check_text("model_name", model_name, allow_empty=False)
    shape = tuple(input_shape)
    if len(shape) == 4 and shape[0] in (1, -1, None):
        shape = shape[1:]
    if len(shape) != 3 or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise CodegenError(
            "the model input must be an image tensor of fixed size",
            received=f"input_shape={tuple(input_shape)!r}",
            supported="(height, width, channels) or (1, height, width, channels)",
            fix="Use a model with a fixed H x W x C image input",
        )
    height, width, channels = shape
    in_dtype = _dtype_name("input_dtype", input_dtype)
    out_dtype = _dtype_name("output_dtype", output_dtype)
    in_scale, in_zp = _quant_pair("input_quant", input_quant)
    out_scale, out_zp = _quant_pair("output_quant", output_quant)
    labels_t: Any = labels if isinstance(labels, str) else tuple(labels)  # str: refused below
    if edgesdk_version is None:
        from edgesdk import __version__

        edgesdk_version = __version__
    return AndroidContext(
        model_name=model_name,
        class_name=default_class_name(model_name) if class_name is None else class_name,
        android_package=(
            default_android_package(model_name) if android_package is None else android_package
        ),
        labels=labels_t,
        input_height=height,
        input_width=width,
        input_channels=channels,
        input_dtype=in_dtype,
        input_scale=in_scale,
        input_zero_point=in_zp,
        mean=_broadcast("mean", mean, channels),
        std=_broadcast("std", std, channels),
        output_dtype=out_dtype,
        output_scale=out_scale,
        output_zero_point=out_zp,
        num_classes=len(labels_t) if num_classes is None else num_classes,
        version=version,
        author=author,
        edgesdk_version=edgesdk_version,
        runtime=AndroidRuntime() if runtime is None else runtime,
    )


# --- names ----------------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]


def default_class_name(model_name: str) -> str:
    """A safe Kotlin class name from a model name: ``"mobilenet_v2 flowers"`` ->
    ``"MobilenetV2FlowersClassifier"``. Non-ASCII characters are dropped; a name that
    already ends in ``Classifier`` or ``Model`` keeps its ending."""
    base = "".join(w[0].upper() + w[1:] for w in _words(model_name))
    if not base:
        base = "Image"
    if base[0].isdigit():
        base = "Model" + base
    if not (base.endswith("Classifier") or base.endswith("Model")):
        base += "Classifier"
    if base.lower() in _APP_SOURCE_NAMES or base in RESERVED_CLASS_NAMES:
        base += "Classifier"
    return base


def default_android_package(model_name: str) -> str:
    """``com.example.<model name>``: lowercase ASCII letters, digits and underscores."""
    seg = "_".join(w.lower() for w in _words(model_name))
    if not seg:
        seg = "edgesdk"
    if seg[0].isdigit():
        seg = "m" + seg
    if seg in KOTLIN_HARD_KEYWORDS or seg in JAVA_KEYWORDS:
        seg += "_app"
    return "com.example." + seg


def validate_class_name(name: object) -> str:
    """Raise :class:`CodegenError` unless ``name`` can name the wrapper class."""
    fix = "Pass --class-name in PascalCase, e.g. --class-name FlowerClassifier"
    supported = "ASCII letters, digits and '_', starting with a letter; not a keyword"
    if not isinstance(name, str) or not _IDENT.match(name):
        raise CodegenError(
            "the class name is not a valid Kotlin identifier",
            received=f"class_name={name!r}",
            supported=supported,
            fix=fix,
        )
    if name in KOTLIN_HARD_KEYWORDS or name in JAVA_KEYWORDS:
        raise CodegenError(
            "the class name is a Kotlin or Java keyword",
            received=f"class_name={name!r}",
            supported=supported,
            fix=fix,
        )
    if name in RESERVED_CLASS_NAMES or name.lower() in _APP_SOURCE_NAMES:
        raise CodegenError(
            "the class name clashes with a name the generated code already uses",
            received=f"class_name={name!r}",
            supported="any other name; reserved: "
            + ", ".join(sorted(RESERVED_CLASS_NAMES | _APP_CLASS_NAMES)),
            fix=fix,
        )
    if len(name) > 100:
        raise CodegenError(
            "the class name is too long",
            received=f"class_name={name[:20]!r}... ({len(name)} characters)",
            supported="at most 100 characters",
            fix=fix,
        )
    return name


def validate_android_package(package: object) -> str:
    """Raise :class:`CodegenError` unless ``package`` works as both the Kotlin package
    and the Android application id (Java package rules, at least two segments, each
    starting with a letter, no Java or Kotlin keyword)."""
    fix = "Pass a lowercase reverse-domain id, e.g. --android-package com.example.flowers"
    supported = (
        "two or more dot-separated segments of ASCII letters, digits and '_', each starting "
        "with a letter and none a Java or Kotlin keyword"
    )
    if not isinstance(package, str) or not package:
        raise CodegenError(
            "the Android package is empty", received=f"android_package={package!r}", fix=fix
        )
    segments = package.split(".")
    if len(segments) < 2:
        raise CodegenError(
            "the Android package needs at least two segments (an application id rule)",
            received=f"android_package={package!r}",
            supported=supported,
            fix=fix,
        )
    for seg in segments:
        if not _IDENT.match(seg):
            raise CodegenError(
                f"the Android package segment {seg!r} is not a valid identifier",
                received=f"android_package={package!r}",
                supported=supported,
                fix=fix,
            )
        if seg in KOTLIN_HARD_KEYWORDS or seg in JAVA_KEYWORDS:
            raise CodegenError(
                f"the Android package segment {seg!r} is a Java or Kotlin keyword",
                received=f"android_package={package!r}",
                supported=supported,
                fix=fix,
            )
    if len(package) > 200:
        raise CodegenError(
            "the Android package is too long",
            received=f"android_package={package[:30]!r}... ({len(package)} characters)",
            supported="at most 200 characters",
            fix=fix,
        )
    return package


# --- values ---------------------------------------------------------------------------------
def _check_text(name: str, value: object, *, allow_empty: bool) -> None:
    if not isinstance(value, str):
        raise CodegenError(f"{name} must be text", received=f"{name}={value!r}")
    if not allow_empty and not value.strip():
        raise CodegenError(
            f"{name} must not be empty", received=f"{name}={value!r}", fix=f"Pass a {name}"
        )
    if _CONTROL.search(value) or len(value) > _MAX_TEXT:
        raise CodegenError(
            f"{name} must be one line of printable text",
            received=f"{name}={value[:60]!r}",
            supported=f"at most {_MAX_TEXT} characters without line breaks or control characters",
            fix=f"Pass a shorter, single-line {name}",
        )


def _check_labels(labels: object) -> tuple[str, ...]:
    if isinstance(labels, str) or not isinstance(labels, (tuple, list)):
        raise CodegenError(
            "labels must be a sequence of strings",
            received=f"labels={labels!r}"[:80],
            fix="Pass one label per class",
        )
    bad = [lab for lab in labels if not isinstance(lab, str)]
    if bad:
        raise CodegenError(
            "every label must be a string", received=f"label={bad[0]!r}", fix="Pass text labels"
        )
    if not labels:
        raise CodegenError(
            "a classifier needs at least one label", received="labels=()", fix="Pass labels"
        )
    if len(labels) > _MAX_LABELS:
        raise CodegenError(
            "too many labels to embed in the Kotlin wrapper",
            received=f"{len(labels)} labels",
            supported=f"at most {_MAX_LABELS} classes (the JVM limits the size of a method)",
            fix="Use a model with fewer classes",
        )
    return tuple(labels)


def _dtype_name(name: str, dtype: Any) -> str:
    if isinstance(dtype, str):
        text = dtype
    else:
        try:
            import numpy as np

            text = np.dtype(dtype).name
        except TypeError:
            text = repr(dtype)
    text = text.lower()
    if text not in DTYPES:
        raise CodegenError(
            f"the model's {name.split('_')[0]} tensor type is not supported by the Kotlin wrapper",
            received=f"{name}={text!r}",
            supported=", ".join(DTYPES),
            fix="Convert with --quantize none, dynamic, float16 or int8",
        )
    return text


def _quant_pair(name: str, quant: Any) -> tuple[float, int]:
    if quant is None:
        return 0.0, 0
    try:
        scale, zp = quant
        return float(scale), int(zp)
    except (TypeError, ValueError):
        raise CodegenError(
            f"{name} must be a (scale, zero_point) pair",
            received=f"{name}={quant!r}",
            fix="Pass e.g. (0.0078125, -128), or None for float32",
        ) from None


def _check_quant(which: str, dtype: str, scale: float, zero_point: int) -> tuple[float, int]:
    if dtype not in DTYPES:
        raise CodegenError(
            f"unsupported {which} tensor type",
            received=f"{which}_dtype={dtype!r}",
            supported=", ".join(DTYPES),
        )
    if not isinstance(zero_point, int) or isinstance(zero_point, bool):
        raise CodegenError(
            f"the {which} zero point must be an integer", received=f"zero_point={zero_point!r}"
        )
    scale = float(scale)
    if dtype == "float32":
        if scale != 0.0 or zero_point != 0:
            raise CodegenError(
                f"a float32 {which} tensor has no quantization parameters",
                received=f"{which}_quant=({scale}, {zero_point})",
                supported="(0.0, 0) or None for float32; int8/uint8 tensors carry scale and zp",
                fix=f"Pass the {which} dtype the converted model really has",
            )
        return 0.0, 0
    lo, hi = _INT_RANGES[dtype]
    if not (math.isfinite(scale) and scale > 0.0) or float32(scale) == 0.0:
        raise CodegenError(
            f"the {which} quantization scale must be a positive finite number",
            received=f"{which}_scale={scale!r} ({dtype})",
            fix="Read scale and zero point from the converted model's tensor details",
        )
    if not lo <= zero_point <= hi:
        raise CodegenError(
            f"the {which} zero point is out of the {dtype} range",
            received=f"{which}_zero_point={zero_point}",
            supported=f"{lo}..{hi}",
            fix="Read scale and zero point from the converted model's tensor details",
        )
    return float32(scale), zero_point


def _broadcast(name: str, values: float | Sequence[float], channels: int) -> tuple[float, ...]:
    if isinstance(values, (int, float)):
        values = (values,)
    vals = tuple(values)
    if len(vals) == 1 and channels > 1:
        vals = vals * channels
    return vals


def _check_floats(name: str, values: Any, channels: int, *, nonzero: bool) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise CodegenError(
            f"{name} must be numbers", received=f"{name}={values!r}", fix=f"Pass --{name} 127.5"
        ) from None
    if len(vals) != channels:
        raise CodegenError(
            f"{name} needs one value per input channel (or one for all)",
            received=f"{name}={list(vals)} for {channels} channel(s)",
            supported=f"1 or {channels} values",
            fix=f"Pass --{name} once, or {channels} times",
        )
    out = tuple(float32(v) for v in vals)
    for v, f in zip(vals, out, strict=True):
        if not math.isfinite(f) or (nonzero and f == 0.0):
            raise CodegenError(
                f"{name} must be finite" + (" and non-zero" if nonzero else ""),
                received=f"{name}={list(vals)} (as float32: {v!r} -> {f!r})",
                supported="finite float32 values" + (", not 0" if nonzero else ""),
                fix=f"Pass the {name} the model was trained with",
            )
    return out


__all__ = [
    "AndroidContext",
    "android_context",
    "default_class_name",
    "default_android_package",
    "validate_class_name",
    "validate_android_package",
    "DTYPES",
    "android_build",
]
