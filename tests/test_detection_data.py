"""Object detection without TensorFlow: data sets and their errors, anchors and box encoding,
mAP, and the detector metadata fields (written by us, read back by us and by tflite-support)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgesdk.detection import anchors as an
from edgesdk.detection.data import draw_shapes, load_detection_data, write_coco
from edgesdk.detection.metrics import mean_average_precision
from edgesdk.detection.postprocess import Detections, PostProcessOptions, detect
from edgesdk.errors import DataError, MetadataError
from edgesdk.metadata import (
    AssociatedFile,
    BoundingBox,
    FileType,
    ModelMetadata,
    TensorGroup,
    TensorMeta,
    build_metadata_buffer,
    min_parser_version,
    parse_metadata_buffer,
)

from .helpers import assert_user_error, run_cli


@pytest.fixture()
def coco(tmp_path: Path) -> Path:
    return write_coco(draw_shapes(4, 64, seed=3), tmp_path / "coco")


def _edit(folder: Path, fn) -> None:
    doc = json.loads((folder / "labels.json").read_text())
    fn(doc)
    (folder / "labels.json").write_text(json.dumps(doc))


def test_coco_round_trip(coco: Path) -> None:
    original = draw_shapes(4, 64, seed=3)
    data = load_detection_data(coco)
    assert data.class_names == ("circle", "square", "triangle")
    assert len(data) == 4
    for a, b in zip(original.samples, data.samples, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-6)
        np.testing.assert_array_equal(a.classes, b.classes)


def test_voc_folder(tmp_path: Path) -> None:
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    Image.new("RGB", (40, 20), (10, 20, 30)).save(tmp_path / "JPEGImages" / "a.jpg")
    (tmp_path / "Annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>40</width><height>20</height>"
        "<depth>3</depth></size><object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
        "<xmax>20</xmax><ymax>10</ymax></bndbox></object><object><name>cat</name><bndbox>"
        "<xmin>21</xmin><ymin>11</ymin><xmax>40</xmax><ymax>20</ymax></bndbox></object>"
        "</annotation>"
    )
    data = load_detection_data(tmp_path)
    assert data.class_names == ("cat", "dog")
    s = data.samples[0]
    np.testing.assert_allclose(s.boxes, [[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]], atol=1e-6)
    assert s.classes.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: d["annotations"][0].update(category_id=77), "unknown category id"),
        (lambda d: d["annotations"][0].update(bbox=[50, 50, 30, 30]), "outside its 64x64 image"),
        (lambda d: d["annotations"][0].update(bbox=[5, 5, 0, 4]), "empty box"),
        (lambda d: d["annotations"][0].update(image_id=999), "unknown image id"),
        (lambda d: d["images"][0].update(file_name="missing.png"), "does not exist"),
        (lambda d: d.update(annotations=[]), "holds no boxes"),
        (lambda d: d.update(images=[], annotations=[]), "holds no images"),
        (lambda d: d.update(categories=[]), "no categories"),
        (lambda d: d["annotations"][0].pop("bbox"), "malformed"),
    ],
)
def test_bad_coco_data_is_a_clear_error(coco: Path, edit, fragment: str) -> None:
    _edit(coco, edit)
    with pytest.raises(DataError) as err:
        load_detection_data(coco)
    assert fragment in str(err.value)


def test_bad_voc_and_unknown_layout(tmp_path: Path) -> None:
    (tmp_path / "voc" / "Annotations").mkdir(parents=True)
    (tmp_path / "voc" / "Annotations" / "a.xml").write_text("<annotation><object>")
    with pytest.raises(DataError, match="not a readable Pascal VOC"):
        load_detection_data(tmp_path / "voc")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="not a detection data set"):
        load_detection_data(tmp_path / "plain")
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = "gone.jpg"
    (tmp_path / "voc" / "Annotations" / "a.xml").write_bytes(ET.tostring(root))
    with pytest.raises(DataError, match="holds no boxes|does not exist"):
        load_detection_data(tmp_path / "voc")


def test_cli_train_bad_data_exits_1_without_traceback(coco: Path, tmp_path: Path) -> None:
    _edit(coco, lambda d: d["annotations"][0].update(category_id=42))
    res = run_cli("train", coco, "--task", "object_detector", "-o", tmp_path / "d.h5")
    assert_user_error(res, "unknown category id", "category_id=42")
    assert not (tmp_path / "d.h5").exists()
    res = run_cli("train", tmp_path / "nope", "--task", "object_detector", "-o", tmp_path / "d.h5")
    assert_user_error(res, "does not exist")
    res = run_cli("train", coco, "--task", "segmenter", "-o", tmp_path / "d.h5")
    assert_user_error(res, "unknown task", "object_detector")


def test_anchors_encode_decode_and_targets() -> None:
    spec = an.AnchorSpec(96)
    anchors = an.generate(spec)
    assert anchors.shape == (6 * 6 * 4 + 3 * 3 * 4, 4)
    rng = np.random.default_rng(0)
    y0, x0 = rng.uniform(0, 0.5, (2, len(anchors)))
    boxes = np.stack([y0, x0, y0 + rng.uniform(0.1, 0.5, len(anchors)),
                      x0 + rng.uniform(0.1, 0.5, len(anchors))], 1)  # fmt: skip
    np.testing.assert_allclose(an.decode(an.encode(boxes, anchors), anchors), boxes, atol=1e-5)
    gt = np.array([[0.1, 0.1, 0.4, 0.4], [0.5, 0.55, 0.95, 0.9]], np.float32)
    box_t, cls_t = an.targets(anchors, gt, np.array([2, 0]), 3)
    pos = box_t[:, 4] == 1
    assert pos.sum() >= 2 and set(cls_t[pos, :3].argmax(1)) == {0, 2}
    # every box claims at least its best anchor; decoding the targets gives the boxes back
    decoded = an.decode(box_t[pos, :4], anchors[pos])
    assert np.min(an.iou_matrix(decoded, gt).max(axis=1)) > 0.999
    with pytest.raises(Exception, match="anchors must be"):
        an.check_anchors(np.zeros((5, 3)))
    with pytest.raises(Exception, match="does not match"):
        an.check_anchors(anchors, 7)


def test_numpy_postprocess_and_map() -> None:
    anchors = an.generate(an.AnchorSpec(64))
    gt = np.array([[0.1, 0.1, 0.5, 0.5]], np.float32)
    enc = np.zeros((len(anchors), 4), np.float32)
    scores = np.zeros((len(anchors), 2), np.float32)
    best = int(an.iou_matrix(an.corners(anchors), gt)[:, 0].argmax())
    enc[best] = an.encode(gt, anchors[best : best + 1])[0]
    scores[best, 1] = 0.9
    det = detect(enc, scores, anchors, PostProcessOptions())
    assert len(det) == 1 and det.classes[0] == 1
    np.testing.assert_allclose(det.boxes[0], gt[0], atol=1e-5)
    perfect = mean_average_precision([det], [gt], [np.array([1])], 2)
    assert perfect == {"map50": 1.0, "map": 1.0}
    wrong = mean_average_precision([det], [gt], [np.array([0])], 2)
    assert wrong["map50"] == 0.0
    shifted = Detections(det.boxes + 0.02, det.classes, det.scores)  # IoU 0.82
    partial = mean_average_precision([shifted], [gt], [np.array([1])], 2)
    assert partial["map50"] == 1.0 and 0.0 < partial["map"] < 1.0


def _detector_meta(groups=True) -> ModelMetadata:
    labels = AssociatedFile("labels.txt", "l", FileType.TENSOR_VALUE_LABELS, b"a\nb\n")
    outs = (
        TensorMeta("location", content="bounding_box", bounding_box=BoundingBox(),
                   content_range=(2, 2)),
        TensorMeta("category", content="feature", content_range=(2, 2), associated_files=(labels,)),
        TensorMeta("score", content="feature", content_range=(2, 2), score_threshold=0.25),
        TensorMeta("number of detections"),
    )  # fmt: skip
    return ModelMetadata(
        "det",
        inputs=(TensorMeta("image", content="image", color_space="RGB", mean=(0.0,), std=(1.0,)),),
        outputs=outs,
        output_tensor_groups=(TensorGroup("detection_result", ("location", "category", "score")),)
        if groups
        else (),
    )


def test_detector_metadata_round_trip_and_parser_version() -> None:
    meta = _detector_meta()
    buf = build_metadata_buffer(meta)
    back = parse_metadata_buffer(buf)
    assert back.outputs[0].bounding_box == BoundingBox((1, 0, 3, 2), "BOUNDARIES", "RATIO")
    assert back.outputs[0].content == "bounding_box" and back.outputs[0].content_range == (2, 2)
    assert back.outputs[2].score_threshold == pytest.approx(0.25)
    assert back.outputs[1].associated_files[0].type is FileType.TENSOR_VALUE_LABELS
    assert back.output_tensor_groups == meta.output_tensor_groups
    assert back.min_parser_version == "1.2.0"
    assert min_parser_version(_detector_meta(groups=False)) == "1.0.0"
    # the oracle's own computation of the minimum parser version agrees
    pywrap = pytest.importorskip(
        "tensorflow_lite_support.metadata.cc.python._pywrap_metadata_version"
    )
    assert pywrap.GetMinimumMetadataParserVersion(buf) == "1.2.0"
    assert (
        pywrap.GetMinimumMetadataParserVersion(build_metadata_buffer(_detector_meta(groups=False)))
        == "1.0.0"
    )


def test_detector_metadata_validation() -> None:
    with pytest.raises(MetadataError, match="permutation"):
        build_metadata_buffer(
            ModelMetadata("m", outputs=(TensorMeta("b", content="bounding_box",
                                                   bounding_box=BoundingBox((0, 0, 1, 2))),))
        )  # fmt: skip
    with pytest.raises(MetadataError, match="bounding_box together"):
        build_metadata_buffer(
            ModelMetadata("m", outputs=(TensorMeta("b", content="bounding_box"),))
        )
    with pytest.raises(MetadataError, match="names tensors the outputs lack"):
        build_metadata_buffer(
            ModelMetadata("m", outputs=(TensorMeta("a"),),
                          output_tensor_groups=(TensorGroup("g", ("a", "zz")),))
        )  # fmt: skip
