#!/usr/bin/env bash
# README's first command: install edgesdk (editable) into the project's Python and run the demo.
# The Python is chosen by scripts/venv.sh: $PYTHON, else the active venv, else .venv in the
# project folder (made when missing). Arguments go to `edgesdk demo` (-o demo_out).
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/.."
. scripts/venv.sh
"$PYTHON" -m pip install --quiet --disable-pip-version-check -e .
cd "$here"
"$PYTHON" -m edgesdk demo "$@"
