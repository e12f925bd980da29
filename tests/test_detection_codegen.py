"""The object detector's templates, without a toolchain: the overlay replaces the common
wrapper, sample screen, strings and golden test; hostile labels stay inside Kotlin strings; the
rendered files match the snapshot in ``tests/snapshots/detector_uint8/`` (review it like code;
after an intended change run ``EDGESDK_UPDATE_SNAPSHOTS=1 pytest tests/test_detection_codegen.py``).
Compiling and running the result (tiers 2 and 3) is in ``tests/test_detection.py``."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from edgesdk.codegen import android_context, generate_android
from edgesdk.errors import CodegenError

SNAP = Path(__file__).resolve().parent / "snapshots" / "detector_uint8"
UPDATE = os.environ.get("EDGESDK_UPDATE_SNAPSHOTS") == "1"
FAKE_MODEL = b"\x1c\x00\x00\x00TFL3" + bytes(range(24))
VALUES = {
    "output_location": 2,
    "output_category": 0,
    "output_score": 3,
    "output_count": 1,
    "max_detections": 10,
    "score_threshold": 0.05000000074505806,
}


def _render(tmp_path: Path, labels=("cat", "dog")) -> Path:
    ctx = android_context(
        model_name="pets detector",
        labels=labels,
        input_shape=(1, 128, 128, 3),
        input_dtype="uint8",
        input_quant=(1.0, 0),
        output_dtype="float32",
        class_name="PetsDetector",
        android_package="dev.edgesdk.pets",
        edgesdk_version="0.0.0-test",
    )
    gen = generate_android(
        ctx, FAKE_MODEL, tmp_path, overlay="object_detector", extra_context=VALUES
    )
    return gen.out_dir


def test_overlay_replaces_task_files(tmp_path: Path) -> None:
    out = _render(tmp_path)
    wrapper = (out / "kotlin" / "PetsDetector.kt").read_text(encoding="utf-8")
    assert "fun detect(" in wrapper and "fun classify(" not in wrapper
    assert "const val OUTPUT_LOCATION: Int = 2" in wrapper
    app = out / "android" / "app" / "src"
    main = (app / "main" / "java" / "dev" / "edgesdk" / "pets" / "MainActivity.kt").read_text()
    assert "drawRect" in main and "detect(bitmap" in main
    golden = app / "androidTest" / "java" / "dev" / "edgesdk" / "pets" / "GoldenVectors.kt"
    assert '"EDGD"' in golden.read_text()
    suite = (golden.parent / "GoldenSuite.kt").read_text(encoding="utf-8")
    assert "detector.detect(bitmap, golden.maxResults, golden.scoreThreshold)" in suite
    assert "PetsDetector.create(appContext, options)" in suite and "fun classify" not in suite
    assert "detection_label" in (app / "main" / "res" / "values" / "strings.xml").read_text()
    # the common tree is still there (Gradle project, manifest, layout)
    assert (out / "android" / "app" / "build.gradle.kts").is_file()
    assert (app / "main" / "res" / "layout" / "activity_main.xml").is_file()


def test_unknown_overlay_is_refused(tmp_path: Path) -> None:
    ctx = android_context(model_name="m", labels=("a",), input_shape=(1, 8, 8, 3))
    with pytest.raises(CodegenError, match="no templates"):
        generate_android(ctx, FAKE_MODEL, tmp_path, overlay="segmenter")


def test_hostile_labels_stay_in_strings(tmp_path: Path) -> None:
    hostile = ('q " ${x} */', "new\nline", "\\u0041 $y", "\u2028 sep")
    wrapper = (_render(tmp_path, hostile) / "kotlin" / "PetsDetector.kt").read_text()
    assert not re.search(r"(?<!\\)\$\{x\}", wrapper) and "\nline" not in wrapper
    assert r'"q \" \${x} */"' in wrapper


#: The files the overlay renders (the common tree has its own snapshots).
OVERLAY_FILES = (
    "kotlin/PetsDetector.kt",
    "android/app/src/main/java/dev/edgesdk/pets/PetsDetector.kt",
    "android/app/src/main/java/dev/edgesdk/pets/MainActivity.kt",
    "android/app/src/main/res/values/strings.xml",
    "android/app/src/androidTest/java/dev/edgesdk/pets/GoldenVectors.kt",
    "android/app/src/androidTest/java/dev/edgesdk/pets/GoldenInstrumentation.kt",
    "android/app/src/androidTest/java/dev/edgesdk/pets/GoldenSuite.kt",
)


def test_snapshot(tmp_path: Path) -> None:
    out = _render(tmp_path)
    rendered = {rel: (out / rel).read_bytes() for rel in OVERLAY_FILES}
    if UPDATE:
        shutil.rmtree(SNAP, ignore_errors=True)
        for rel, data in rendered.items():
            target = SNAP / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    stored = {
        str(p.relative_to(SNAP)): p.read_bytes() for p in sorted(SNAP.rglob("*")) if p.is_file()
    }
    assert sorted(rendered) == sorted(stored)
    changed = [rel for rel in rendered if rendered[rel] != stored[rel]]
    assert not changed, f"differs from tests/snapshots/detector_uint8: {changed}"
