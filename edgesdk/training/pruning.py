"""Magnitude pruning (TF-MOT): zero the smallest weights of every conv / dense kernel.

The sparsity ramps up polynomially from 0 to the target over the first half of the
fine-tuning steps; the second half, at the target, lets the remaining weights recover
while the learning rate decays. ``strip_pruning`` then leaves a plain tf_keras model
whose kernels hold exact zeros.
"""

from __future__ import annotations

from typing import Any

from .._tf import tf_keras
from . import schedules
from .finetune import FineTune, History, has_kernel, tfmot, tfmot_error

#: The sparsity reaches its target at this fraction of the fine-tuning steps.
RAMP_FRACTION = 0.5


def pruning_schedule(target: float, total_steps: int) -> Any:
    """Polynomial decay to ``target`` over ``RAMP_FRACTION`` of ``total_steps``."""
    sp = tfmot().sparsity.keras
    if total_steps < 10:
        return sp.ConstantSparsity(target, begin_step=0, frequency=1)
    end = max(1, int(total_steps * RAMP_FRACTION))
    freq = max(1, min(100, end // 10))
    end = max(freq, (end // freq) * freq)
    return sp.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=target, begin_step=0, end_step=end, frequency=freq
    )


def prune(
    model: Any, target: float, ctx: FineTune, *, learning_rate: float, from_logits: bool
) -> tuple[Any, History, schedules.StepPlan]:
    """Prune ``model`` to ``target`` sparsity, fine-tuned; returns the stripped model."""
    sp = tfmot().sparsity.keras
    keras = tf_keras()
    budget = ctx.plan()
    schedule = pruning_schedule(target, budget.total_steps)

    def wrap(layer: Any) -> Any:
        if not has_kernel(layer):
            return layer
        return sp.prune_low_magnitude(layer, pruning_schedule=schedule)

    try:
        pruned = keras.models.clone_model(model, clone_function=wrap)
    except (ValueError, TypeError) as exc:
        raise tfmot_error("prune", exc) from None
    history = ctx.fit(
        pruned,
        "prune",
        budget=budget,
        learning_rate=learning_rate,
        from_logits=from_logits,
        callbacks=[sp.UpdatePruningStep()],
    )
    return sp.strip_pruning(pruned), history, budget


__all__ = ["RAMP_FRACTION", "prune", "pruning_schedule"]
