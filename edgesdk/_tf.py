"""The one place TensorFlow and Keras are imported.

Importing TensorFlow costs seconds, so nothing at module level anywhere in
edgesdk imports it; callers use :func:`tf` and :func:`tf_keras` inside functions.
``TF_USE_LEGACY_KERAS=1`` is set before the first import so that ``tf.keras`` is
Keras 2 (tf_keras), which TF-MOT and the legacy HDF5 format need.
"""

from __future__ import annotations

import os
from functools import cache
from types import ModuleType


def _quiet_env() -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KMP_WARNINGS", "0")


@cache
def tf() -> ModuleType:
    """Return the ``tensorflow`` module, importing it on first use."""
    _quiet_env()
    import tensorflow  # noqa: TID251 - the one sanctioned import site

    tensorflow.get_logger().setLevel("ERROR")
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover - absl ships with TensorFlow
        pass
    return tensorflow


@cache
def tf_keras() -> ModuleType:
    """Return Keras 2 (``tf_keras``), the Keras edgesdk trains and compresses with."""
    tf()
    import tf_keras as keras2

    return keras2


@cache
def keras3() -> ModuleType:
    """Return Keras 3, used only to load ``.keras`` files and Keras 3 ``.h5`` files."""
    tf()
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
