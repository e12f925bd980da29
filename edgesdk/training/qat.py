"""Quantization-aware training (TF-MOT, default 8-bit scheme).

The model is annotated layer by layer (the in-model ``Rescaling`` gets an output
quantizer, augmentation layers pass values through), ``quantize_apply`` inserts fake
quantization, and fine-tuning adapts the weights to it. After pruning, the
pruning-preserving scheme keeps the zeros. A QAT model is saved as ``.h5`` and loads
inside ``tfmot.quantization.keras.quantize_scope()`` (:func:`edgesdk.training.files.load_model`
does that); converted with ``optimizations=[DEFAULT]`` and a representative data set it
becomes a full-integer model.
"""

from __future__ import annotations

from typing import Any

from .._tf import tf_keras
from . import schedules
from .finetune import FineTune, History, tfmot, tfmot_error


def quantization_aware(
    model: Any,
    ctx: FineTune,
    *,
    learning_rate: float,
    from_logits: bool,
    preserve_sparsity: bool,
) -> tuple[Any, History, schedules.StepPlan]:
    """The QAT model of ``model``, fine-tuned."""
    mot = tfmot()
    q = mot.quantization.keras
    keras = tf_keras()
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_configs as configs,
    )

    registry = q.default_8bit.Default8BitQuantizeRegistry()

    def annotate(layer: Any) -> Any:
        # The in-model preprocessing gets an output quantizer (it produces the first
        # quantized tensor); weightless layers TF-MOT does not know (augmentation) pass
        # values through. Both configs are in quantize_scope(), so the file reloads.
        if isinstance(layer, keras.layers.Rescaling):
            return q.quantize_annotate_layer(layer, configs.Default8BitOutputQuantizeConfig())
        if registry.supports(layer):
            return q.quantize_annotate_layer(layer)
        if not layer.weights and not isinstance(layer, keras.layers.InputLayer):
            return q.quantize_annotate_layer(layer, configs.NoOpQuantizeConfig())
        return layer

    scheme = (
        mot.experimental.combine.Default8BitPrunePreserveQuantizeScheme()
        if preserve_sparsity
        else q.default_8bit.Default8BitQuantizeScheme()
    )
    try:
        annotated = keras.models.clone_model(model, clone_function=annotate)
        with q.quantize_scope():
            quantized = q.quantize_apply(annotated, scheme)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise tfmot_error("qat", exc) from None
    budget = ctx.plan()
    history = ctx.fit(
        quantized, "qat", budget=budget, learning_rate=learning_rate, from_logits=from_logits
    )
    return quantized, history, budget


__all__ = ["quantization_aware"]
