"""Tests of edgesdk.metadata against a real converted model and an independent oracle.

The oracle is tflite-support 0.4.4 (``MetadataDisplayer`` / ``MetadataPopulator`` and
its C++ ``GetMinimumMetadataParserVersion``), installed with
``pip install --no-deps tflite-support==0.4.4``; its native module needs the system
library ``libusb-1.0-0``. Oracle tests skip only where no wheel of it exists.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import io
import json
import platform
import random
import sys
import zipfile
from types import ModuleType

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as tfl

from edgesdk.errors import MetadataError
from edgesdk.metadata import (
    METADATA_NAME,
    AssociatedFile,
    FileType,
    ModelMetadata,
    TensorMeta,
    build_metadata_buffer,
    min_parser_version,
    parse_metadata_buffer,
    populate,
    read,
    read_associated_files,
    to_json,
)

LABELS = "chat\nchien\noiseau 鳥 🐦\n".encode()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def tiny_keras() -> object:
    """A real tf_keras model: (1, 8, 8, 3) -> Conv2D -> GAP -> Dense(3, softmax)."""
    from edgesdk._tf import tf_keras

    keras = tf_keras()
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.layers.Input((8, 8, 3)),
            keras.layers.Conv2D(2, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.fixture(scope="session")
def tiny_model(tiny_keras: object) -> bytes:
    """``tiny_keras`` converted to a float TFLite model."""
    from edgesdk._tf import tf

    return bytes(tf().lite.TFLiteConverter.from_keras_model(tiny_keras).convert())


@pytest.fixture(scope="session")
def tiny_int8_model(tiny_keras: object) -> bytes:
    """``tiny_keras`` fully quantized to int8 (quantization parameters on every tensor)."""
    from edgesdk._tf import tf

    tf_ = tf()
    converter = tf_.lite.TFLiteConverter.from_keras_model(tiny_keras)
    converter.optimizations = [tf_.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(1)
    converter.representative_dataset = lambda: (
        [rng.random((1, 8, 8, 3), dtype=np.float32)] for _ in range(8)
    )
    converter.target_spec.supported_ops = [tf_.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf_.int8
    converter.inference_output_type = tf_.int8
    return bytes(converter.convert())


def _oracle_wheel_exists() -> bool:
    return (
        sys.platform.startswith("linux")
        and platform.machine() == "x86_64"
        and (sys.version_info[:2] <= (3, 11))
    )


@pytest.fixture(scope="session")
def oracle() -> ModuleType:
    """tflite-support's metadata module; skip only where no wheel of it exists."""
    try:
        importlib.metadata.version("tflite-support")
    except importlib.metadata.PackageNotFoundError:
        if _oracle_wheel_exists():
            pytest.fail(
                "tflite-support (the metadata oracle) is not installed: "
                "pip install --no-deps tflite-support==0.4.4 (and apt-get install libusb-1.0-0)"
            )
        pytest.skip("tflite-support 0.4.4 has no wheel for this Python / platform")
    from tensorflow_lite_support.metadata.python import metadata

    return metadata


@pytest.fixture(scope="session")
def parser_version(oracle: ModuleType) -> object:
    """The oracle's C++ GetMinimumMetadataParserVersion (it also verifies the buffer)."""
    from tensorflow_lite_support.metadata.cc.python import _pywrap_metadata_version

    return _pywrap_metadata_version.GetMinimumMetadataParserVersion


def image_meta(color_space: str = "RGB") -> ModelMetadata:
    channels = 3 if color_space == "RGB" else 1
    return ModelMetadata(
        name="Tiny classifier",
        description="Classifies 8x8 images into three classes.",
        version="v1.2",
        author="edgesdk tests",
        license="Apache-2.0",
        inputs=(
            TensorMeta(
                name="image",
                description="Input image to be classified.",
                content="image",
                color_space=color_space,  # type: ignore[arg-type]
                mean=(127.5,) * channels,
                std=(127.5,) * channels,
                stats_min=(0.0,) * channels,
                stats_max=(255.0,) * channels,
            ),
        ),
        outputs=(
            TensorMeta(
                name="probability",
                description="Probabilities of the 3 labels respectively.",
                content="feature",
                stats_min=(0.0,),
                stats_max=(1.0,),
                associated_files=(
                    AssociatedFile(
                        name="labels.txt",
                        description="Labels for objects that the model can recognize.",
                        type=FileType.TENSOR_AXIS_LABELS,
                        content=LABELS,
                    ),
                ),
            ),
        ),
    )


