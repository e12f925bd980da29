"""The one place TensorFlow and Keras are imported.

Importing TensorFlow costs seconds, so nothing at module level anywhere in
edgesdk imports it; callers use :func:`tf` and :func:`tf_keras` inside functions.
``TF_USE_LEGACY_KERAS=1`` is set before the first import so that ``tf.keras`` is
Keras 2 (tf_keras), which TF-MOT and the legacy HDF5 format need.

**A quiet console.** TensorFlow's native libraries log at load time (oneDNN, CUDA stubs,
"All log messages before absl::InitializeLog()"), before any setting can reach them, and
its Python side warns through ``warnings``, ``logging`` and absl. By default edgesdk
shows none of it: ``TF_CPP_MIN_LOG_LEVEL=3`` and friends are set before the import, the
process's stderr (file descriptor 2) is parked in a temporary file while the libraries
load and the devices initialize (replayed if the import fails), Python warnings are
ignored during the import, and the TensorFlow and absl loggers are set to ERROR.
:func:`set_verbose` (``edgesdk --verbose``, or ``EDGESDK_VERBOSE=1``) keeps all of it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from functools import cache
from types import ModuleType

#: Environment variable that keeps TensorFlow's own console output (``1``).
VERBOSE_ENV = "EDGESDK_VERBOSE"

_QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "KMP_WARNINGS": "0",
    "GRPC_VERBOSITY": "ERROR",
    "ABSL_MIN_LOG_LEVEL": "3",
}


def verbose() -> bool:
    """Whether TensorFlow's console output is kept."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def set_verbose(on: bool) -> None:
    """Keep (``True``) or silence TensorFlow's console output; call before TF loads.

    Stored in the environment, so processes edgesdk starts behave the same.
    """
    os.environ[VERBOSE_ENV] = "1" if on else "0"


def _quiet_env() -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    if verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)


@contextlib.contextmanager
def quiet_native() -> Iterator[None]:
    """Park file descriptor 2 (native libraries' stderr) in a temporary file meanwhile.

    Python's own ``sys.stderr`` is flushed first and restored after; on an exception the
    parked output is written back to stderr, so nothing that explains a failure is lost.
    A no-op when :func:`verbose`.
    """
    if verbose():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        failed = False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        except BaseException:
            failed = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                sink.seek(0)
                sys.stderr.write(sink.read().decode("utf-8", "replace"))


def _quiet_loggers(tensorflow: ModuleType) -> None:
    level = "INFO" if verbose() else "ERROR"
    tensorflow.get_logger().setLevel(level)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.INFO if verbose() else absl.logging.ERROR)
    except ImportError:  # pragma: no cover - absl ships with TensorFlow
        pass


@cache
def tf() -> ModuleType:
    """Return the ``tensorflow`` module, importing it on first use (quietly by default)."""
    _quiet_env()
    with quiet_native():
        import tensorflow  # noqa: TID251 - the one sanctioned import site

        # Initializing the devices logs too (CUDA probing on machines without a GPU).
        tensorflow.config.list_physical_devices()
    _quiet_loggers(tensorflow)
    return tensorflow


@cache
def tf_keras() -> ModuleType:
    """Return Keras 2 (``tf_keras``), the Keras edgesdk trains and compresses with."""
    tf()
    with quiet_native():
        import tf_keras as keras2

    return keras2


@cache
def keras3() -> ModuleType:
    """Return Keras 3, used only to load ``.keras`` files and Keras 3 ``.h5`` files."""
    tf()
    with quiet_native():
        import keras

    return keras


def saved_model_proto() -> ModuleType:
    """TensorFlow's ``saved_model_pb2`` (reading a SavedModel graph without loading it)."""
    tf()
    from tensorflow.core.protobuf import saved_model_pb2  # noqa: TID251

    return saved_model_pb2


def registered_op_names() -> frozenset[str]:
    """Names of every op in TensorFlow's op registry (as linked into this process)."""
    tf()
    from tensorflow.core.framework import op_def_pb2  # noqa: TID251
    from tensorflow.python.client import pywrap_tf_session  # noqa: TID251

    buf = pywrap_tf_session.TF_GetAllOpList()
    try:
        ops = op_def_pb2.OpList()
        ops.ParseFromString(pywrap_tf_session.TF_GetBuffer(buf))
    finally:
        pywrap_tf_session.TF_DeleteBuffer(buf)
    return frozenset(o.name for o in ops.op)
