"""Transfer learning: pretrained backbone weights and the two-phase fine-tune.

``--weights imagenet`` builds MobileNetV2 through ``tf_keras.applications`` (its
weights are downloaded once into ``$KERAS_HOME/models``, default ``~/.keras/models``,
under the name Keras gives them). ``--weights PATH`` takes either

- a **weights file** of the backbone alone, as ``keras.applications.MobileNetV2(
  include_top=False, weights=None, alpha=..).save_weights("notop.h5")`` writes it (the
  format of the published ``*_no_top.h5`` files), or
- a **model file** of the same architecture (for example one ``edgesdk train`` wrote on
  another data set): its backbone layers are copied by name, its head is dropped.

Either way every backbone layer must receive weights of the right shape, or a
:class:`ConfigError` says what did not match.

Training then runs in two phases (Model Maker's recipe): the backbone frozen while the
new head learns at the full learning rate, then the top of the backbone (from the
architecture's ``unfreeze_from`` layer on; BatchNorm layers stay frozen, in inference
mode) fine-tuned at a tenth of it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from .._tf import tf_keras
from ..errors import ConfigError, ModelLoadError
from . import architectures

#: The fine-tuning phase runs at this fraction of the head phase's learning rate.
FINETUNE_LR_FACTOR = 0.1
#: Fraction of the step budget the frozen-backbone (head) phase gets.
HEAD_FRACTION = 0.5


def _is_model_file(path: Path) -> bool:
    if zipfile.is_zipfile(path):
        return True
    import h5py

    if not h5py.is_hdf5(path):
        raise ConfigError(
            f"the weights file {path} is neither HDF5 nor a .keras model",
            received=path.name,
            supported="a backbone weights .h5 (save_weights of the no-top backbone), or a "
            "model file (.h5 / .keras) of the same architecture",
            fix="Pass the weights file Keras wrote",
        )
    with h5py.File(path, "r") as f:
        return "model_config" in f.attrs


def _source_layers(weights: str, arch: architectures.Architecture, opts: Any) -> dict[str, Any]:
    """Layer name -> layer of the model holding the pretrained weights."""
    keras = tf_keras()
    if arch.name != "mobilenet_v2":  # pragma: no cover - the only pretrained arch
        raise ConfigError(f"{arch.name} takes no pretrained weights", received=weights)
    if weights == "imagenet":
        # keras.applications names, downloads and caches the published no-top file.
        source = keras.applications.MobileNetV2(
            input_shape=opts.input_shape, include_top=False, weights="imagenet", alpha=opts.alpha
        )
        return {layer.name: layer for layer in source.layers}
    path = Path(weights)
    if _is_model_file(path):
        from ..models import load_tf_keras

        try:
            source = load_tf_keras(path)
        except Exception as exc:
            raise ModelLoadError(
                f"tf_keras could not load the weights model {path}",
                received=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
                supported="a tf_keras model file of the same architecture",
                fix="Pass a model saved by edgesdk train, or a backbone weights .h5",
            ) from None
    else:
        source = keras.applications.MobileNetV2(
            input_shape=opts.input_shape, include_top=False, weights=None, alpha=opts.alpha
        )
        try:
            source.load_weights(str(path))
        except (ValueError, KeyError, OSError) as exc:
            raise ConfigError(
                f"the weights in {path} do not fit {arch.name} with alpha={opts.alpha:g}",
                received=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
                supported=f"the no-top weights of {arch.name} with the same --alpha",
                fix="Pass the --alpha the weights were made for, or the matching file",
            ) from None
    return {layer.name: layer for layer in source.layers}


def load_backbone_weights(
    model: Any, weights: str, arch: architectures.Architecture, opts: Any
) -> int:
    """Copy the backbone weights (``imagenet`` or a file) into ``model``; returns the
    number of layers filled."""
    source = _source_layers(weights, arch, opts)
    filled = 0
    missing: list[str] = []
    for layer in architectures.backbone_layers(model):
        if not layer.weights:
            continue
        src = source.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if src is None or [tuple(w.shape) for w in src.weights] != shapes:
            missing.append(layer.name)
            continue
        layer.set_weights(src.get_weights())
        filled += 1
    if missing:
        raise ConfigError(
            f"the weights in {weights} do not cover the {arch.name} backbone",
            received=f"{len(missing)} layers without matching weights, e.g. {missing[:3]}",
            supported=f"weights of {arch.name} with alpha={opts.alpha:g} (same layer names "
            "and shapes)",
            fix="Pass weights made for the same --arch and --alpha",
        )
    return filled


def freeze_backbone(model: Any) -> None:
    """Phase 1: only the head trains."""
    for layer in architectures.backbone_layers(model):
        layer.trainable = False


def unfreeze_top(model: Any, arch: architectures.Architecture) -> int:
    """Phase 2: unfreeze the backbone from ``arch.unfreeze_from`` on, BatchNorm excepted.

    Returns the number of layers made trainable.
    """
    keras = tf_keras()
    layers = architectures.backbone_layers(model)
    names = [layer.name for layer in layers]
    start = names.index(arch.unfreeze_from) if arch.unfreeze_from in names else 0
    count = 0
    for layer in layers[start:]:
        if isinstance(layer, keras.layers.BatchNormalization):
            continue
        layer.trainable = True
        count += 1
    return count


__all__ = [
    "FINETUNE_LR_FACTOR",
    "HEAD_FRACTION",
    "freeze_backbone",
    "load_backbone_weights",
    "unfreeze_top",
]