def _file_json(f: AssociatedFile) -> dict[str, object]:
    out: dict[str, object] = {"name": f.name}
    if f.description:
        out["description"] = f.description
    out["type"] = f.type.value
    if f.locale:
        out["locale"] = f.locale
    return out


def _tensor_json(t: TensorMeta) -> dict[str, object]:
    """What the oracle's get_metadata_json() should print for ``t``."""
    out: dict[str, object] = {"name": t.name}
    if t.description:
        out["description"] = t.description
    if t.dimension_names is not None:
        out["dimension_names"] = list(t.dimension_names)
    if t.content is not None:
        if t.content == "image":
            props: dict[str, object] = {}
            if t.color_space is not None:
                props["color_space"] = t.color_space
            content: dict[str, object] = {
                "content_properties_type": "ImageProperties",
                "content_properties": props,
            }
        else:
            content = {"content_properties_type": "FeatureProperties", "content_properties": {}}
        if t.content_range is not None:
            content["range"] = {"min": t.content_range[0], "max": t.content_range[1]}
        out["content"] = content
    if t.mean is not None:
        out["process_units"] = [
            {
                "options_type": "NormalizationOptions",
                "options": {"mean": list(t.mean), "std": list(t.std or ())},
            }
        ]
    if t.stats_min is not None or t.stats_max is not None:
        stats: dict[str, object] = {}
        if t.stats_max is not None:
            stats["max"] = list(t.stats_max)
        if t.stats_min is not None:
            stats["min"] = list(t.stats_min)
        out["stats"] = stats
    if t.associated_files:
        out["associated_files"] = [_file_json(f) for f in t.associated_files]
    return out


def expected_oracle_json(meta: ModelMetadata) -> dict[str, object]:
    out: dict[str, object] = {"name": meta.name}
    for field in ("description", "version"):
        if getattr(meta, field):
            out[field] = getattr(meta, field)
    sg: dict[str, object] = {}
    if meta.subgraph_name:
        sg["name"] = meta.subgraph_name
    if meta.subgraph_description:
        sg["description"] = meta.subgraph_description
    sg["input_tensor_metadata"] = [_tensor_json(t) for t in meta.inputs]
    sg["output_tensor_metadata"] = [_tensor_json(t) for t in meta.outputs]
    out["subgraph_metadata"] = [sg]
    for field in ("author", "license"):
        if getattr(meta, field):
            out[field] = getattr(meta, field)
    if meta.associated_files:
        out["associated_files"] = [_file_json(f) for f in meta.associated_files]
    out["min_parser_version"] = min_parser_version(meta)
    return out


def run(model: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))


def metadata_entries(model: bytes) -> list[str]:
    m = tfl.Model.GetRootAs(model, 0)
    return [m.Metadata(i).Name().decode() for i in range(m.MetadataLength())]


# --------------------------------------------------------------------------- round trips


def test_populate_image_metadata_reads_back_with_our_reader(tiny_model: bytes) -> None:
    meta = image_meta()
    populated = populate(tiny_model, meta)
    assert read(populated) == dataclasses.replace(meta, min_parser_version="1.0.0")
    assert read_associated_files(populated) == {"labels.txt": LABELS}
    # the bare buffer round-trips too, without file contents
    parsed = parse_metadata_buffer(build_metadata_buffer(meta))
    assert parsed.outputs[0].associated_files[0].content == b""
    assert parsed.min_parser_version == "1.0.0"


def test_oracle_reads_everything_we_write(tiny_model: bytes, oracle: ModuleType) -> None:
    meta = image_meta()
    populated = populate(tiny_model, meta)
    displayer = oracle.MetadataDisplayer.with_model_buffer(populated)
    got = json.loads(displayer.get_metadata_json())
    want = expected_oracle_json(meta)
    # field by field first, for a readable failure, then the whole document
    for key in want:
        assert got.get(key) == want[key], key
    inputs = got["subgraph_metadata"][0]["input_tensor_metadata"]
    assert inputs[0]["content"]["content_properties"]["color_space"] == "RGB"
    assert inputs[0]["process_units"][0]["options"] == {"mean": [127.5] * 3, "std": [127.5] * 3}
    assert inputs[0]["stats"] == {"max": [255.0] * 3, "min": [0.0] * 3}
    outputs = got["subgraph_metadata"][0]["output_tensor_metadata"]
    assert outputs[0]["content"]["content_properties_type"] == "FeatureProperties"
    assert outputs[0]["associated_files"][0]["type"] == "TENSOR_AXIS_LABELS"
    assert got == want
    assert displayer.get_packed_associated_file_list() == ["labels.txt"]
    assert displayer.get_associated_file_buffer("labels.txt") == LABELS
    assert displayer.get_metadata_buffer() == build_metadata_buffer(meta)


