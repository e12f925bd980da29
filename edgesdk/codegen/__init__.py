"""Kotlin and Android code generation from Jinja templates.

- :func:`android_context` builds the one validated render context, :class:`AndroidContext`.
- :func:`generate_android` writes ``kotlin/<ClassName>.kt`` and the Gradle project ``android/``.
- :func:`render_tree` renders any template folder (copier-style rules).
- :mod:`edgesdk.codegen.filters` holds the escaping filters (``kotlin_string``, ...).
"""

from __future__ import annotations

from .android import GeneratedAndroid as GeneratedAndroid
from .android import generate_android as generate_android
from .android import templates_root as templates_root
from .context import AndroidContext as AndroidContext
from .context import android_context as android_context
from .render import render_tree as render_tree
from .runtime import ANDROID_RUNTIMES as ANDROID_RUNTIMES
from .runtime import AndroidRuntime as AndroidRuntime

__all__ = [
    "AndroidContext",
    "AndroidRuntime",
    "ANDROID_RUNTIMES",
    "android_context",
    "GeneratedAndroid",
    "generate_android",
    "render_tree",
    "templates_root",
]
