"""Weight clustering (TF-MOT): every conv / dense kernel shares ``N`` values.

Centroids start from k-means++; fine-tuning moves them. After pruning, clustering
preserves the zeros (``preserve_sparsity``). ``strip_clustering`` leaves a plain
tf_keras model whose kernels hold at most ``N`` distinct values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tf import tf_keras
from . import schedules
from .finetune import FineTune, History, has_kernel, tfmot, tfmot_error


def cluster(
    model: Any,
    n: int,
    ctx: FineTune,
    *,
    learning_rate: float,
    from_logits: bool,
    preserve_sparsity: bool,
) -> tuple[Any, History, schedules.StepPlan]:
    """Cluster every kernel of ``model`` to ``n`` values, fine-tuned; returns the stripped model."""
    cl = tfmot().clustering.keras
    keras = tf_keras()

    def wrap(layer: Any) -> Any:
        if not has_kernel(layer) or int(np.prod(layer.kernel.shape)) <= n:
            return layer
        return cl.cluster_weights(
            layer,
            number_of_clusters=n,
            cluster_centroids_init=cl.CentroidInitialization.KMEANS_PLUS_PLUS,
            preserve_sparsity=preserve_sparsity,
        )

    try:
        clustered = keras.models.clone_model(model, clone_function=wrap)
    except (ValueError, TypeError) as exc:
        raise tfmot_error("cluster", exc) from None
    budget = ctx.plan()
    history = ctx.fit(
        clustered, "cluster", budget=budget, learning_rate=learning_rate, from_logits=from_logits
    )
    return cl.strip_clustering(clustered), history, budget


__all__ = ["cluster"]
