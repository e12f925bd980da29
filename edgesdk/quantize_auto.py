"""``--quantize auto``: build every variant, measure it, keep the smallest within budget.

Variants: float32, float16 (weights), dynamic (int8 weights) and int8 (full integer),
all derived from one trace of the model (:func:`edgesdk.convert.convert_all`). Each is
measured on the evaluation data: accuracy, top-1 agreement with Keras, size, and host
latency in the LiteRT interpreter (median of repeated runs, one thread).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .convert import ConversionResult, Quantization

ORDER = (Quantization.NONE, Quantization.FLOAT16, Quantization.DYNAMIC, Quantization.INT8)
LATENCY_RUNS = 20


@dataclass(frozen=True)
class Variant:
    """One quantization variant as measured on the evaluation data."""

    mode: str
    size_bytes: int
    accuracy: float
    accuracy_drop_pct: float
    top1_agreement: float
    max_abs_diff: float
    latency_ms: float
    within_budget: bool
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AutoChoice:
    chosen: Quantization
    variants: tuple[Variant, ...]
    reference_accuracy: float
    budget_pct: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.value,
            "budget_pct": self.budget_pct,
            "reference_accuracy": self.reference_accuracy,
            "variants": [v.to_dict() for v in self.variants],
        }


def _latency_ms(runner: Any, tensor: np.ndarray) -> float:
    runner.run_tensor(tensor)  # warm-up
    times = []
    for _ in range(LATENCY_RUNS):
        t = time.perf_counter()
        runner.run_tensor(tensor)
        times.append((time.perf_counter() - t) * 1000)
    return float(statistics.median(times))


def measure(
    results: dict[Quantization, ConversionResult],
    reference: np.ndarray,
    x_raw: np.ndarray,
    y: np.ndarray,
    mean: Any,
    std: Any,
    budget_pct: float,
) -> AutoChoice:
    """Measure every variant and choose (see module docstring)."""
    from .verify.host import TFLiteRunner, abs_diff, top1

    ref_acc = float(np.mean(reference.argmax(1) == y))
    n_classes = reference.shape[1]
    outputs: dict[Quantization, np.ndarray] = {}
    variants = []
    for mode in ORDER:
        if mode not in results:
            continue
        runner = TFLiteRunner(results[mode].tflite, num_threads=1)
        prepared = [runner.prepare(s, mean, std) for s in x_raw]
        out = np.stack([runner.dequantized(runner.run_tensor(t)) for t in prepared]).reshape(
            len(x_raw), -1
        )
        outputs[mode] = out
        finite = np.isfinite(out).all(axis=1)
        pred = top1(out)
        acc = float(np.mean(pred == y))
        drop = (ref_acc - acc) * 100.0
        diff = abs_diff(reference, out)
        notes = []
        if mode is not Quantization.NONE and Quantization.NONE in outputs:
            if np.array_equal(out, outputs[Quantization.NONE]):
                notes.append("quantization had no effect: outputs identical to float32")
            if results[mode].tflite and len(results[mode].tflite) >= len(
                results[Quantization.NONE].tflite
            ):
                notes.append("not smaller than float32")
        if mode is Quantization.INT8 and n_classes > 1:
            majority = np.bincount(pred[pred >= 0], minlength=n_classes).max() / max(1, len(pred))
            chance = 1.0 / n_classes
            if acc <= chance + 0.05 < ref_acc - 0.2 or (
                majority > 0.9 and ref_acc > 0.5 and acc < ref_acc - 0.2
            ):
                notes.append("int8 collapse: predictions near chance or all one class")
        if not finite.all():
            notes.append("non-finite outputs")
        variants.append(
            Variant(
                mode=mode.value,
                size_bytes=len(results[mode].tflite),
                accuracy=acc,
                accuracy_drop_pct=round(drop, 4),
                top1_agreement=float(np.mean(pred == reference.argmax(1))),
                max_abs_diff=float(diff.max()) if diff.size else 0.0,
                latency_ms=_latency_ms(runner, prepared[0]),
                within_budget=bool(drop <= budget_pct + 1e-9 and finite.all()),
                notes=tuple(notes),
            )
        )
    ok = [v for v in variants if v.within_budget and not any("collapse" in n for n in v.notes)]
    chosen = (
        min(ok, key=lambda v: (v.size_bytes, ORDER.index(Quantization(v.mode)))) if ok else None
    )
    return AutoChoice(
        chosen=Quantization(chosen.mode) if chosen else Quantization.NONE,
        variants=tuple(variants),
        reference_accuracy=ref_acc,
        budget_pct=budget_pct,
    )
