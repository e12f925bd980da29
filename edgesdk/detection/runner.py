"""Run a packaged detector in the LiteRT interpreter: raw image -> detections."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .export import output_order
from .postprocess import Detections


class DetectorRunner:
    """A ``.tflite`` detector whose outputs come from ``TFLite_Detection_PostProcess``."""

    def __init__(self, model: bytes, mean: Sequence[float] = (0.0,), std: Sequence[float] = (1.0,)):
        from ai_edge_litert.interpreter import Interpreter

        from .._io import quiet_native

        with quiet_native():
            self.interpreter = Interpreter(model_content=bytes(model), num_threads=1)
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = self.interpreter.get_output_details()
        self.order = output_order(model)
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        _, self.height, self.width, self.channels = (int(d) for d in self.input["shape"])

    def model_input(self, raw: np.ndarray) -> np.ndarray:
        """Raw pixels (any size) -> the input tensor, exactly as the Kotlin wrapper makes it
        (:func:`edgesdk.preprocess.prepare_input`: resize, normalize, quantize)."""
        from ..preprocess import prepare_input

        scale, zp = self.input["quantization"]
        x = prepare_input(
            np.asarray(raw, np.float32),
            height=self.height,
            width=self.width,
            mean=tuple(float(v) for v in self.mean),
            std=tuple(float(v) for v in self.std),
            dtype=np.dtype(self.input["dtype"]),
            scale=scale,
            zero_point=zp,
        )
        return x[None]

    def raw_outputs(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(locations [N, 4], classes [N], scores [N], count) in the op's port order."""
        self.interpreter.set_tensor(self.input["index"], self.model_input(raw))
        self.interpreter.invoke()
        ports = [
            self.interpreter.get_tensor(self.outputs[self.order.index_of(p)]["index"])
            for p in range(4)
        ]
        count = int(np.asarray(ports[3]).reshape(-1)[0])
        return ports[0][0], ports[1][0], ports[2][0], count

    def detect(self, raw: np.ndarray) -> Detections:
        boxes, classes, scores, n = self.raw_outputs(raw)
        n = max(0, min(n, len(scores)))
        return Detections(
            np.clip(boxes[:n], 0.0, 1.0).astype(np.float32),
            classes[:n].astype(np.int32),
            scores[:n].astype(np.float32),
        )
