"""The detector's Kotlin wrapper and sample app: the common Android tree with the
``object_detector`` template overlay, and golden detections in the androidTest assets.

The wrapper follows ``package --android-runtime`` as the classifier's does (see
:mod:`edgesdk.codegen.runtime`): the ``interpreter`` variant reads the four outputs of
``TFLite_Detection_PostProcess`` by the subgraph's output index; the ``compiled-model`` variant
(LiteRT's ``CompiledModel``) by the output's name in the model's signature
(:func:`signature_names`), because ``CompiledModel`` orders its buffers by the signature, which
need not be the subgraph's order (the detectors converted here list ``output_0..3`` in the
op's port order while the subgraph lists them in another).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConversionError
from . import golden as dg
from .export import OP_NAME, PORT_NAMES
from .postprocess import PostProcessOptions
from .runner import DetectorRunner

if TYPE_CHECKING:
    from ..config import PackageConfig
    from ..pipeline import Normalization

GOLDEN_ASSET_DIR = Path("app", "src", "androidTest", "assets", "golden")


@dataclass(frozen=True)
class SignatureNames:
    """How LiteRT's ``CompiledModel`` names the detector's tensors: by the model's first
    signature (``SignatureDef``), or, for a model without one, by the subgraph's tensor names
    (LiteRT's default signature)."""

    signature: str | None  #: the signature key; None when the model has no SignatureDef
    input: str  #: the name of the image input
    outputs: tuple[str, str, str, str]  #: by port: location, category, score, count


def signature_names(model: bytes) -> SignatureNames:
    """The names of the image input and of the four outputs of ``TFLite_Detection_PostProcess``
    (by port) in the signature ``CompiledModel`` runs by default (the model's first one)."""
    from ai_edge_litert import schema_py_generated as tfl

    m = tfl.Model.GetRootAs(bytes(model), 0)
    sg = m.Subgraphs(0)
    ports: list[int] | None = None
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex()).CustomCode()
        if code is not None and code.decode() == OP_NAME and op.OutputsLength() == 4:
            ports = [op.Outputs(j) for j in range(4)]
    if ports is None or sg.InputsLength() != 1:
        raise ConversionError(
            f"the detector does not have one image input and the four outputs of {OP_NAME}",
            received=f"{sg.InputsLength()} inputs",
            supported=f"one image input and the four outputs of {OP_NAME}",
            fix="Package a Keras detector with raw box and score outputs",
        )

    def text(raw: bytes | None) -> str:
        return (raw or b"").decode("utf-8", errors="replace")

    if m.SignatureDefsLength() > 0:
        sd = m.SignatureDefs(0)
        key: str | None = text(sd.SignatureKey())
        inputs = {sd.Inputs(i).TensorIndex(): text(sd.Inputs(i).Name())
                  for i in range(sd.InputsLength())}  # fmt: skip
        outputs = {sd.Outputs(i).TensorIndex(): text(sd.Outputs(i).Name())
                   for i in range(sd.OutputsLength())}  # fmt: skip
    else:
        key = None
        inputs = {sg.Inputs(i): text(sg.Tensors(sg.Inputs(i)).Name()) for i in range(1)}
        outputs = {sg.Outputs(i): text(sg.Tensors(sg.Outputs(i)).Name())
                   for i in range(sg.OutputsLength())}  # fmt: skip
    missing = [PORT_NAMES[p] for p, t in enumerate(ports) if t not in outputs]
    if sg.Inputs(0) not in inputs or missing:
        raise ConversionError(
            f"the detector's signature does not name its image input and the four outputs of "
            f"{OP_NAME}",
            received=f"signature {key!r} with inputs {sorted(inputs.values())} and outputs "
            f"{sorted(outputs.values())}; unnamed: {missing or ['the image input']}",
            supported="a model whose (first) signature holds the image and the four outputs",
            fix="Convert the detector with edgesdk package (it keeps the Keras signature)",
        )
    loc, cat, score, count = (outputs[t] for t in ports)
    return SignatureNames(key, inputs[sg.Inputs(0)], (loc, cat, score, count))


def detector_template_values(
    runner: DetectorRunner, opts: PostProcessOptions, model: bytes | None = None
) -> dict[str, Any]:
    """The detector's own template values: output indices (Interpreter) and, given the model
    bytes, the signature names (CompiledModel)."""
    order = runner.order
    values: dict[str, Any] = {
        "output_location": order.index_of(0),
        "output_category": order.index_of(1),
        "output_score": order.index_of(2),
        "output_count": order.index_of(3),
        "max_detections": opts.max_detections,
        "score_threshold": float(np.float32(opts.score_threshold)),
    }
    if model is not None:
        names = signature_names(model)
        values.update(
            signature_key=names.signature,
            input_name=names.input,
            output_name_location=names.outputs[0],
            output_name_category=names.outputs[1],
            output_name_score=names.outputs[2],
            output_name_count=names.outputs[3],
        )
    return values


def generate_detector_android(
    config: PackageConfig,
    stage: Path,
    model_bytes: bytes,
    name: str,
    labels: tuple[str, ...],
    norm: Normalization,
    runner: DetectorRunner,
    images: np.ndarray,
    quantization: str,
    opts: PostProcessOptions,
) -> tuple[Path, Path, dict[str, Any] | None]:
    from ..codegen import AndroidRuntime, android_context, generate_android

    inp = runner.input
    scale, zp = inp["quantization"]
    ctx = android_context(
        model_name=name,
        labels=labels,
        input_shape=tuple(int(d) for d in inp["shape"][1:]),
        input_dtype=np.dtype(inp["dtype"]).name,
        input_quant=(scale, zp) if scale else None,
        output_dtype="float32",
        mean=norm.mean,
        std=norm.std,
        class_name=config.class_name,
        android_package=config.android_package,
        author=config.author,
        version=config.model_version,
        runtime=AndroidRuntime(config.android_runtime, config.android_accelerators),
    )
    info = None
    with tempfile.TemporaryDirectory(prefix="edgesdk-golden-") as tmp:
        golden_dir = None
        if config.golden_cases > 0:
            cases = list(images[: config.golden_cases])
            if len(cases) > 1:
                # one case at another size, so the device resizes as Python does
                from ..preprocess import resize_bilinear

                h, w = cases[-1].shape[:2]
                cases[-1] = resize_bilinear(np.asarray(cases[-1], np.float32), h * 3 // 2, w + 7)
            golden = dg.build(runner, cases, quantization, opts.score_threshold)
            golden_dir = Path(tmp) / "golden"
            dg.write(golden, golden_dir)
            info = {
                "cases": len(golden.cases),
                "bytes": sum(p.stat().st_size for p in golden_dir.iterdir()),
                "path": str(Path("android") / GOLDEN_ASSET_DIR),
                "min_iou": golden.min_iou,
                "score_tolerance": golden.score_tolerance,
                "score_threshold": round(golden.score_threshold, 6),
                "detections": sum(len(c.expected) for c in golden.cases),
            }
        gen = generate_android(
            ctx,
            model_bytes,
            stage,
            golden_dir=golden_dir,
            overlay="object_detector",
            extra_context=detector_template_values(runner, opts, model_bytes),
        )
    return gen.kotlin.relative_to(stage), gen.android.relative_to(stage), info
