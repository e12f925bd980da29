"""Keras detector -> ``.tflite`` ending in the ``TFLite_Detection_PostProcess`` op.

The op is appended as a ``tf.function`` carrying ``experimental_implements``, which the
converter legalises into the custom op (registered by default in LiteRT's builtin
resolver). The app then gets the four float32 outputs the Task Library's ObjectDetector
reads: locations ``[1, N, 4]`` (ymin, xmin, ymax, xmax), classes ``[1, N]``, scores
``[1, N]`` and the number of detections ``[1]``.

With ``int8`` the network is full-integer (uint8 image input, as the Task Library takes)
and the post-processing stays float: box encodings and class scores are dequantized
before the op, so boxes never share one quantized tensor with scores.

The converted model's outputs are not in the op's port order: :func:`output_order` maps
them by the op's ports, never by tensor index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..convert import MAX_CALIBRATION_SAMPLES, ConversionResult, Quantization, check_calibration
from ..errors import ConversionError
from ..models import LoadedModel
from .anchors import SCALES
from .postprocess import PostProcessOptions

OP_NAME = "TFLite_Detection_PostProcess"
#: The op's output ports, in port order, with the metadata names the Task Library reads.
PORT_NAMES = ("location", "category", "score", "number of detections")


def _implements(num_classes: int, opts: PostProcessOptions) -> str:
    sy, sx, sh, sw = SCALES
    attrs = [
        ("max_detections", "i", opts.max_detections),
        ("max_classes_per_detection", "i", 1),
        ("detections_per_class", "i", 100),
        ("use_regular_nms", "b", "false"),
        ("nms_score_threshold", "f", opts.score_threshold),
        ("nms_iou_threshold", "f", opts.iou_threshold),
        ("y_scale", "f", sy),
        ("x_scale", "f", sx),
        ("h_scale", "f", sh),
        ("w_scale", "f", sw),
        ("num_classes", "i", num_classes),
    ]
    body = " ".join(f'attr {{ key: "{k}" value {{ {t}: {v} }} }}' for k, t, v in attrs)
    return f'name: "{OP_NAME}" {body}'


def _functions(
    loaded: LoadedModel, anchors: np.ndarray, opts: PostProcessOptions
) -> tuple[Any, Any]:
    from .._tf import tf

    t = tf()
    spec = loaded.inputs[0]
    _, h, w, c = spec.shape
    model = loaded.model
    box_index, score_index = raw_output_indices(loaded)
    num_classes = int(loaded.outputs[score_index].shape[-1] or 0)
    anchors_t = t.constant(anchors, t.float32)

    @t.function(experimental_implements=_implements(num_classes, opts))
    def postprocess(box_encodings: Any, class_predictions: Any, anchor_boxes: Any) -> Any:
        # Stand-in body; the converter replaces the whole function with the op.
        boxes = t.constant(0.0, t.float32, name="boxes")
        classes = t.constant(0.0, t.float32, name="classes")
        scores = t.constant(0.0, t.float32, name="scores")
        num = t.constant(0.0, t.float32, name="num_detections")
        return boxes, classes, scores, num

    @t.function(input_signature=[t.TensorSpec([1, h, w, c], t.float32, name="image")])
    def serve(x: Any) -> Any:
        outs = model(x, training=False)
        enc = t.cast(outs[box_index], t.float32)
        scores = t.cast(outs[score_index], t.float32)
        # Column 0 is the background class the op skips.
        background = t.zeros_like(scores[..., :1])
        return postprocess(enc, t.concat([background, scores], axis=-1), anchors_t)

    return serve, serve.get_concrete_function()


def raw_output_indices(loaded: LoadedModel) -> tuple[int, int]:
    """(box encodings, class scores) output indices of a raw detector: the one whose last
    dimension is 4 is the boxes, unless the model names them."""
    names = [o.name.lower() for o in loaded.outputs]
    for i, n in enumerate(names):
        if "box" in n or "loc" in n:
            return i, 1 - i
    return (0, 1) if loaded.outputs[0].shape[-1] == 4 else (1, 0)


def _representative(data: np.ndarray) -> Iterator[list[np.ndarray]]:
    for i in range(min(len(data), MAX_CALIBRATION_SAMPLES)):
        yield [data[i : i + 1].astype(np.float32)]


def convert_detector(
    loaded: LoadedModel,
    anchors: np.ndarray,
    mode: Quantization,
    calibration: np.ndarray | None,
    opts: PostProcessOptions,
) -> ConversionResult:
    """One variant of the detector as a ``.tflite`` ending in the post-processing op."""
    from .._io import quiet_native
    from .._tf import tf
    from ..convert import derive

    t = tf()
    check_calibration(mode, calibration)
    import tempfile

    fn, cf = _functions(loaded, anchors, opts)
    # The converter legalises experimental_implements functions from a SavedModel's
    # function library; from_concrete_functions inlines (and folds) them first.
    module = t.Module()
    module.serve = fn
    # Track the variables alone: tracking the Keras model would trace and save every
    # layer's call functions (minutes for a MobileNetV2).
    module.weights = list(loaded.model.variables)
    tmp = tempfile.TemporaryDirectory(prefix="edgesdk-detector-")
    with quiet_native():
        t.saved_model.save(
            module,
            tmp.name,
            signatures={"serving_default": cf},
            options=t.saved_model.SaveOptions(experimental_custom_gradients=False),
        )
    converter = t.lite.TFLiteConverter.from_saved_model(tmp.name)
    converter.allow_custom_ops = True
    converter.target_spec.supported_ops = [t.lite.OpsSet.TFLITE_BUILTINS]
    if mode is Quantization.INT8:
        assert calibration is not None
        converter.optimizations = [t.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: _representative(calibration)
        converter.inference_input_type = t.uint8
        converter.inference_output_type = t.float32
    try:
        with quiet_native():
            data = bytes(converter.convert())
    except Exception as exc:  # the converter raises several unrelated types
        raise ConversionError(
            f"the TFLite converter failed on the detector ({mode.value})",
            received=f"{type(exc).__name__}: {str(exc)[:300]}",
            supported="Keras detectors made of standard layers with box and score outputs",
            fix="Try --quantize none to see whether quantization is the cause",
        ) from None
    finally:
        tmp.cleanup()
    if mode in (Quantization.FLOAT16, Quantization.DYNAMIC):
        data = derive(data, mode)
    n = min(len(calibration), MAX_CALIBRATION_SAMPLES) if calibration is not None else 0
    return ConversionResult(data, mode, n if mode is Quantization.INT8 else 0)


@dataclass(frozen=True)
class OutputOrder:
    """For each subgraph output (in order), which port of the op it is (0..3)."""

    ports: tuple[int, ...]

    def names(self) -> tuple[str, ...]:
        return tuple(PORT_NAMES[p] for p in self.ports)

    def index_of(self, port: int) -> int:
        return self.ports.index(port)


def output_order(model: bytes) -> OutputOrder:
    """Map the model's outputs to the post-processing op's ports, from the flatbuffer."""
    from ai_edge_litert import schema_py_generated as tfl

    m = tfl.Model.GetRootAs(model, 0)
    sg = m.Subgraphs(0)
    outputs = [sg.Outputs(i) for i in range(sg.OutputsLength())]
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        name = code.CustomCode()
        if name is not None and name.decode() == OP_NAME:
            op_outs = [op.Outputs(j) for j in range(op.OutputsLength())]
            if len(op_outs) != 4 or sorted(outputs) != sorted(op_outs):
                break
            return OutputOrder(tuple(op_outs.index(t) for t in outputs))
    raise ConversionError(
        f"the converted detector does not end in {OP_NAME} with four outputs",
        received=f"{len(outputs)} outputs",
        supported=f"a model whose outputs are the four outputs of {OP_NAME}",
        fix="Package a Keras detector with raw box and score outputs",
    )
