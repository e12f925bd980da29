"""Validation of the options train and compress share (each a :class:`ConfigError`)."""

from __future__ import annotations

import math

from ..errors import ConfigError


def check_positive_int(name: str, value: int) -> None:
    if int(value) != value or value < 1:
        flag = "--" + name.replace("_", "-")
        raise ConfigError(
            f"{name} must be a positive integer",
            received=f"{name}={value!r}",
            supported=f"{flag} >= 1",
            fix=f"Pass a positive {flag}",
        )


def check_learning_rate(value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(
            "the learning rate must be positive",
            received=f"learning_rate={value}",
            supported="--learning-rate > 0 (typically 1e-4 to 1e-2)",
            fix="Pass a positive --learning-rate",
        )


def check_val_split(value: float) -> None:
    if not (0.0 < value < 1.0):
        raise ConfigError(
            "the validation split must be a fraction strictly between 0 and 1",
            received=f"val_split={value}",
            supported="0 < --val-split < 1 (default 0.2)",
            fix="Pass e.g. --val-split 0.2",
        )
