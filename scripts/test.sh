#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run it.
#   - the package with its dev extra (TensorFlow, LiteRT, pytest, ...)
#   - tflite-support 0.4.4 without dependencies: the independent metadata oracle
#   - the toolchains of the Android tiers (edgesdk toolchain install: android, android_host,
#     arm64, apk; cached)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
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
fi

"$PYTHON" -m edgesdk toolchain install

# Lint and types stay clean (versions pinned in the dev extra).
"$PYTHON" -m ruff check edgesdk tests tools benchmarks scripts
"$PYTHON" -m mypy edgesdk

exec "$PYTHON" -m pytest -q "$@"
