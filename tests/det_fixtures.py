"""Session fixtures of the object-detector tests, shared by every test file through conftest:
a tiny detector trained with the CLI on drawn shapes (MobileNetV2 at the default --alpha,
0.35; 96x96), and two
package folders with apps and golden detections (float32 with hostile labels; int8)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgesdk.detection.data import draw_shapes, write_coco

from .helpers import run_cli

SIZE = 96
HOSTILE = ('quote " ${x} */ \\ end', "unicode é 中文 🎉 \u202eover", "$dollar // \\u0041 \t tab")


@pytest.fixture(scope="session")
def det_data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("det_data")
    return {
        "train": write_coco(draw_shapes(200, SIZE, seed=0), root / "train"),
        "eval": write_coco(draw_shapes(32, SIZE, seed=1), root / "eval"),
    }


@pytest.fixture(scope="session")
def detector_h5(det_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("detector") / "det.h5"
    t = time.perf_counter()
    res = run_cli(
        "train", det_data["train"], "--task", "object_detector", "-o", out,
        "--image-size", SIZE, "--epochs", 12, "--batch-size", 16,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr + res.stdout
    print(f"\ndetector training (fixture, CLI): {time.perf_counter() - t:.1f}s")
    return out


@dataclass(frozen=True)
class Packaged:
    out: Path
    package: str
    class_name: str
    labels: tuple[str, ...]

    @property
    def tflite(self) -> Path:
        return self.out / "model.tflite"


@pytest.fixture(scope="session")
def packaged(detector_h5, det_data, tmp_path_factory) -> dict[str, Packaged]:
    root = tmp_path_factory.mktemp("det_packaged")
    labels = root / "labels.txt"
    labels.write_text("\n".join(HOSTILE) + "\n", encoding="utf-8")
    specs = {
        "float": (["--labels", labels, "--eval-data", det_data["eval"]], HOSTILE),
        "int8": (
            ["--quantize", "int8", "--calibration-data", det_data["train"],
             "--eval-data", det_data["eval"]],
            ("circle", "square", "triangle"),
        ),
    }  # fmt: skip
    out = {}
    for name, (extra, names) in specs.items():
        pkg, cls = f"dev.edgesdk.det_{name}", f"Det{name.title()}Detector"
        t = time.perf_counter()
        res = run_cli(
            "package", detector_h5, "-o", root / name, "--android-package", pkg,
            "--class-name", cls, "--golden-cases", 6, *extra,
        )  # fmt: skip
        assert res.exit_code == 0, res.stderr + res.stdout
        print(f"\npackage {name}: {time.perf_counter() - t:.1f}s")
        out[name] = Packaged(root / name, pkg, cls, names)
    return out
