#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run it.
#   - the Python: scripts/venv.sh ($PYTHON, else the active venv, else .venv here, made once)
#   - the package with its dev extra (TensorFlow, LiteRT, pytest, ...)
#   - tflite-support 0.4.4 without dependencies: the independent metadata oracle
#   - the TFLite Task Library (tflite-support 0.4.4, protobuf 3) in its own cached venv
#   - the toolchains of the Android tiers (edgesdk toolchain install: android, android_host,
#     arm64, apk; cached)
# Then: ruff and mypy; every dependency has wheels for Python 3.10 and 3.12; README's commands
# and the suite's Python side under Python 3.13 in a Debian trixie root (scripts/trixie_root.sh,
# cached); last, the suite here. Extra arguments go to pytest (in both runs).
#   EDGESDK_OTHER_PYTHONS=0  skip the 3.10/3.12 wheel check and the 3.13 run
#   EDGESDK_PYTHON_ONLY=1    the Python side only (no toolchain, no lint, tests marked toolchain
#                            deselected); the 3.13 run uses it
#   EDGESDK_MARKERS=EXPR     with EDGESDK_PYTHON_ONLY: the pytest marker expression (default
#                            "not toolchain"; the 3.13 run adds "and not slow")
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

"$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[dev]"

# The oracle has wheels for CPython 3.11 on x86_64 only; elsewhere its tests skip.
# Its native module links libusb-1.0 (Debian package libusb-1.0-0).
if "$PYTHON" -c 'import sys, platform; sys.exit(0 if sys.version_info[:2] <= (3, 11) and platform.machine() == "x86_64" else 1)'; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps "tflite-support==0.4.4"
  if ! ldconfig -p | grep -q 'libusb-1.0.so.0'; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libusb-1.0-0
    else
      echo "tflite-support needs libusb-1.0: sudo apt-get install libusb-1.0-0" >&2
      exit 1
    fi
  fi
  # The Task Library oracle (object detector, image classifier) in a venv of its own, cached.
  "$PYTHON" tools/task_library_venv.py
fi

# The Python side only: the Kotlin/Android tiers' tools do not depend on Python's version.
if [ -n "${EDGESDK_PYTHON_ONLY:-}" ]; then
  exec "$PYTHON" -m pytest -q -rs "$@" -m "${EDGESDK_MARKERS:-not toolchain}"
fi

"$PYTHON" -m edgesdk toolchain install

# Lint and types stay clean (versions pinned in the dev extra).
"$PYTHON" -m ruff check edgesdk tests tools benchmarks scripts
"$PYTHON" -m mypy edgesdk

# Other Pythons in the supported range: 3.10 and 3.12 resolve to wheels; 3.13 runs.
other=0
if [ "${EDGESDK_OTHER_PYTHONS:-1}" != 0 ]; then
  "$PYTHON" scripts/check_wheels.py 3.10 3.12 || other=$?
  bash scripts/trixie_root.sh "$@" || other=$?
fi

status=0
"$PYTHON" -m pytest -q "$@" || status=$?
if [ "$status" = 5 ]; then
  echo "pytest ran no test (exit 5): nothing matched the arguments '$*'" >&2
fi
if [ "$other" != 0 ]; then
  echo "the checks for other Python versions failed (exit $other): see their output above" >&2
  [ "$status" != 0 ] || status=$other
fi
exit "$status"
