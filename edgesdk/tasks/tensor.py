"""Generic tensors: any single-input model that is not image-like (e.g. ``[1, N]`` features).

Outputs that look like a score vector still get labels; everything else gets generic
feature metadata.
"""

from __future__ import annotations

from ..metadata import AssociatedFile, FileType, ModelMetadata, TensorMeta
from ..models import LoadedModel
from . import register
from .base import MetadataInputs, Task


@register("tensor")
class GenericTensor(Task):
    has_labels = True

    def matches(self, loaded: LoadedModel) -> bool:
        return len(loaded.inputs) == 1

    def num_classes(self, loaded: LoadedModel) -> int | None:
        out = loaded.outputs[0].shape if len(loaded.outputs) == 1 else ()
        return out[-1] if len(out) == 2 else None

    def metadata(self, loaded: LoadedModel, info: MetadataInputs) -> ModelMetadata:
        features = TensorMeta(
            name="features",
            description=f"Input tensor of shape {list(loaded.inputs[0].shape)}, "
            "normalized as (value - mean) / std.",
            content="feature",
            mean=info.mean,
            std=info.std,
        )
        outputs = []
        for i, spec in enumerate(loaded.outputs):
            files: tuple[AssociatedFile, ...] = ()
            if info.labels and i == 0 and self.num_classes(loaded):
                files = (
                    AssociatedFile(
                        name="labels.txt",
                        description="Labels for the output values, one per line.",
                        type=FileType.TENSOR_AXIS_LABELS,
                        content=("\n".join(info.labels) + "\n").encode("utf-8"),
                    ),
                )
            outputs.append(
                TensorMeta(
                    name="output" if len(loaded.outputs) == 1 else f"output_{i}",
                    description=f"Output tensor of shape {list(spec.shape)}.",
                    content="feature",
                    associated_files=files,
                )
            )
        return ModelMetadata(
            name=info.name,
            description=info.description,
            version=info.version,
            author=info.author,
            license=info.license,
            inputs=(features,),
            outputs=tuple(outputs),
        )
