"""Where a model's input normalization comes from, folding it into the model, and the
reference pipeline parity is measured against.

The app always feeds ``(pixel - mean) / std`` with the ``mean``/``std`` of the metadata.
What metadata cannot say (a channel permutation such as caffe's BGR order) is *folded*:
it becomes the ``.tflite``'s first ops, and the metadata then says mean 0, std 1. The
same happens for any model with ``fold_normalization``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .backbones import Backbone, InputTransform, recognise, user_pipeline

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Normalization:
    """Per-channel mean/std the app applies to raw inputs, and where the values came from.

    ``source``: ``cli``, ``keras_applications:<module>``, ``model_layer:<Layer>``,
    ``assumed_unit_range``. ``folded``: the transform built into the model's first ops
    (then ``mean``/``std`` are 0/1). ``backbone``: the recognised backbone, if any.
    ``reference``: the user's own preprocessing that parity compares against (the family's
    ``preprocess_input``), when the model expects it outside.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str
    folded: InputTransform | None = None
    backbone: Backbone | None = None
    reference: str | None = None
    fold_cost: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def model_input(self) -> InputTransform:
        """Raw pixels -> what the Keras model takes."""
        if self.folded is not None:
            return self.folded
        return InputTransform(tuple(self.mean), tuple(self.std))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mean": list(self.mean), "std": list(self.std), "source": self.source}
        if self.backbone is not None:
            d["backbone"] = self.backbone.to_dict()
        if self.reference is not None:
            d["reference_preprocessing"] = self.reference
        if self.folded is not None:
            folded = self.folded.to_dict()
            if self.fold_cost is not None:
                folded["cost"] = self.fold_cost
            d["folded"] = folded
        return d


def from_model(loaded: Any, channels: int, warn: Warn) -> Normalization | None:
    """The normalization a recognised backbone implies, or ``None`` (unknown model).

    Warns when a backbone is recognised but its preprocessing cannot be placed.
    """
    if loaded.framework == "saved_model" or channels != 3:
        return None
    backbones, code = recognise(loaded.model)
    if not backbones:
        return None
    modes = {b.family.transform for b in backbones}
    if len(modes) > 1:
        warn(
            "the model holds backbones of families with different preprocessing ("
            + ", ".join(b.family.module for b in backbones)
            + "): edgesdk cannot pick one. Pass --mean/--std."
        )
        return None
    bb = backbones[0]
    fam = bb.family
    if bb.placement == "outside":
        t = fam.transform
        if t.permutation is not None:
            # Metadata cannot express a channel permutation: fold the whole transform.
            return Normalization(
                (0.0,) * 3, (1.0,) * 3, fam.source, folded=t, backbone=bb, reference=_ref(bb)
            )
        return Normalization(t.mean, t.std, fam.source, backbone=bb, reference=_ref(bb))
    if bb.placement == "in_model":
        layer = next(k for k in bb.front if k in ("Rescaling", "Normalization"))
        source = fam.source if fam.mode == "in_model" else f"model_layer:{layer}"
        return Normalization((0.0,) * 3, (1.0,) * 3, source, backbone=bb)
    if bb.placement == "transformed":
        warn(
            f"a {fam.module} backbone ({bb.name}) was recognised, but layers in front of it "
            f"transform the input ({code}); edgesdk cannot tell what they expect. If they "
            f"apply keras.applications.{fam.module}.preprocess_input, pass --mean 0 --std 1."
        )
        return None
    warn(
        f"a {fam.module} backbone ({bb.name}) was recognised, but it was built without its "
        "preprocessing layers (include_preprocessing=False), so its expected input is unknown."
    )
    return None


def _ref(bb: Backbone) -> str:
    return f"keras.applications.{bb.family.module}.preprocess_input"


def fold(norm: Normalization) -> Normalization:
    """Move the whole normalization into the model: the metadata then says mean 0, std 1."""
    if norm.folded is not None:
        return norm
    t = InputTransform(tuple(norm.mean), tuple(norm.std))
    n = len(norm.mean)
    return replace(norm, mean=(0.0,) * n, std=(1.0,) * n, folded=None if t.is_identity else t)


def reference_fn(loaded: Any, norm: Normalization) -> Callable[[np.ndarray], np.ndarray]:
    """Raw inputs -> the Keras model's outputs through the user's own pipeline: the
    family's ``preprocess_input`` when the model expects it outside, else the model input
    transform (``mean``/``std``, plus whatever is folded)."""
    from .verify.host import reference_outputs

    if norm.reference is not None and norm.backbone is not None:
        _, pre = user_pipeline(norm.backbone, loaded.framework)

        def run(x: np.ndarray) -> np.ndarray:
            return reference_outputs(loaded, pre(x), 0.0, 1.0)

        return run
    t = norm.model_input

    def run_transform(x: np.ndarray) -> np.ndarray:
        return reference_outputs(loaded, t.apply(x), 0.0, 1.0)

    return run_transform


