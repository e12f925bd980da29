"""`--quantize auto` measurement rules: no-op quantization and int8 collapse are named."""

from __future__ import annotations

import numpy as np

from edgesdk.convert import ConversionResult, Quantization, convert_all
from edgesdk.models import load_model
from edgesdk.quantize_auto import measure
from edgesdk.verify.host import reference_outputs


def _constant_model(shape, classes, winner):
    """A float .tflite that ignores its input and always scores class ``winner``."""
    from edgesdk._tf import tf

    t = tf()
    onehot = np.eye(classes, dtype=np.float32)[winner]

    @t.function(input_signature=[t.TensorSpec((1, *shape), t.float32)])
    def f(x):
        return t.reduce_sum(x, axis=[1, 2, 3], keepdims=False)[:, None] * 0.0 + onehot

    return t.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f).convert()


def test_measure_flags_no_effect_and_collapse_and_skips_them(trained_h5, shapes_eval_npz):
    loaded = load_model(trained_h5)
    e = np.load(shapes_eval_npz)
    mean, std = (0.0,) * 3, (1.0,) * 3
    base = convert_all(loaded, ("none",))[Quantization.NONE]
    results = {
        Quantization.NONE: base,
        # a "dynamic" variant that is really the float model: quantization did nothing
        Quantization.DYNAMIC: ConversionResult(base.tflite, Quantization.DYNAMIC, 0),
        # an "int8" variant that always answers class 0: a collapse
        Quantization.INT8: ConversionResult(_constant_model((16, 16, 3), 4, 0), Quantization.INT8, 0),
    }
    x, y = e["x"].astype(np.float32), e["y"]
    ref = reference_outputs(loaded, x, mean, std)
    choice = measure(results, ref, x, y, mean, std, budget_pct=100.0)
    notes = {v.mode: v.notes for v in choice.variants}
    assert any("no effect" in n for n in notes["dynamic"])
    assert any("not smaller" in n for n in notes["dynamic"])
    assert any("collapse" in n for n in notes["int8"])
    assert choice.chosen is not Quantization.INT8  # a collapsed variant is never chosen
