"""Verification, every result naming the tier it rests on (see DESIGN.md):

- ``host`` (tier 1): Keras vs LiteRT (:func:`verify_host`), and the golden vectors re-run
  through the Python preprocessing and LiteRT (:mod:`edgesdk.verify.golden`);
- ``jvm`` (tier 3): the generated Kotlin pre/post-processing on the JVM (tested in the suite);
- ``arm64``: the golden inputs through aarch64 LiteRT under qemu-user (:mod:`.arm64`);
- ``apk``: the debug and test APKs assembled and signed without Gradle (:mod:`.apk`);
- ``android_host`` (tier 3b): the app's own code on the host JVM under Robolectric with LiteRT's
  Android library (:mod:`edgesdk.verify.android_host`);
- ``device`` (tier 4): the generated golden test on an emulator or a device
  (:mod:`edgesdk.verify.device`).

:func:`verify` runs whatever applies to a target (``edgesdk verify``).
"""

from __future__ import annotations

from .parity import HostVerification as HostVerification
from .parity import verify_host as verify_host
from .run import VerifyResult as VerifyResult
from .run import verify as verify

__all__ = ["HostVerification", "VerifyResult", "verify", "verify_host"]