def test_oracle_populator_output_reads_back_with_our_reader(
    tiny_model: bytes, oracle: ModuleType
) -> None:
    meta = image_meta()
    populator = oracle.MetadataPopulator.with_model_buffer(tiny_model)
    populator.load_metadata_buffer(build_metadata_buffer(meta))
    populator.load_associated_file_buffers({"labels.txt": LABELS})
    populator.populate()
    theirs = populator.get_model_buffer()
    assert read(theirs) == dataclasses.replace(meta, min_parser_version="1.0.0")
    assert read_associated_files(theirs) == {"labels.txt": LABELS}


@pytest.mark.parametrize("file_type", list(FileType))
def test_min_parser_version_matches_oracle(file_type: FileType, parser_version: object) -> None:
    meta = dataclasses.replace(
        image_meta(),
        associated_files=(AssociatedFile("extra.bin", type=file_type, locale="en"),),
    )
    buf = build_metadata_buffer(meta)
    expected = {FileType.VOCABULARY: "1.0.1", FileType.SCANN_INDEX_FILE: "1.4.0"}
    assert min_parser_version(meta) == expected.get(file_type, "1.0.0")
    assert parser_version(buf) == min_parser_version(meta)  # type: ignore[operator]
    assert parse_metadata_buffer(buf).min_parser_version == min_parser_version(meta)
    assert parse_metadata_buffer(buf).associated_files[0].type is file_type


def test_populated_model_runs_identically(tiny_model: bytes) -> None:
    populated = populate(tiny_model, image_meta())
    x = np.random.default_rng(0).random((1, 8, 8, 3), dtype=np.float32)
    before, after = run(tiny_model, x), run(populated, x)
    assert before.shape == (1, 3)
    np.testing.assert_array_equal(before, after)
    # every other metadata entry is kept, ours is added once
    assert metadata_entries(populated) == [*metadata_entries(tiny_model), METADATA_NAME]


@pytest.mark.filterwarnings("ignore:Statistics for quantized inputs")
def test_quantized_model_runs_identically(tiny_int8_model: bytes) -> None:
    populated = populate(tiny_int8_model, image_meta())
    x = np.random.default_rng(2).integers(-128, 128, (1, 8, 8, 3), dtype=np.int8)
    np.testing.assert_array_equal(run(tiny_int8_model, x), run(populated, x))
    assert read(populated) == dataclasses.replace(image_meta(), min_parser_version="1.0.0")


def test_buffers_stay_16_byte_aligned(tiny_model: bytes) -> None:
    populated = populate(tiny_model, image_meta())
    m = tfl.Model.GetRootAs(populated, 0)
    for i in range(m.BuffersLength()):
        buffer = m.Buffers(i)
        if buffer.DataLength():
            assert buffer._tab.Vector(buffer._tab.Offset(4)) % 16 == 0, i


def test_grayscale(tiny_model: bytes, oracle: ModuleType) -> None:
    meta = image_meta("GRAYSCALE")
    populated = populate(tiny_model, meta)
    assert read(populated) == dataclasses.replace(meta, min_parser_version="1.0.0")
    got = json.loads(oracle.MetadataDisplayer.with_model_buffer(populated).get_metadata_json())
    tensor = got["subgraph_metadata"][0]["input_tensor_metadata"][0]
    assert tensor["content"]["content_properties"] == {"color_space": "GRAYSCALE"}
    assert tensor["process_units"][0]["options"] == {"mean": [127.5], "std": [127.5]}
    assert got == expected_oracle_json(meta)


