"""The fine-tuning every compression technique runs, and what they share.

Each technique (pruning, clustering, QAT) wraps the model's layers with TF-MOT and
fine-tunes it on the training split. The budget comes from the data size
(:func:`edgesdk.training.schedules.finetune_plan`: at least 300 updates and 3 epochs,
unless ``--epochs`` fixes the epochs), the learning rate warms up and then follows a
cosine, so the weights recover from the change before the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._tf import quiet_native, tf, tf_keras
from ..errors import ConfigError
from . import schedules
from .data import make_dataset
from .reports import EpochLog, progress_callback

History = dict[str, tuple[float, ...]]


@dataclass
class FineTune:
    """The training context shared by every fine-tuning stage."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    batch_size: int
    seed: int
    on_epoch: Callable[[EpochLog], None] | None
    #: ``--epochs`` given: every stage runs exactly this many epochs.
    epochs: int | None = None

    def plan(self) -> schedules.StepPlan:
        return schedules.finetune_plan(len(self.train[0]), self.batch_size, epochs=self.epochs)

    def fit(
        self,
        model: Any,
        stage: str,
        *,
        budget: schedules.StepPlan,
        learning_rate: float,
        from_logits: bool,
        callbacks: Sequence[Any] = (),
    ) -> History:
        keras = tf_keras()
        model.compile(
            optimizer=keras.optimizers.Adam(schedules.learning_rate(learning_rate, budget)),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
            metrics=["accuracy"],
        )
        train = make_dataset(*self.train, batch_size=self.batch_size, shuffle=True, seed=self.seed)
        hist = model.fit(
            train.repeat(),
            steps_per_epoch=budget.steps_per_epoch,
            validation_data=make_dataset(*self.val, batch_size=self.batch_size, shuffle=False),
            epochs=budget.epochs,
            verbose=0,
            callbacks=[
                *callbacks,
                *progress_callback(self.on_epoch, stage, budget.epochs, budget.steps_per_epoch),
            ],
        )
        return {k: tuple(float(v) for v in vs) for k, vs in hist.history.items()}


def tfmot() -> Any:
    """``tensorflow_model_optimization``, imported after TensorFlow is set up."""
    tf()
    with quiet_native():
        import tensorflow_model_optimization

    return tensorflow_model_optimization


def has_kernel(layer: Any) -> bool:
    layers = tf_keras().layers
    return isinstance(layer, (layers.Conv1D, layers.Conv2D, layers.DepthwiseConv2D, layers.Dense))


def tfmot_error(method: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"TF-MOT could not apply {method} to this model",
        received=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
        supported="functional or Sequential tf_keras models built from standard layers "
        "(Conv, DepthwiseConv, Dense, BatchNormalization, pooling, activations)",
        fix="Compress a model built by edgesdk train, or quantize after training with "
        "edgesdk package --quantize int8",
    )


__all__ = ["FineTune", "History", "has_kernel", "tfmot", "tfmot_error"]
