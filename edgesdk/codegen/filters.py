"""Jinja filters that turn arbitrary values into text that is safe where it lands.

Every value a user controls (labels, model name, author, version) reaches a
generated file only through one of these:

- ``kotlin_string``: a complete Kotlin string literal (with quotes) that evaluates
  to exactly the input string, also in Gradle ``.kts`` files.
- ``kotlin_float``: the shortest Kotlin ``Float`` literal that parses to the same
  float32 value (so Kotlin and NumPy's float32 agree bit for bit).
- ``float_text``: the same shortest float32 decimal, without the ``f``, for prose.
- ``kdoc``: text for a KDoc / block comment: one line, cannot close or nest a comment.
- ``android_string``: text for a ``<string>`` element in ``res/values/strings.xml``.
"""

from __future__ import annotations

import math
import re
import struct
from fractions import Fraction

_KOTLIN_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "$": "\\$",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def kotlin_string(value: object) -> str:
    """A Kotlin string literal, quotes included, whose value is exactly ``value``.

    ``\\``, ``"`` and ``$`` (string templates) are escaped, so are newline, CR, tab and
    backspace; every other character outside printable ASCII is written as ``\\uXXXX``
    (characters beyond the BMP as a UTF-16 surrogate pair), so the file stays ASCII and
    nothing depends on the source encoding or on Unicode normalization.
    """
    if not isinstance(value, str):
        raise TypeError(f"kotlin_string expects a str, got {type(value).__name__}")
    out = ['"']
    for ch in value:
        esc = _KOTLIN_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            cp = ord(ch)
            if cp > 0xFFFF:
                cp -= 0x10000
                out.append(f"\\u{0xD800 + (cp >> 10):04X}\\u{0xDC00 + (cp & 0x3FF):04X}")
            else:
                out.append(f"\\u{cp:04X}")
    out.append('"')
    return "".join(out)


def _f32_bits(value: float) -> int:
    try:
        return int(struct.unpack("<I", struct.pack("<f", value))[0])
    except OverflowError:  # rounds beyond the largest float32: +-inf
        return 0x7F800000 | (0x80000000 if value < 0 else 0)


def _f32_from_bits(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0])


def _parses_to(text: str, bits: int) -> bool:
    """Whether the decimal ``text`` rounds (to nearest, ties to even) to float32 ``bits``.

    Exact rational arithmetic: no double rounding through a Python float.
    """
    target = _f32_from_bits(bits)
    exact = Fraction(text)
    f = Fraction(target)
    if bits & 0x7FFFFFFF == 0:  # +-0: the neighbours are +-smallest subnormal
        lo_n, hi_n = -_f32_from_bits(1), _f32_from_bits(1)
    else:
        # next float32 away from zero and towards zero (same sign)
        away = _f32_from_bits(bits + 1)
        toward = _f32_from_bits(bits - 1)
        lo_n, hi_n = (toward, away) if target > 0 else (away, toward)
    if math.isinf(hi_n):
        # beyond the largest float: the midpoint to the next power of two bounds it
        hi_mid = f + (f - Fraction(lo_n)) / 2
    else:
        hi_mid = (f + Fraction(hi_n)) / 2
    if math.isinf(lo_n):
        lo_mid = f - (Fraction(hi_n) - f) / 2
    else:
        lo_mid = (f + Fraction(lo_n)) / 2
    if lo_mid < exact < hi_mid:
        return True
    if exact in (lo_mid, hi_mid):
        return bits & 1 == 0
    return False


def kotlin_float(value: object) -> str:
    """The shortest Kotlin ``Float`` literal (``127.5f``, ``0.007874016f``, ``1.0E-8f``)
    that parses to the float32 nearest ``value``. Rejects NaN and infinities."""
    f = float(value)  # type: ignore[arg-type]
    bits = _f32_bits(f)
    f32 = _f32_from_bits(bits)
    if not math.isfinite(f32):
        raise ValueError(f"kotlin_float: {value!r} is not a finite float32")
    sign = "-" if bits >> 31 else ""
    mag = abs(f32)
    if mag == 0.0:
        return sign + "0.0f"
    for digits in range(1, 10):
        sci = f"{mag:.{digits - 1}e}"
        if _parses_to(sign + sci, bits):
            break
    mantissa, exp_text = sci.split("e")
    exp = int(exp_text)
    ds = mantissa.replace(".", "").rstrip("0") or "0"
    if -5 <= exp < 7:
        point = exp + 1
        if point <= 0:
            text = "0." + "0" * (-point) + ds
        elif point >= len(ds):
            text = ds + "0" * (point - len(ds)) + ".0"
        else:
            text = ds[:point] + "." + ds[point:]
    else:
        text = ds[0] + "." + (ds[1:] or "0") + f"E{exp}"
    return f"{sign}{text}f"


def float_text(value: object) -> str:
    """The shortest decimal that reads back as the same float32 (``123.675``, ``1.0E-8``):
    how a float32 value is shown in prose (README, comments)."""
    return kotlin_float(value)[:-1]


def kdoc(value: object) -> str:
    """Text that is safe inside a KDoc or block comment: one line (control characters and
    line breaks become spaces) and no ``*/`` (would close it) or ``/*`` (Kotlin comments
    nest, so it would need a second close). Both are written with ``&#47;`` for ``/``,
    which Dokka renders as a slash."""
    text = _CONTROL.sub(" ", str(value))
    return text.replace("*/", "*&#47;").replace("/*", "&#47;*")


def android_string(value: object) -> str:
    """Text for ``<string>`` in ``strings.xml``: XML-escaped plus Android's resource
    escapes (backslash, quotes, a leading ``@`` or ``?``). Use with
    ``formatted="false"`` so a ``%`` is shown as is."""
    text = _CONTROL.sub(" ", str(value))
    text = text.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if text.startswith(("@", "?")):
        text = "\\" + text
    return text


FILTERS = {
    "kotlin_string": kotlin_string,
    "kotlin_float": kotlin_float,
    "float_text": float_text,
    "kdoc": kdoc,
    "android_string": android_string,
}

__all__ = ["kotlin_string", "kotlin_float", "float_text", "kdoc", "android_string", "FILTERS"]
