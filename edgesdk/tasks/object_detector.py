"""Object detector: one RGB image input, raw box encodings ``[1, A, 4]`` and class scores
``[1, A, C]``; packaged with the ``TFLite_Detection_PostProcess`` op appended, so the app
gets the four outputs the TFLite Task Library's ObjectDetector reads.

Metadata follows the Task Library's contract: outputs named ``location``, ``category``,
``score``, ``number of detections``; ``BoundingBoxProperties`` (BOUNDARIES, RATIO,
index ``[1, 0, 3, 2]`` for ``[top, left, bottom, right]``) and ``content.range`` {2, 2} on
``location``; labels as ``TENSOR_VALUE_LABELS`` on ``category``; a
``ScoreThresholdingOptions`` on ``score``; the output tensor group ``detection_result``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..metadata import (
    AssociatedFile,
    BoundingBox,
    FileType,
    ModelMetadata,
    TensorGroup,
    TensorMeta,
)
from ..models import LoadedModel
from . import register
from .base import GoldenInputs, MetadataInputs, Task, TaskChecks

if TYPE_CHECKING:
    from ..config import PackageConfig
    from ..pipeline import PackageResult
    from ..verify.reported import GoldenChecker

#: Metadata names of the post-processing op's outputs, in port order.
OUTPUT_NAMES = ("location", "category", "score", "number of detections")
GROUP = "detection_result"


def _raw_outputs(loaded: LoadedModel) -> tuple[int, int] | None:
    outs = loaded.outputs
    if len(outs) != 2 or any(len(o.shape) != 3 for o in outs):
        return None
    a, b = outs
    if a.shape[1] is None or a.shape[1] != b.shape[1]:
        return None
    from ..detection.export import raw_output_indices

    box, score = raw_output_indices(loaded)
    if outs[box].shape[-1] != 4 or outs[score].shape[-1] in (None, 0):
        return None
    return box, score


@register("object_detector")
class ObjectDetector(Task):
    has_labels = True
    supported_tiers = frozenset({"arm64", "apk", "android_host", "device"})
    golden_magic = b"EDGD"
    #: the detector's score threshold written into ScoreThresholdingOptions
    score_threshold: float = 0.05

    def matches(self, loaded: LoadedModel) -> bool:
        return (
            len(loaded.inputs) == 1
            and loaded.inputs[0].is_image
            and loaded.inputs[0].shape[-1] == 3
            and _raw_outputs(loaded) is not None
        )

    def num_classes(self, loaded: LoadedModel) -> int | None:
        idx = _raw_outputs(loaded)
        return None if idx is None else loaded.outputs[idx[1]].shape[-1]

    def metadata(self, loaded: LoadedModel, info: MetadataInputs) -> ModelMetadata:
        spec = loaded.inputs[0]
        _, h, w, _ = spec.shape
        image = TensorMeta(
            name="image",
            description=f"Input image, {w}x{h} RGB, normalized as (pixel - mean) / std.",
            content="image",
            color_space="RGB",
            mean=info.mean,
            std=info.std,
            stats_min=info.input_min,
            stats_max=info.input_max,
        )
        labels = AssociatedFile(
            name="labels.txt",
            description="Labels of the detected classes, one per line (category value i is "
            "line i).",
            type=FileType.TENSOR_VALUE_LABELS,
            content=("\n".join(info.labels) + "\n").encode("utf-8"),
        )
        by_name = {
            "location": TensorMeta(
                name="location",
                description="Boxes of the detected objects as [top, left, bottom, right], "
                "fractions of the image height and width.",
                content="bounding_box",
                bounding_box=BoundingBox((1, 0, 3, 2), "BOUNDARIES", "RATIO"),
                content_range=(2, 2),
            ),
            "category": TensorMeta(
                name="category",
                description="Class index of each detected object (see labels.txt).",
                content="feature",
                content_range=(2, 2),
                associated_files=(labels,),
            ),
            "score": TensorMeta(
                name="score",
                description="Score of each detected object, 0 to 1, best first.",
                content="feature",
                content_range=(2, 2),
                score_threshold=self.score_threshold,
            ),
            "number of detections": TensorMeta(
                name="number of detections",
                description="How many of the rows above hold detections.",
            ),
        }
        order = info.output_names or OUTPUT_NAMES
        return ModelMetadata(
            name=info.name,
            description=info.description,
            version=info.version,
            author=info.author,
            license=info.license,
            inputs=(image,),
            outputs=tuple(by_name[n] for n in order),
            output_tensor_groups=(TensorGroup(GROUP, ("location", "category", "score")),),
        )

    def package(
        self,
        config: PackageConfig,
        loaded: LoadedModel,
        warn: Callable[[str], None],
        step: Callable[[str], None],
    ) -> PackageResult | None:
        from ..detection.package import package_detector

        return package_detector(self, config, loaded, warn, step)

    def verify_output(
        self,
        out: Path,
        report: Mapping[str, Any],
        *,
        reference: str | Path | None,
        data: str | Path | None,
        samples: int | None,
        trust_model: bool,
        step: Callable[[str], None],
        warn: Callable[[str], None],
    ) -> TaskChecks | None:
        from ..detection.verify import verify_detector_output

        return verify_detector_output(
            out,
            report,
            reference=reference,
            data=data,
            samples=samples,
            trust_model=trust_model,
            step=step,
            warn=warn,
        )

    def golden_inputs(self, out: Path, model: bytes) -> GoldenInputs | None:
        from ..detection.verify import golden_detection_inputs

        return golden_detection_inputs(out, model)

    def golden_checker(self, golden_dir: Path) -> GoldenChecker:
        from ..detection.verify import read_checker

        return read_checker(golden_dir)
