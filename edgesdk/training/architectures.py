"""Model architectures ``edgesdk train`` builds, registered by name.

Every architecture returns a tf_keras functional model that **carries its own
preprocessing**: the first layer after ``Input`` is a ``Rescaling`` layer, so the model
takes raw pixels (0..255) and the packaged TFLite model needs no external
normalization. Light augmentation layers (random flip / shift / zoom) follow; they are
active only in training and vanish from the converted model. The classifier head ends
in a ``Dense`` layer named ``logits`` followed by a softmax ``Activation`` named
``probs``, so distillation can read the logits.

Add an architecture with :func:`register`; :func:`get` rejects unknown names and lists
the known ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._tf import tf_keras
from ..errors import ConfigError

#: Name of the layer producing the classifier's logits (before the softmax).
LOGITS_LAYER = "logits"
#: Name of the final softmax layer.
PROBS_LAYER = "probs"


@dataclass(frozen=True)
class BuildOptions:
    """What every architecture builder receives."""

    input_shape: tuple[int, int, int]
    num_classes: int
    alpha: float = 1.0
    weights: str = "none"
    augment: bool = True
    seed: int = 0


@dataclass(frozen=True)
class Architecture:
    """A registered architecture: how it scales pixels and what sizes it takes."""

    name: str
    description: str
    #: In-model preprocessing ``x * scale + offset`` applied to raw pixels 0..255.
    scale: float
    offset: float
    #: Smallest square input side the architecture supports.
    min_image_size: int
    #: Input side when ``--image-size`` is not given; ``None`` keeps the data's own size.
    default_image_size: int | None
    #: Values of ``--weights`` besides ``none`` and a file path.
    named_weights: tuple[str, ...]
    build: Callable[[BuildOptions], Any]
    #: With pretrained weights, the fine-tuning phase unfreezes the backbone from this
    #: layer on (``None``: the architecture has no pretrained weights).
    unfreeze_from: str | None = None

    @property
    def mean(self) -> float:
        """The equivalent normalization mean on raw pixels: ``(x - mean) / std``."""
        return 0.0 - self.offset / self.scale

    @property
    def std(self) -> float:
        """The equivalent normalization std on raw pixels."""
        return 1.0 / self.scale

    def describe(self, alpha: float) -> dict[str, Any]:
        """What edgesdk stores in a model file about a model of this architecture."""
        return {
            "arch": self.name,
            "alpha": alpha,
            "preprocessing": {
                "input": "raw pixels 0..255",
                "scale": self.scale,
                "offset": self.offset,
                "mean": self.mean,
                "std": self.std,
            },
        }


_REGISTRY: dict[str, Architecture] = {}


def register(
    name: str,
    *,
    description: str,
    scale: float,
    offset: float,
    min_image_size: int,
    default_image_size: int | None = None,
    named_weights: tuple[str, ...] = (),
    unfreeze_from: str | None = None,
) -> Callable[[Callable[[BuildOptions], Any]], Callable[[BuildOptions], Any]]:
    """Register a builder ``fn(BuildOptions) -> tf_keras.Model`` under ``name``."""

    def decorator(fn: Callable[[BuildOptions], Any]) -> Callable[[BuildOptions], Any]:
        if name in _REGISTRY:
            raise ValueError(f"architecture {name!r} is registered twice")
        _REGISTRY[name] = Architecture(
            name=name,
            description=description,
            scale=scale,
            offset=offset,
            min_image_size=min_image_size,
            default_image_size=default_image_size,
            named_weights=named_weights,
            build=fn,
            unfreeze_from=unfreeze_from,
        )
        return fn

    return decorator


def names() -> tuple[str, ...]:
    """Registered architecture names, in registration order."""
    return tuple(_REGISTRY)


def get(name: str) -> Architecture:
    """The architecture called ``name``; a :class:`ConfigError` listing the known ones else."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown architecture {name!r}",
            received=f"arch={name!r}",
            supported=", ".join(_REGISTRY),
            fix="Pass --arch with one of the supported names",
        ) from None


def _preprocessing(x: Any, arch: Architecture, opts: BuildOptions) -> Any:
    """``Rescaling`` (always the first layer after ``Input``), then optional augmentation.

    The augmentation suits small sets of photos or drawings: horizontal flips, shifts and
    zooms of up to 10 %. It is active only in training and vanishes from the converted model.
    """
    layers = tf_keras().layers
    x = layers.Rescaling(arch.scale, offset=arch.offset, name="rescaling")(x)
    if opts.augment:
        x = layers.RandomFlip("horizontal", seed=opts.seed, name="augment_flip")(x)
        x = layers.RandomTranslation(
            0.1, 0.1, fill_mode="nearest", seed=opts.seed + 1, name="augment_translate"
        )(x)
        x = layers.RandomZoom(0.1, fill_mode="nearest", seed=opts.seed + 2, name="augment_zoom")(
            x
        )
    return x