def test_feature_tensors_and_optional_fields(tiny_model: bytes, oracle: ModuleType) -> None:
    meta = ModelMetadata(
        name="Regressor",
        inputs=(
            TensorMeta(
                name="features",
                content="feature",
                mean=(0.5, 1.0, -2.0),
                std=(0.25, 2.0, 4.0),
                dimension_names=("batch", "h", "w", "c"),
                content_range=(1, 3),
            ),
        ),
        outputs=(
            TensorMeta(
                name="scores",
                content="feature",
                stats_max=(1.0,),
                associated_files=(
                    AssociatedFile(
                        "labels_fr.txt",
                        type=FileType.TENSOR_AXIS_LABELS,
                        content=LABELS,
                        locale="fr",
                    ),
                ),
            ),
        ),
        associated_files=(
            AssociatedFile("README.md", "About the model", FileType.DESCRIPTIONS, b"# Tiny\n"),
        ),
        subgraph_name="main",
        subgraph_description="the only subgraph",
    )
    populated = populate(tiny_model, meta)
    assert read(populated) == dataclasses.replace(meta, min_parser_version="1.0.0")
    displayer = oracle.MetadataDisplayer.with_model_buffer(populated)
    assert json.loads(displayer.get_metadata_json()) == expected_oracle_json(meta)
    assert displayer.get_packed_associated_file_list() == ["README.md", "labels_fr.txt"]
    assert displayer.get_associated_file_buffer("README.md") == b"# Tiny\n"


def test_empty_optional_fields(tiny_model: bytes, oracle: ModuleType) -> None:
    meta = ModelMetadata(name="Bare", inputs=(TensorMeta("in"),), outputs=(TensorMeta("out"),))
    populated = populate(tiny_model, meta)
    got = read(populated)
    assert got == dataclasses.replace(meta, min_parser_version="1.0.0")
    assert got is not None and got.inputs[0].content is None and got.inputs[0].mean is None
    assert read_associated_files(populated) == {}  # no files: no zip appended
    displayer = oracle.MetadataDisplayer.with_model_buffer(populated)
    assert json.loads(displayer.get_metadata_json()) == {
        "name": "Bare",
        "subgraph_metadata": [
            {"input_tensor_metadata": [{"name": "in"}], "output_tensor_metadata": [{"name": "out"}]}
        ],
        "min_parser_version": "1.0.0",
    }
    assert displayer.get_packed_associated_file_list() == []


def test_image_without_color_space_and_unicode_text(tiny_model: bytes) -> None:
    meta = dataclasses.replace(
        image_meta(),
        name="Modèle 鳥",
        description="",
        inputs=(TensorMeta("image", "entrée", content="image"),),
    )
    assert read(populate(tiny_model, meta)) == dataclasses.replace(meta, min_parser_version="1.0.0")


def test_unpopulated_model_has_no_metadata(tiny_model: bytes) -> None:
    assert read(tiny_model) is None
    assert read_associated_files(tiny_model) == {}


def test_to_json_is_plain_json(tiny_model: bytes) -> None:
    got = read(populate(tiny_model, image_meta()))
    assert got is not None
    data = to_json(got)
    assert json.loads(json.dumps(data)) == data
    assert data["min_parser_version"] == "1.0.0"
    assert data["inputs"][0]["color_space"] == "RGB"
    assert data["inputs"][0]["mean"] == [127.5] * 3
    assert data["outputs"][0]["associated_files"] == [
        {
            "name": "labels.txt",
            "description": "Labels for objects that the model can recognize.",
            "type": "TENSOR_AXIS_LABELS",
            "locale": None,
            "size": len(LABELS),
        }
    ]


# --------------------------------------------------------------------------- determinism


def test_output_is_byte_identical(tiny_model: bytes) -> None:
    first = populate(tiny_model, image_meta())
    second = populate(bytes(tiny_model), image_meta())
    assert first == second
    assert build_metadata_buffer(image_meta()) == build_metadata_buffer(image_meta())
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        (info,) = zf.infolist()
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_STORED
        # offsets count from the start of the model file, like the published populator
        assert info.header_offset > 0


def test_repopulate_replaces_metadata_and_zip(tiny_model: bytes) -> None:
    other = ModelMetadata(
        name="Other",
        inputs=(TensorMeta("in"),),
        outputs=(
            TensorMeta(
                "out",
                associated_files=(AssociatedFile("classes.txt", content=b"a\nb\nc\n"),),
            ),
        ),
    )
    once = populate(tiny_model, image_meta())
    twice = populate(once, other)
    assert twice == populate(tiny_model, other)
    assert metadata_entries(twice).count(METADATA_NAME) == 1
    assert read_associated_files(twice) == {"classes.txt": b"a\nb\nc\n"}
    assert twice.count(b"PK\x05\x06") == 1  # a single end-of-central-directory record
    got = read(twice)
    assert got is not None and got.name == "Other"
    # back again, and without files: the zip goes away entirely
    bare = ModelMetadata(name="Bare", inputs=(TensorMeta("in"),), outputs=(TensorMeta("out"),))
    assert read_associated_files(populate(twice, bare)) == {}
    assert populate(populate(twice, bare), image_meta()) == once