def reference_from_report(loaded: Any, normalization: dict[str, Any]) -> Callable[..., Any]:
    """:func:`reference_fn` for a model packaged earlier, from its ``report.json`` section."""
    from .backbones import family
    from .verify.host import reference_outputs

    ref = normalization.get("reference_preprocessing")
    bb = normalization.get("backbone")
    if ref and bb:
        fn = family(bb["family"]).preprocess_input(loaded.framework)

        def run(x: np.ndarray) -> np.ndarray:
            pre = np.asarray(fn(np.array(x, dtype=np.float32, copy=True)), np.float32)
            return reference_outputs(loaded, pre, 0.0, 1.0)

        return run
    if normalization.get("folded"):
        t = InputTransform.from_dict(normalization["folded"])
    else:
        t = InputTransform(tuple(normalization["mean"]), tuple(normalization["std"]))
    return lambda x: reference_outputs(loaded, t.apply(x), 0.0, 1.0)


# ------------------------------------------------------------------------------ fusion


def fusable_layer(loaded: Any, transform: InputTransform | None) -> Any:
    """The first ``Conv2D`` that :func:`fused` can fold a transform's permutation and scale
    into, or ``None``."""
    from .backbones import _FUSABLE_FRONT, first_compute_layer

    if transform is None or loaded.framework == "saved_model":
        return None
    layer, front = first_compute_layer(loaded.model)
    ok = (
        layer is not None
        and type(layer).__name__ == "Conv2D"
        and getattr(layer, "groups", 1) == 1
        and getattr(layer, "data_format", "channels_last") == "channels_last"
        and all(k in _FUSABLE_FRONT for k in front)
        and len(layer.kernel.shape) == 4
        and int(layer.kernel.shape[2]) == len(transform.mean)
    )
    return layer if ok else None


@contextmanager
def fused(loaded: Any, transform: InputTransform | None) -> Iterator[InputTransform | None]:
    """Fuse what is exact of a fold into the model's first convolution, for a conversion.

    A channel permutation and a per-channel scale in front of a ``Conv2D`` (with only
    padding, resizing or inference no-ops between) are the same as permuting and scaling
    the kernel's input channels, zero padding included; the offset is not (padding would
    see it), so it stays an ``ADD`` op in front. Yields the transform that remains to be
    built as ops; the kernel is restored on exit (the reference keeps the original model).
    TF 2.21's converter does none of this itself.
    """
    layer = fusable_layer(loaded, transform)
    if layer is None or transform is None:
        yield transform
        return
    original = np.array(layer.kernel.numpy() if hasattr(layer.kernel, "numpy") else layer.kernel)
    n = len(transform.mean)
    perm = transform.permutation or tuple(range(n))
    scale = 1.0 / np.asarray(transform.std, np.float64)
    kernel = np.zeros_like(original)
    mean_raw = np.zeros(n, np.float64)
    for j, src in enumerate(perm):
        kernel[:, :, src, :] = (original[:, :, j, :].astype(np.float64) * scale[j]).astype(
            original.dtype
        )
        mean_raw[src] = transform.mean[j]
    remaining = InputTransform(tuple(float(m) for m in mean_raw), (1.0,) * n)
    layer.kernel.assign(kernel)
    try:
        yield None if remaining.is_identity else remaining
    finally:
        layer.kernel.assign(original)


# --------------------------------------------------------------------------- fold cost


def _operators(model: bytes) -> dict[str, int]:
    from .inspection import inspect

    fd, path = tempfile.mkstemp(suffix=".tflite")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model)
        return dict(inspect(path).operators)
    finally:
        os.unlink(path)


def _latency_ms(
    models: tuple[bytes, ...], budget_s: float = 1.0, max_runs: int = 30
) -> list[float]:
    """Median single-thread latency of one inference of each model in the LiteRT
    interpreter (host), runs interleaved so that load changes hit all models alike."""
    from .verify.host import TFLiteRunner

    runners = [TFLiteRunner(m) for m in models]
    inputs = [np.zeros(r.input.shape[1:], dtype=r.input.dtype) for r in runners]
    for r, x in zip(runners, inputs, strict=True):
        r.run_tensor(x)  # warm-up
    times: list[list[float]] = [[] for _ in runners]
    start = time.perf_counter()
    while len(times[0]) < 3 or (
        len(times[0]) < max_runs and time.perf_counter() - start < budget_s
    ):
        for r, x, ts in zip(runners, inputs, times, strict=True):
            t = time.perf_counter()
            r.run_tensor(x)
            ts.append(time.perf_counter() - t)
    return [float(np.median(ts) * 1e3) for ts in times]


def fold_cost(unfolded: bytes, folded: bytes, fused_into: str | None = None) -> dict[str, Any]:
    """What folding cost: size, operators added, host latency (float32 conversions).
    ``fused_into``: the convolution the permutation and scale were fused into, if any."""
    before, after = _operators(unfolded), _operators(folded)
    added = {k: after.get(k, 0) - before.get(k, 0) for k in sorted(set(before) | set(after))}
    lat_before, lat_after = _latency_ms((unfolded, folded))
    return {
        "measured_on": "float32 conversions, LiteRT interpreter on the host, 1 thread, "
        "median of interleaved runs",
        "fused_into": fused_into,
        "size_bytes": len(folded) - len(unfolded),
        "operators_added": {k: v for k, v in added.items() if v},
        "latency_ms_unfolded": round(lat_before, 4),
        "latency_ms_folded": round(lat_after, 4),
        "latency_ms": round(lat_after - lat_before, 4),
    }


__all__ = [
    "Normalization",
    "from_model",
    "fold",
    "fold_cost",
    "reference_fn",
    "reference_from_report",
]
