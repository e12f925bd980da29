"""Recognising ``keras.applications`` backbones, and the input each family expects.

Most image classifiers are a ``keras.applications`` base under a new head, and their
preprocessing runs outside the model through the family's ``preprocess_input``. A
backbone is recognised from the names of its layers (its characteristic stem and first
blocks; a nested base, an inlined base and a renamed outer model all keep them), found
anywhere in the model, nested functional or Sequential, tf_keras or Keras 3.

The family decides the input transform, applied to raw RGB pixels (0..255):

- ``tf``: ``(x - 127.5) / 127.5``;
- ``torch``: ``(x - [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375]``;
- ``caffe``: RGB -> BGR, then ``x - [103.939, 116.779, 123.68]`` (BGR order), no scaling;
- ``in_model``: the backbone's own Rescaling/Normalization layers do it (raw pixels in).

What the layers in front of the backbone do decides whether the family's transform still
belongs outside the model (see :func:`recognise`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Mode = Literal["tf", "torch", "caffe", "in_model"]
#: How the family's preprocessing relates to the model (see :func:`recognise`).
Placement = Literal["outside", "in_model", "transformed", "removed"]


@dataclass(frozen=True)
class InputTransform:
    """Raw pixels -> model input: optional channel permutation, then ``(x - mean) / std``
    per channel (``mean``/``std`` are in the permuted order)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    permutation: tuple[int, ...] | None = None

    @property
    def is_identity(self) -> bool:
        return (
            self.permutation is None
            and all(m == 0 for m in self.mean)
            and all(s == 1 for s in self.std)
        )

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The transform on a float32 array (channels last), as numpy."""
        v = np.asarray(x, dtype=np.float32)
        if self.permutation is not None:
            v = v[..., list(self.permutation)]
        m = np.asarray(self.mean, np.float32)
        s = np.asarray(self.std, np.float32)
        return ((v - m) / s).astype(np.float32)

    def apply_tf(self, x: Any) -> Any:
        """The same transform as graph ops: ``GATHER`` (permutation), ``MUL`` (1/std) and
        ``ADD`` (-mean/std), each only when it does something. They sit right in front of
        the model's first op, where a converter could fuse them (TF 2.21's does not)."""
        from . import _tf

        tf = _tf.tf()
        if self.permutation is not None:
            x = tf.gather(x, list(self.permutation), axis=-1)
        scale = np.float32(1.0) / np.asarray(self.std, np.float32)
        offset = -np.asarray(self.mean, np.float32) * scale
        if not np.all(scale == 1):
            x = x * tf.constant(scale, dtype=x.dtype)
        if not np.all(offset == 0):
            x = x + tf.constant(offset, dtype=x.dtype)
        return x

    def to_dict(self) -> dict[str, Any]:
        return {
            "permutation": None if self.permutation is None else list(self.permutation),
            "mean": list(self.mean),
            "std": list(self.std),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputTransform:
        perm = d.get("permutation")
        return cls(
            tuple(float(v) for v in d["mean"]),
            tuple(float(v) for v in d["std"]),
            None if perm is None else tuple(int(i) for i in perm),
        )


_TRANSFORMS: dict[str, InputTransform] = {
    "tf": InputTransform((127.5,) * 3, (127.5,) * 3),
    "torch": InputTransform((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
    "caffe": InputTransform((103.939, 116.779, 123.68), (1.0,) * 3, (2, 1, 0)),
    "in_model": InputTransform((0.0,) * 3, (1.0,) * 3),
}


@dataclass(frozen=True)
class Family:
    """One ``keras.applications`` module: its preprocessing mode and how to spot it.

    ``required``: regular expressions that must each match some layer name;
    ``excluded``: none may match (to tell close relatives apart).
    """

    module: str
    mode: Mode
    models: str
    required: tuple[str, ...]
    excluded: tuple[str, ...] = ()

    @property
    def transform(self) -> InputTransform:
        return _TRANSFORMS[self.mode]

    @property
    def source(self) -> str:
        return f"keras_applications:{self.module}"

    def matches(self, names: set[str]) -> bool:
        def found(pattern: str) -> bool:
            rx = re.compile(pattern)
            return any(rx.fullmatch(n) for n in names)

        return all(found(p) for p in self.required) and not any(found(p) for p in self.excluded)

    def preprocess_input(self, framework: str) -> Any:
        """The family's own ``preprocess_input`` from the Keras that loaded the model."""
        from . import _tf

        keras = _tf.keras3() if framework == "keras3" else _tf.tf_keras()
        return getattr(keras.applications, self.module).preprocess_input


