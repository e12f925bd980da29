# Choose the Python that the project's scripts install into and run with, and export it as
# PYTHON. POSIX sh; source it from the project folder (`. scripts/venv.sh`):
#   PYTHON set         -> that interpreter, as it is (you manage its packages)
#   a venv is active   -> that venv's python
#   otherwise          -> .venv in the project folder, made with python3 when missing or broken,
#                         and activated (so `pip` and `edgesdk` mean the venv's)
# A venv is what lets `pip install` work on distributions whose python3 is externally managed
# (PEP 668: Debian 12+, Ubuntu 23.04+, Fedora 38+ ...). Sourced: it returns, never exits.

if [ -n "${PYTHON:-}" ]; then
  :
elif [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  PYTHON="$VIRTUAL_ENV/bin/python"
else
  if ! { [ -x .venv/bin/python ] && .venv/bin/python -m pip --version >/dev/null 2>&1; }; then
    echo "creating the virtual environment .venv (python3 -m venv)" >&2
    if ! python3 -m venv --clear .venv; then
      echo "error: 'python3 -m venv .venv' failed. On Debian/Ubuntu install the venv module:" \
        "sudo apt-get install python3-venv (or python3.X-venv for your python3 -V)" >&2
      return 1 2>/dev/null || exit 1
    fi
    # The pip that ensurepip bundles can be old; a current one resolves faster.
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip ||
      echo "warning: could not upgrade pip in .venv; going on with $(.venv/bin/python -m pip --version)" >&2
  fi
  VIRTUAL_ENV="$PWD/.venv"
  PATH="$VIRTUAL_ENV/bin:$PATH"
  PYTHON="$VIRTUAL_ENV/bin/python"
  export VIRTUAL_ENV PATH
fi
export PYTHON
