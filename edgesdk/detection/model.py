"""An SSD-style detector on a MobileNetV2 backbone, its losses, and what the model file carries.

The model takes raw pixels (its first layer is ``Rescaling`` to ``[-1, 1]``) and has two
outputs: ``boxes`` ``[1, A, 4]`` (box encodings, see :mod:`.anchors`) and ``scores``
``[1, A, C]`` (sigmoid class scores). The anchors, box-coder scales and class names are
stored in the model file (``edgesdk_detector``), so ``package`` needs no flags.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError
from .anchors import SCALES, AnchorSpec

DETECTOR_ATTR = "edgesdk_detector"
DETECTOR_ENTRY = "edgesdk_detector.json"
CLASS_NAMES_ATTR = "edgesdk_class_names"
CLASS_NAMES_ENTRY = "edgesdk_class_names.json"
#: Backbone layers (stride 16 and 32) the heads read.
FEATURE_LAYERS = ("block_13_expand_relu", "out_relu")


def build(
    spec: AnchorSpec,
    num_classes: int,
    alpha: float = 0.35,
    weights: str | None = None,
) -> Any:
    """The tf_keras detector for square ``spec.image_size`` inputs."""
    from .._tf import tf_keras

    keras = tf_keras()
    layers = keras.layers
    size = spec.image_size
    inputs = keras.Input((size, size, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="rescaling")(inputs)
    base = keras.applications.MobileNetV2(
        input_shape=(size, size, 3),
        alpha=alpha,
        include_top=False,
        weights=None if weights in (None, "none") else weights,
    )
    # Keras' MobileNetV2 keeps batch-norm statistics with momentum 0.999, too slow for the
    # few hundred steps of training from scratch on small data: inference would use
    # statistics that never converged.
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.9
    backbone = keras.Model(
        base.input, [base.get_layer(n).output for n in FEATURE_LAYERS], name="backbone"
    )
    features = backbone(x)
    k = spec.per_location
    prior = float(-np.log((1 - 0.01) / 0.01))
    boxes, scores = [], []
    for level, f in enumerate(features):
        f = layers.Conv2D(64, 1, activation="relu6", name=f"neck_{level}")(f)
        b = layers.Conv2D(k * 4, 3, padding="same", name=f"box_head_{level}")(f)
        c = layers.Conv2D(
            k * num_classes,
            3,
            padding="same",
            bias_initializer=keras.initializers.Constant(prior),
            name=f"class_head_{level}",
        )(f)
        boxes.append(layers.Reshape((-1, 4), name=f"box_reshape_{level}")(b))
        scores.append(layers.Reshape((-1, num_classes), name=f"class_reshape_{level}")(c))
    box_out = layers.Concatenate(axis=1, name="boxes")(boxes)
    logits = layers.Concatenate(axis=1, name="class_logits")(scores)
    score_out = layers.Activation("sigmoid", name="scores")(logits)
    return keras.Model(inputs, [box_out, score_out], name=f"ssd_mobilenet_v2_{alpha:g}")


def box_loss(y_true: Any, y_pred: Any) -> Any:
    """Smooth L1 over positive anchors, normalized by their number in the batch."""
    from .._tf import tf

    t = tf()
    mask = y_true[..., 4]
    diff = t.abs(y_true[..., :4] - y_pred)
    huber = t.where(diff < 1.0, 0.5 * diff * diff, diff - 0.5)
    per_anchor = t.reduce_sum(huber, axis=-1) * mask
    return t.reduce_sum(per_anchor) / t.maximum(1.0, t.reduce_sum(mask))


def focal_loss(y_true: Any, y_pred: Any, gamma: float = 2.0, alpha: float = 0.25) -> Any:
    """Sigmoid focal loss over non-ignored anchors, normalized by the positives."""
    from .._tf import tf

    t = tf()
    labels = y_true[..., :-1]
    weight = y_true[..., -1:]
    p = t.clip_by_value(y_pred, 1e-6, 1 - 1e-6)
    ce = -(labels * t.math.log(p) + (1 - labels) * t.math.log(1 - p))
    pt = labels * p + (1 - labels) * (1 - p)
    a = labels * alpha + (1 - labels) * (1 - alpha)
    loss = a * t.pow(1 - pt, gamma) * ce * weight
    return t.reduce_sum(loss) / t.maximum(1.0, t.reduce_sum(labels))


# ------------------------------------------------------------------ what the file carries


def detector_info(
    class_names: tuple[str, ...], anchors: np.ndarray, spec: AnchorSpec | None, **extra: Any
) -> dict[str, Any]:
    return {
        "class_names": list(class_names),
        "anchors": np.asarray(anchors, np.float32).round(7).tolist(),
        "scales": list(SCALES),
        "anchor_spec": spec.to_dict() if spec is not None else None,
        **extra,
    }


def embed(path: Path, info: dict[str, Any]) -> None:
    """Store ``info`` (and the class names, as classifiers do) inside the model file."""
    text = json.dumps(info, sort_keys=True)
    names = json.dumps(info["class_names"])
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path, "a") as z:
            z.writestr(DETECTOR_ENTRY, text)
            z.writestr(CLASS_NAMES_ENTRY, names)
    else:
        import h5py

        with h5py.File(path, "a") as f:
            f.attrs[DETECTOR_ATTR] = text
            f.attrs[CLASS_NAMES_ATTR] = names


def read_detector_info(path: str | Path) -> dict[str, Any] | None:
    """The ``edgesdk_detector`` record of a model file, or ``None``."""
    from ..training.files import read_embedded

    p = Path(path)
    raw = read_embedded(p, DETECTOR_ATTR, DETECTOR_ENTRY)
    if raw is None:
        return None
    try:
        info = dict(raw)
        info["anchors"] = np.asarray(info["anchors"], np.float32)
        info["class_names"] = tuple(str(n) for n in info["class_names"])
    except (KeyError, TypeError, ValueError):
        raise ModelLoadError(
            f"the detector record stored in {p} is damaged",
            received=str(raw)[:80],
            fix="Re-train the model with edgesdk train --task object_detector",
        ) from None
    return dict(info)


def save(model: Any, path: Path, info: dict[str, Any]) -> Path:
    """Save the detector (tf_keras; format by suffix) with ``info`` inside; atomic."""
    import os
    import warnings

    from .._tf import tf_keras

    keras = tf_keras()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}{out.suffix}")
    view = keras.Model(model.inputs, model.outputs, name=model.name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if out.suffix.lower() in (".h5", ".hdf5"):
                view.save(tmp, include_optimizer=False, save_format="h5")
            else:
                view.save(tmp)
        embed(tmp, info)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
