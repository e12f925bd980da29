"""`edgesdk inspect` and the oracle reading what `package` wrote."""

from __future__ import annotations

import json

import pytest

from .helpers import assert_user_error, run_cli
from .test_metadata import oracle  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def packaged(trained_h5, shapes_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("i") / "out"
    labels = out.parent / "labels.txt"
    labels.write_text('circle\nsquare\ntriangle\n✚ cross "x"\n', encoding="utf-8")
    res = run_cli(
        "package",
        trained_h5,
        "-o",
        out,
        "--quantize",
        "int8",
        "--calibration-data",
        shapes_npz,
        "--labels",
        labels,
        "--mean",
        "127.5",
        "--std",
        "127.5",
        "--target",
        "none",
        "--model-version",
        "2.1",
    )
    assert res.exit_code == 0, res.stderr
    return out


def test_oracle_reads_packaged_model(packaged, oracle):  # noqa: F811
    d = oracle.MetadataDisplayer.with_model_buffer((packaged / "model.tflite").read_bytes())
    meta = json.loads(d.get_metadata_json())
    assert meta["name"] == "trained" and meta["version"] == "2.1"
    sub = meta["subgraph_metadata"][0]
    inp = sub["input_tensor_metadata"][0]
    assert inp["content"]["content_properties"]["color_space"] == "RGB"
    assert inp["process_units"][0]["options"] == {"mean": [127.5] * 3, "std": [127.5] * 3}
    assert inp["stats"] == {"max": [1.0] * 3, "min": [-1.0] * 3}
    out = sub["output_tensor_metadata"][0]
    assert out["associated_files"][0]["type"] == "TENSOR_AXIS_LABELS"
    assert d.get_packed_associated_file_list() == ["labels.txt"]
    assert (
        d.get_associated_file_buffer("labels.txt").decode("utf-8").splitlines()[3] == '✚ cross "x"'
    )
    assert meta["min_parser_version"] == "1.0.0"


def test_inspect_json(packaged):
    res = run_cli("inspect", packaged / "model.tflite", "--json")
    assert res.exit_code == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["inputs"][0]["shape"] == [1, 16, 16, 3] and info["inputs"][0]["dtype"] == "int8"
    assert info["inputs"][0]["scale"] > 0
    assert info["outputs"][0]["dtype"] == "int8"
    assert "CONV_2D" in info["operators"] and "FULLY_CONNECTED" in info["operators"]
    assert info["metadata"]["inputs"][0]["mean"] == [127.5] * 3
    assert info["associated_files"] == ["labels.txt"]
    assert info["size_bytes"] == (packaged / "model.tflite").stat().st_size


def test_inspect_human_table(packaged):
    res = run_cli("inspect", packaged / "model.tflite")
    assert res.exit_code == 0
    for frag in ("Tensors", "Operators", "CONV_2D", "Metadata", "labels.txt", "scale"):
        assert frag in res.stderr


def test_inspect_not_a_tflite(tmp_path):
    p = tmp_path / "x.tflite"
    p.write_bytes(b"hello world, not a model")
    assert_user_error(run_cli("inspect", p), "is not a TFLite model", "TFL3")