#: Recognised families, in match order (the first family that matches wins).
FAMILIES: tuple[Family, ...] = (
    Family(
        "vgg16",
        "caffe",
        "VGG16",
        ("block1_conv1", "block1_conv2", "block1_pool", "block5_conv3"),
        ("block5_conv4", "block1_conv1_bn", "block2_sepconv1"),
    ),
    Family(
        "vgg19",
        "caffe",
        "VGG19",
        ("block1_conv1", "block1_conv2", "block1_pool", "block5_conv4"),
        ("block1_conv1_bn", "block2_sepconv1"),
    ),
    Family(
        "resnet",
        "caffe",
        "ResNet50, ResNet101, ResNet152",
        ("conv1_conv", "conv1_bn", "conv2_block1_0_conv", "conv2_block1_3_conv"),
        ("conv2_block1_preact_bn",),
    ),
    Family(
        "resnet_v2",
        "tf",
        "ResNet50V2, ResNet101V2, ResNet152V2",
        ("conv1_conv", "conv2_block1_preact_bn", "conv2_block1_1_conv"),
    ),
    Family(
        "densenet",
        "torch",
        "DenseNet121, DenseNet169, DenseNet201",
        ("conv1[/_]conv", "conv2_block1_0_bn", "conv2_block1_1_conv", "conv2_block1_concat"),
    ),
    Family("mobilenet", "tf", "MobileNet", ("conv1", "conv1_bn", "conv_dw_1", "conv_pw_1")),
    Family(
        "mobilenet_v2",
        "tf",
        "MobileNetV2",
        ("Conv1", "bn_Conv1", "expanded_conv_depthwise", "expanded_conv_project"),
    ),
    Family(
        "mobilenet_v3",
        "in_model",
        "MobileNetV3Small, MobileNetV3Large",
        ("Conv/BatchNorm|conv_bn", r"expanded_conv(_\d+)?[/_]squeeze_excite[/_].*"),
    ),
    Family("inception_v3", "tf", "InceptionV3", ("mixed0", "mixed1", "mixed2", "mixed3")),
    Family(
        "inception_resnet_v2",
        "tf",
        "InceptionResNetV2",
        ("mixed_5b", "block35_1_conv", "block35_1_ac"),
    ),
    Family(
        "xception",
        "tf",
        "Xception",
        ("block1_conv1", "block1_conv1_bn", "block2_sepconv1", "block2_sepconv2"),
    ),
    Family("nasnet", "tf", "NASNetMobile, NASNetLarge", ("stem_conv1", "stem_bn1", ".*_stem_1")),
    Family(
        "efficientnet",
        "in_model",
        "EfficientNetB0-B7",
        ("stem_conv", "stem_bn", "block1a_dwconv"),
    ),
    Family(
        "efficientnet_v2",
        "in_model",
        "EfficientNetV2B0-B3, S, M, L",
        ("stem_conv", "stem_bn", "block1a_project_conv"),
        ("block1a_dwconv",),
    ),
    Family(
        "convnext",
        "in_model",
        "ConvNeXtTiny, Small, Base, Large, XLarge",
        (".*_stem", ".*_stage_0_block_0_depthwise_conv"),
    ),
    Family(
        "regnet", "in_model", "RegNetX/RegNetY", (".*_stem_conv", r".*_Stage_0_[XYZ]Block_0_.*")
    ),
    Family(
        "resnet_rs",
        "in_model",
        "ResNetRS50-420",
        ("stem_1_stem_conv_1", r"BlockGroup\d+__block_0__.*"),
    ),
)

# Layers that leave the family's preprocessing where it is: inference no-ops and shape
# changes that commute with a per-channel affine map (padding pads the normalized input).
_TRANSPARENT = {
    "InputLayer",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "RandomContrast",
    "RandomBrightness",
    "RandomCrop",
    "Dropout",
    "GaussianNoise",
    "GaussianDropout",
    "ZeroPadding2D",
    "Resizing",
    "CenterCrop",
    "Cropping2D",
}
_PREPROCESSING = {"Rescaling", "Normalization"}
# The first layer of these kinds ends the model's "front" (what runs before real compute).
_COMPUTE = {
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "Conv2DTranspose",
    "Dense",
}


@dataclass(frozen=True)
class Backbone:
    """A recognised backbone and how its family's preprocessing relates to the model.

    ``placement``: ``outside`` (the model takes what ``preprocess_input`` gives: the app
    must apply the family's transform), ``in_model`` (Rescaling/Normalization layers at
    the front take raw pixels: the family's own layers, or the user's), ``transformed``
    (other code, e.g. Lambda or TF op layers, runs before the backbone: edgesdk cannot
    tell what it expects), ``removed`` (an in-model family built without its
    preprocessing layers).
    """

    family: Family
    name: str
    placement: Placement
    front: tuple[str, ...]  # kinds of the layers in front of the first compute layer

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family.module,
            "mode": self.family.mode,
            "name": self.name,
            "placement": self.placement,
        }


