"""Image classifier: one ``N x H x W x C`` image input (C = 1 or 3), one score vector."""

from __future__ import annotations

from ..metadata import AssociatedFile, FileType, ModelMetadata, TensorMeta
from ..models import LoadedModel
from . import register
from .base import MetadataInputs, Task


@register("image_classifier")
class ImageClassifier(Task):
    has_labels = True

    def matches(self, loaded: LoadedModel) -> bool:
        return (
            len(loaded.inputs) == 1
            and loaded.inputs[0].is_image
            and len(loaded.outputs) == 1
            and len(loaded.outputs[0].shape) == 2
            and loaded.outputs[0].shape[-1] is not None
        )

    def num_classes(self, loaded: LoadedModel) -> int | None:
        return loaded.outputs[0].shape[-1]

    def metadata(self, loaded: LoadedModel, info: MetadataInputs) -> ModelMetadata:
        spec = loaded.inputs[0]
        _, h, w, c = spec.shape
        labels = "\n".join(info.labels) + "\n"
        image = TensorMeta(
            name="image",
            description=f"Input image, {w}x{h} {'RGB' if c == 3 else 'grayscale'}, "
            "normalized as (pixel - mean) / std.",
            content="image",
            color_space="RGB" if c == 3 else "GRAYSCALE",
            mean=info.mean,
            std=info.std,
            stats_min=info.input_min,
            stats_max=info.input_max,
        )
        probs = TensorMeta(
            name="probability",
            description=f"Scores of the {len(info.labels)} classes.",
            content="feature",
            stats_min=(0.0,),
            stats_max=(1.0,),
            associated_files=(
                AssociatedFile(
                    name="labels.txt",
                    description="Labels for the classes, one per line.",
                    type=FileType.TENSOR_AXIS_LABELS,
                    content=labels.encode("utf-8"),
                ),
            ),
        )
        return ModelMetadata(
            name=info.name,
            description=info.description,
            version=info.version,
            author=info.author,
            license=info.license,
            inputs=(image,),
            outputs=(probs,),
        )
