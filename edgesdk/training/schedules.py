"""How long and how fast to train, derived from the data size.

Small data sets give few updates per epoch (300 images at batch 32 are 8 steps), so
training is planned in **steps**: a budget of optimizer updates (at least
:data:`MIN_STEPS`, at least :data:`MIN_EPOCHS` passes over the data), turned into epochs
and capped by ``--epochs``. An epoch -- the span between two validations -- is at least
:data:`MIN_STEPS_PER_EPOCH` updates: a data set smaller than that is repeated within it,
so that validation and callbacks do not dominate the time of a small run. The learning
rate warms up linearly for the first :data:`WARMUP_FRACTION` of the steps, then follows a
cosine down to :data:`FINAL_LR_FRACTION` of its peak. Early stopping watches the validation loss and
restores the best weights.

Compression fine-tuning (pruning, clustering, QAT) gets its own, smaller budget from the
same rule (:func:`finetune_plan`), so a small data set still sees enough updates for
the weights to recover.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .._tf import tf_keras

#: Optimizer updates a from-scratch training gets at least (before early stopping).
MIN_STEPS = 500
#: An epoch (the span between two validations) has at least this many updates.
MIN_STEPS_PER_EPOCH = 20
#: A validation loss must improve by more than this to count (early stopping).
MIN_DELTA = 1e-3
#: Passes over the data a training gets at least.
MIN_EPOCHS = 10
#: Default ``--epochs``: only a cap on the step budget.
DEFAULT_EPOCHS_CAP = 100
#: Linear warm-up over this fraction of the steps, then cosine decay.
WARMUP_FRACTION = 0.05
#: The cosine ends at this fraction of the peak learning rate.
FINAL_LR_FRACTION = 0.01
#: Updates a compression fine-tune gets at least, and passes over the data.
FINETUNE_MIN_STEPS = 300
FINETUNE_MIN_EPOCHS = 3


@dataclass(frozen=True)
class StepPlan:
    """A training budget: steps per epoch, epochs, and when to stop early."""

    steps_per_epoch: int
    epochs: int
    #: Scheduled optimizer updates (``steps_per_epoch * epochs``).
    total_steps: int
    #: Steps the rule asked for before the ``--epochs`` cap.
    wanted_steps: int
    #: Whether ``--epochs`` cut the budget.
    capped: bool
    #: Epochs without a better validation loss before stopping (0: no early stopping).
    patience: int
    warmup_steps: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    """Updates per epoch: one pass over the data, but at least ``MIN_STEPS_PER_EPOCH``."""
    return max(MIN_STEPS_PER_EPOCH, math.ceil(num_samples / batch_size))


def plan(
    num_samples: int,
    batch_size: int,
    *,
    epochs_cap: int,
    steps: int | None = None,
    min_steps: int = MIN_STEPS,
    min_epochs: int = MIN_EPOCHS,
    early_stopping: bool = True,
) -> StepPlan:
    """The step budget for ``num_samples`` training samples (see the module docstring).

    ``steps`` overrides the rule (``--steps``); ``epochs_cap`` (``--epochs``) always caps.
    """
    spe = steps_per_epoch(num_samples, batch_size)
    passes = min_epochs * math.ceil(num_samples / batch_size)
    wanted = int(steps) if steps else max(min_steps, passes)
    epochs = max(1, min(epochs_cap, math.ceil(wanted / spe)))
    total = spe * epochs
    # Patience: at least 5 epochs and 50 updates, so that the noisy validation loss of a
    # few dozen images does not stop a run that still learns.
    patience = max(5, math.ceil(50 / spe)) if early_stopping else 0
    return StepPlan(
        steps_per_epoch=spe,
        epochs=epochs,
        total_steps=total,
        wanted_steps=wanted,
        capped=epochs * spe < wanted,
        patience=patience,
        warmup_steps=max(1, int(total * WARMUP_FRACTION)) if total >= 20 else 0,
    )


def finetune_plan(
    num_samples: int, batch_size: int, *, epochs: int | None = None, steps: int | None = None
) -> StepPlan:
    """The budget of one compression fine-tune; ``epochs`` fixes the epochs exactly."""
    spe = steps_per_epoch(num_samples, batch_size)
    if epochs is not None:
        return plan(
            num_samples, batch_size, epochs_cap=epochs, steps=spe * epochs, early_stopping=False
        )
    return plan(
        num_samples,
        batch_size,
        epochs_cap=10_000,
        steps=steps,
        min_steps=FINETUNE_MIN_STEPS,
        min_epochs=FINETUNE_MIN_EPOCHS,
        early_stopping=False,
    )


def learning_rate(peak: float, budget: StepPlan) -> Any:
    """Linear warm-up to ``peak``, then cosine decay to ``FINAL_LR_FRACTION * peak``."""
    schedules = tf_keras().optimizers.schedules
    if budget.warmup_steps == 0:
        return schedules.CosineDecay(
            peak, decay_steps=max(1, budget.total_steps), alpha=FINAL_LR_FRACTION
        )
    return schedules.CosineDecay(
        0.0,
        decay_steps=max(1, budget.total_steps - budget.warmup_steps),
        alpha=FINAL_LR_FRACTION,
        warmup_target=peak,
        warmup_steps=budget.warmup_steps,
    )


def early_stopping(budget: StepPlan) -> list[Any]:
    """Stop when the validation loss has not improved for ``patience`` epochs; keep the best.

    Not before the warm-up is over. The best weights are restored at the end either way.
    """
    if budget.patience <= 0:
        return []
    keras = tf_keras()
    return [
        keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=budget.patience,
            min_delta=MIN_DELTA,
            restore_best_weights=True,
            start_from_epoch=math.ceil(budget.warmup_steps / budget.steps_per_epoch),
        )
    ]


__all__ = [
    "DEFAULT_EPOCHS_CAP",
    "MIN_STEPS",
    "StepPlan",
    "early_stopping",
    "finetune_plan",
    "learning_rate",
    "plan",
    "steps_per_epoch",
]
