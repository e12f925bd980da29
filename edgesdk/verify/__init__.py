"""Verification: tier 1 (host parity) here; golden vectors and device runs build on it.

Every result names the tier it rests on (see DESIGN.md): ``host`` (Python, Keras vs
LiteRT), ``jvm`` (Kotlin pre/post-processing on the JVM), ``device``.
"""

from __future__ import annotations

from .parity import HostVerification, verify_host

__all__ = ["HostVerification", "verify_host"]
