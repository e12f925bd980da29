"""TFLite metadata: edgesdk's own writer and reader of the ``M001`` metadata schema.

Write metadata into a model with :func:`populate`, read it back with :func:`read`.
:func:`build_metadata_buffer` / :func:`parse_metadata_buffer` work on the bare
metadata flatbuffer; :func:`to_json` gives a plain dict for ``edgesdk inspect --json``.
No TensorFlow import is needed; only ``flatbuffers``, ``numpy`` and the model schema
bindings shipped with ``ai-edge-litert``.
"""

from __future__ import annotations

from edgesdk.metadata.model import (
    METADATA_NAME,
    populate,
    read,
    read_associated_files,
)
from edgesdk.metadata.schema import (
    build_metadata_buffer,
    min_parser_version,
    parse_metadata_buffer,
)
from edgesdk.metadata.types import (
    AssociatedFile,
    BoundingBox,
    FileType,
    ModelMetadata,
    TensorGroup,
    TensorMeta,
    to_json,
)

__all__ = [
    "METADATA_NAME",
    "AssociatedFile",
    "BoundingBox",
    "TensorGroup",
    "FileType",
    "ModelMetadata",
    "TensorMeta",
    "build_metadata_buffer",
    "min_parser_version",
    "parse_metadata_buffer",
    "populate",
    "read",
    "read_associated_files",
    "to_json",
]