def _head(x: Any, num_classes: int, dropout: float) -> Any:
    layers = tf_keras().layers
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(num_classes, name=LOGITS_LAYER)(x)
    return layers.Activation("softmax", name=PROBS_LAYER)(x)


#: Layer names of the classifier head every architecture ends in.
HEAD_LAYERS = ("pool", "dropout", LOGITS_LAYER, PROBS_LAYER)
#: Layer names of the in-model preprocessing.
PREPROCESSING_LAYERS = ("rescaling", "augment_flip", "augment_translate", "augment_zoom")


def backbone_layers(model: Any) -> list[Any]:
    """The layers between the preprocessing and the head (the pretrained part)."""
    skip = set(HEAD_LAYERS) | set(PREPROCESSING_LAYERS)
    return [
        layer
        for layer in model.layers
        if layer.name not in skip and type(layer).__name__ != "InputLayer"
    ]


@register(
    "small_cnn",
    description="four 3x3 conv + BatchNorm + ReLU blocks (16-32-64-128 filters) and a "
    "global-average-pooled softmax head; trains from scratch in seconds on images of "
    "8x8 to about 96x96; --alpha scales the widths",
    scale=1.0 / 255.0,
    offset=0.0,
    min_image_size=4,
)
def _small_cnn(opts: BuildOptions) -> Any:
    keras = tf_keras()
    layers = keras.layers
    arch = _REGISTRY["small_cnn"]
    inputs = keras.Input(opts.input_shape, name="image")
    x = _preprocessing(inputs, arch, opts)
    side = min(opts.input_shape[0], opts.input_shape[1])
    for i, filters in enumerate((16, 32, 64, 128)):
        width = max(2, int(round(filters * opts.alpha)))
        # conv -> BatchNorm -> ReLU: TFLite folds the BatchNorm into the conv, and TF-MOT's
        # QAT recognizes the pattern. A fast BatchNorm momentum suits the few hundred
        # updates a small data set gives.
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i + 1}")(x)
        x = layers.ReLU(name=f"relu{i + 1}")(x)
        if i < 3 and side >= 4:
            x = layers.MaxPooling2D(name=f"pool{i + 1}")(x)
            side //= 2
    outputs = _head(x, opts.num_classes, dropout=0.2)
    return keras.Model(inputs, outputs, name="small_cnn")


@register(
    "mobilenet_v2",
    description="tf_keras.applications.MobileNetV2 (no top) with a softmax head; "
    "--alpha is its width multiplier, --weights none|imagenet|PATH",
    scale=1.0 / 127.5,
    offset=-1.0,
    min_image_size=32,
    default_image_size=96,
    named_weights=("imagenet",),
    unfreeze_from="block_13_expand",
)
def _mobilenet_v2(opts: BuildOptions) -> Any:
    keras = tf_keras()
    arch = _REGISTRY["mobilenet_v2"]
    inputs = keras.Input(opts.input_shape, name="image")
    x = _preprocessing(inputs, arch, opts)
    # Pretrained weights (imagenet or a file) are copied in afterwards by
    # edgesdk.training.transfer, layer by layer.
    # input_tensor keeps one flat functional graph (no nested model), which TF-MOT's
    # per-layer cloning needs.
    base = keras.applications.MobileNetV2(
        input_shape=opts.input_shape,
        input_tensor=x,
        include_top=False,
        weights=None,
        alpha=opts.alpha,
    )
    if opts.weights == "none":
        # From scratch on a small data set, Keras' BatchNorm momentum (0.999) leaves the
        # moving statistics near their initial values for thousands of steps; 0.9 follows
        # the data within tens of steps, so evaluation (and a later transfer) sees them.
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.9
    outputs = _head(base.output, opts.num_classes, dropout=0.2)
    return keras.Model(inputs, outputs, name=f"mobilenet_v2_{opts.alpha:g}")


def build(name: str, opts: BuildOptions) -> Any:
    """Build architecture ``name`` (validated) with ``opts``; returns an uncompiled model."""
    return get(name).build(opts)


__all__ = [
    "Architecture",
    "BuildOptions",
    "HEAD_LAYERS",
    "LOGITS_LAYER",
    "PROBS_LAYER",
    "backbone_layers",
    "build",
    "get",
    "names",
    "register",
]
