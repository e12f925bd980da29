"""Knowledge distillation: a student learns from a teacher's soft targets.

``loss = alpha * CE(y, s) + (1 - alpha) * T^2 * KL(softmax(t / T) || softmax(s / T))``
on the logits (read before the student's final softmax). The teacher only runs for
inference beforehand, so it may be any Keras model. A fresh student trains from scratch,
so distillation gets the training budget (:func:`edgesdk.training.schedules.plan`),
not the shorter fine-tuning one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._tf import tf, tf_keras
from . import schedules
from .data import make_dataset
from .finetune import FineTune, History
from .reports import progress_callback


def logits_fn(student: Any, student_probs: bool) -> Callable[[Any, bool], Any]:
    """The student's pre-softmax logits (read before a final softmax layer if there is one)."""
    keras = tf_keras()
    tfm = tf()
    last = student.layers[-1]
    is_softmax = isinstance(last, keras.layers.Softmax) or (
        isinstance(last, keras.layers.Activation)
        and getattr(last.activation, "__name__", "") == "softmax"
    )
    if is_softmax:
        logits_model = keras.Model(student.inputs, last.input)
        return lambda x, training: logits_model(x, training=training)
    if student_probs:  # log-probabilities are logits up to a per-row constant
        return lambda x, training: tfm.math.log(
            tfm.clip_by_value(student(x, training=training), 1e-7, 1.0)
        )
    return lambda x, training: student(x, training=training)


def distill(
    student: Any,
    teacher_logits: np.ndarray,
    ctx: FineTune,
    *,
    learning_rate: float,
    temperature: float,
    alpha: float,
    student_probs: bool,
) -> tuple[History, schedules.StepPlan]:
    """Train ``student`` in place on the teacher's soft targets mixed with the labels."""
    keras = tf_keras()
    tfm = tf()
    logits_of = logits_fn(student, student_probs)

    class Distiller(keras.Model):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__(name="distiller")
            self.student = student
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

        @property
        def metrics(self) -> list[Any]:
            return [self.loss_tracker, self.accuracy]

        def call(self, x: Any, training: bool = False) -> Any:
            return self.student(x, training=training)

        def train_step(self, data: Any) -> dict[str, Any]:
            x, (y, t_logits) = data
            with tfm.GradientTape() as tape:
                s_logits = logits_of(x, True)
                hard = tfm.reduce_mean(
                    keras.losses.sparse_categorical_crossentropy(y, s_logits, from_logits=True)
                )
                t_soft = tfm.nn.softmax(t_logits / temperature)
                s_log_soft = tfm.nn.log_softmax(s_logits / temperature)
                kl = tfm.reduce_mean(
                    tfm.reduce_sum(t_soft * (tfm.math.log(t_soft + 1e-8) - s_log_soft), axis=-1)
                )
                loss = alpha * hard + (1.0 - alpha) * temperature**2 * kl
            variables = self.student.trainable_variables
            self.optimizer.apply_gradients(
                zip(tape.gradient(loss, variables), variables, strict=True)
            )
            self.loss_tracker.update_state(loss)
            self.accuracy.update_state(y, s_logits)
            return {m.name: m.result() for m in self.metrics}

        def test_step(self, data: Any) -> dict[str, Any]:
            x, y = data
            out = self.student(x, training=False)
            loss = keras.losses.sparse_categorical_crossentropy(
                y, out, from_logits=not student_probs
            )
            self.loss_tracker.update_state(tfm.reduce_mean(loss))
            self.accuracy.update_state(y, out)
            return {m.name: m.result() for m in self.metrics}

    n = len(ctx.train[0])
    if ctx.epochs is not None:
        budget = schedules.finetune_plan(n, ctx.batch_size, epochs=ctx.epochs)
    else:
        budget = schedules.plan(n, ctx.batch_size, epochs_cap=10_000, early_stopping=False)
    distiller = Distiller()
    distiller.compile(
        optimizer=keras.optimizers.Adam(schedules.learning_rate(learning_rate, budget))
    )
    x_train, y_train = ctx.train
    train_ds = make_dataset(
        x_train,
        (y_train, teacher_logits.astype(np.float32)),
        batch_size=ctx.batch_size,
        shuffle=True,
        seed=ctx.seed,
    )
    hist = distiller.fit(
        train_ds.repeat(),
        steps_per_epoch=budget.steps_per_epoch,
        validation_data=make_dataset(*ctx.val, batch_size=ctx.batch_size, shuffle=False),
        epochs=budget.epochs,
        verbose=0,
        callbacks=progress_callback(
            ctx.on_epoch, "distill", budget.epochs, budget.steps_per_epoch
        ),
    )
    return {k: tuple(float(v) for v in vs) for k, vs in hist.history.items()}, budget


__all__ = ["distill", "logits_fn"]
