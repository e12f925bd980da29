"""Compatibility entry point: the Kotlin/Android toolchain is :mod:`edgesdk.toolchain.android`.

``python tools/android_toolchain.py ensure`` still works, and ``from tools import
android_toolchain`` gives that module itself (so attributes and monkeypatching behave as before).
``edgesdk toolchain install`` installs it together with the other components.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from edgesdk.toolchain import android as _android  # noqa: E402

if __name__ == "__main__":
    sys.exit(_android.main())
else:
    sys.modules[__name__] = _android