def _ops(model: Any) -> list[Any]:
    """A model's operations in topological order (Keras 3 keeps non-layer ops apart)."""
    ops = getattr(model, "operations", None)
    if ops is None:
        ops = getattr(model, "layers", [])
    return list(ops)


def _is_container(op: Any) -> bool:
    return hasattr(op, "layers") and type(op).__name__ in ("Functional", "Sequential", "Model")


def _walk(model: Any) -> Iterator[Any]:
    """Every layer of a model, depth first, nested models included."""
    for op in _ops(model):
        yield op
        if _is_container(op):
            yield from _walk(op)


def _front(model: Any) -> tuple[list[str], bool]:
    """Kinds of the operations before the first compute layer (nested models entered).

    Returns the kinds and whether a compute layer was reached.
    """
    kinds: list[str] = []
    for op in _ops(model):
        kind = type(op).__name__
        if _is_container(op):
            inner, done = _front(op)
            kinds += inner
            if done:
                return kinds, True
            continue
        if kind in _COMPUTE:
            return kinds, True
        kinds.append(kind)
    return kinds, False


def first_compute_layer(model: Any) -> tuple[Any, tuple[str, ...]]:
    """The first compute layer of a model (nested models entered) and the kinds of the
    operations in front of it; ``(None, kinds)`` when there is none."""
    kinds: list[str] = []
    for op in _ops(model):
        if _is_container(op):
            layer, inner = first_compute_layer(op)
            kinds += inner
            if layer is not None:
                return layer, tuple(kinds)
            continue
        if type(op).__name__ in _COMPUTE:
            return op, tuple(kinds)
        kinds.append(type(op).__name__)
    return None, tuple(kinds)


# In front of a convolution, these commute with a per-channel scale and permutation.
_FUSABLE_FRONT = _TRANSPARENT


def _named_model(model: Any, family: Family) -> str:
    """The name of the innermost (nested) model whose own layers match the family."""
    best = str(getattr(model, "name", ""))
    for op in _walk(model):
        if _is_container(op) and family.matches({str(x.name) for x in _walk(op)}):
            best = str(op.name)
    return best


def recognise(model: Any) -> tuple[list[Backbone], str | None]:
    """Backbones recognised in a Keras model (empty for a SavedModel or an unknown model).

    Returns the backbones found (several only when different families appear in one model)
    and, when the front of the model runs code edgesdk cannot read, a note about it.
    """
    if not hasattr(model, "layers"):
        return [], None
    names = {str(op.name) for op in _walk(model)}
    families: list[Family] = []
    for fam in FAMILIES:
        if fam.matches(names) and fam not in families:
            # VGG16's layer names are a subset of VGG19's: keep the closer match.
            if fam.module == "vgg19" and any(f.module == "vgg16" for f in families):
                continue
            families.append(fam)
    if not families:
        return [], None
    kinds, _ = _front(model)
    front = tuple(kinds)
    code = [k for k in front if k not in _TRANSPARENT and k not in _PREPROCESSING]
    out = []
    for fam in families:
        if any(k in _PREPROCESSING for k in front):
            placement: Placement = "in_model"
        elif code:
            placement = "transformed"
        elif fam.mode == "in_model":
            placement = "removed"
        else:
            placement = "outside"
        out.append(Backbone(fam, _named_model(model, fam), placement, front))
    note = None
    if code:
        note = ", ".join(sorted(set(code)))
    return out, note


def user_pipeline(backbone: Backbone, framework: str) -> tuple[str, Any]:
    """The user's own preprocessing for a backbone whose family's preprocessing is outside
    the model: (a name for reports, a function raw float32 pixels -> model input)."""
    fn = backbone.family.preprocess_input(framework)

    def apply(x: np.ndarray) -> np.ndarray:
        return np.asarray(fn(np.array(x, dtype=np.float32, copy=True)), dtype=np.float32)

    return f"keras.applications.{backbone.family.module}.preprocess_input", apply


def family(module: str) -> Family:
    """The family of a ``keras.applications`` module name (as reports record it)."""
    for fam in FAMILIES:
        if fam.module == module:
            return fam
    raise KeyError(module)


__all__ = [
    "InputTransform",
    "Family",
    "FAMILIES",
    "Backbone",
    "recognise",
    "user_pipeline",
    "family",
]