def test_same_file_on_two_tensors_is_packed_once(tiny_model: bytes) -> None:
    labels = AssociatedFile("labels.txt", content=LABELS)
    meta = dataclasses.replace(
        image_meta(),
        associated_files=(labels,),
    )
    populated = populate(tiny_model, meta)
    with zipfile.ZipFile(io.BytesIO(populated)) as zf:
        assert zf.namelist() == ["labels.txt"]


# --------------------------------------------------------------------------- errors


def test_conflicting_file_contents_are_refused(tiny_model: bytes) -> None:
    meta = dataclasses.replace(
        image_meta(), associated_files=(AssociatedFile("labels.txt", content=b"other\n"),)
    )
    with pytest.raises(MetadataError, match="labels.txt"):
        populate(tiny_model, meta)


def test_tensor_count_mismatch_is_refused(tiny_model: bytes) -> None:
    meta = dataclasses.replace(image_meta(), outputs=())
    with pytest.raises(MetadataError, match="every input and output"):
        populate(tiny_model, meta)


@pytest.mark.parametrize(
    "tensor",
    [
        TensorMeta("x", content="feature", color_space="RGB"),
        TensorMeta("x", content="image", mean=(1.0,)),
        TensorMeta("x", content="image", mean=(1.0, 2.0), std=(1.0,)),
        TensorMeta("x", content="image", mean=(float("nan"),), std=(1.0,)),
        TensorMeta("x", content="image", mean=(1.0,), std=(0.0,)),
        TensorMeta("x", content="image", color_space="BGR"),  # type: ignore[arg-type]
        TensorMeta("x", content="audio"),  # type: ignore[arg-type]
        TensorMeta("x", stats_max=(1e40,)),
        TensorMeta("x", associated_files=(AssociatedFile("../labels.txt"),)),
        TensorMeta("x", associated_files=(AssociatedFile(""),)),
        TensorMeta("x", associated_files=(AssociatedFile("a", type="BOGUS"),)),  # type: ignore[arg-type]
        TensorMeta("x", associated_files=(AssociatedFile("a", content="text"),)),  # type: ignore[arg-type]
    ],
)
def test_invalid_metadata_is_refused(tensor: TensorMeta) -> None:
    with pytest.raises(MetadataError):
        build_metadata_buffer(ModelMetadata(name="m", inputs=(tensor,)))


@pytest.mark.parametrize(
    "garbage",
    [b"", b"garbage", b"\x00" * 64, b"\x10\x00\x00\x00TFL3" + b"\xff" * 40, b"PK\x03\x04" * 20],
)
def test_garbage_models_raise_metadata_error(garbage: bytes) -> None:
    with pytest.raises(MetadataError):
        populate(garbage, image_meta())
    with pytest.raises(MetadataError):
        read(garbage)


@pytest.mark.parametrize("garbage", [b"", b"junk", b"\x00" * 64, b"\x08\x00\x00\x00M001"])
def test_garbage_metadata_buffers_raise_metadata_error(garbage: bytes) -> None:
    with pytest.raises(MetadataError):
        parse_metadata_buffer(garbage)


def test_truncated_or_corrupted_metadata_never_crashes() -> None:
    buf = build_metadata_buffer(image_meta())
    candidates = [buf[:n] for n in range(len(buf))]
    rng = random.Random(0)
    for _ in range(300):
        corrupted = bytearray(buf)
        for _ in range(rng.randint(1, 4)):
            corrupted[rng.randrange(8, len(buf))] = rng.randrange(256)
        candidates.append(bytes(corrupted))
    for candidate in candidates:
        try:
            parse_metadata_buffer(candidate)
        except MetadataError:
            pass


def test_external_buffers_are_detected(tiny_model: bytes) -> None:
    model_t = tfl.ModelT.InitFromPackedBuf(tiny_model, 0)
    index = next(i for i, b in enumerate(model_t.buffers) if b.data is not None and len(b.data))
    model_t.buffers[index].data = None
    model_t.buffers[index].offset = len(tiny_model)
    model_t.buffers[index].size = 16
    builder = flatbuffers.Builder(1024)
    builder.Finish(model_t.Pack(builder), file_identifier=b"TFL3")
    with pytest.raises(MetadataError, match="outside its flatbuffer"):
        populate(bytes(builder.Output()), image_meta())
