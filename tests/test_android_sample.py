"""`android_sample/` is exactly what the current templates render for its own model.

The committed sample's model and golden vectors are inputs; every other file is
re-rendered and compared byte for byte. After a template change, re-run
``python scripts/update_android_sample.py`` (or set ``EDGESDK_UPDATE_SNAPSHOTS=1``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from edgesdk import metadata
from edgesdk.codegen import android_context, generate_android
from edgesdk.demo import DEMO_CLASS_NAME, DEMO_PACKAGE
from edgesdk.verify.host import TFLiteRunner

SAMPLE = Path(__file__).resolve().parents[1] / "android_sample"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_android_sample_matches_a_fresh_render(tmp_path):
    model = (SAMPLE / "app/src/main/assets/model.tflite").read_bytes()
    meta = metadata.read(model)
    assert meta is not None, "the sample's model lost its metadata"
    labels = meta.outputs[0].associated_files[0].content.decode("utf-8").splitlines()
    runner = TFLiteRunner(model)
    ctx = android_context(
        model_name=meta.name,
        labels=tuple(labels),
        input_shape=tuple(runner.input.shape[1:]),
        input_dtype=runner.input.dtype,
        input_quant=(runner.input.scale, runner.input.zero_point),
        output_dtype=runner.output.dtype,
        output_quant=(runner.output.scale, runner.output.zero_point),
        mean=meta.inputs[0].mean,
        std=meta.inputs[0].std,
        class_name=DEMO_CLASS_NAME,
        android_package=DEMO_PACKAGE,
        author=meta.author,
        version=meta.version,
    )
    golden = tmp_path / "golden"
    shutil.copytree(SAMPLE / "app/src/androidTest/assets/golden", golden)
    gen = generate_android(ctx, model, tmp_path / "render", golden_dir=golden)
    fresh, committed = _files(gen.android), _files(SAMPLE)
    if fresh != committed and os.environ.get("EDGESDK_UPDATE_SNAPSHOTS") == "1":
        shutil.rmtree(SAMPLE)
        shutil.copytree(gen.android, SAMPLE)
        committed = _files(SAMPLE)
    assert sorted(fresh) == sorted(committed), "files differ; run scripts/update_android_sample.py"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"stale android_sample/ files: {changed}; run scripts/update_android_sample.py"
