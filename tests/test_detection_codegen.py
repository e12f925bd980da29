"""The object detector's templates: the overlay replaces the common wrapper, sample screen,
strings and golden test; hostile labels stay inside Kotlin strings; the rendered files match the
snapshots in ``tests/snapshots/detector_uint8/`` (Interpreter runtime) and
``tests/snapshots/detector_uint8_compiled_model/`` (review them like code; after an intended
change run ``EDGESDK_UPDATE_SNAPSHOTS=1 pytest tests/test_detection_codegen.py``).

The ``compiled-model`` runtime (LiteRT's ``CompiledModel``, ``--android-runtime compiled-model
[--android-accelerator gpu]``): the session detector packaged with it gets the CompiledModel
wrapper, Gradle dependencies (``litert-gpu``) and ``report.json["android"]``; the output names
the wrapper binds are checked on the host to name the right ports of the post-processing op
(LiteRT's signature runner, tier 1); tier 2 compiles that app and a generated one with hostile
names (wrapper, sample screen, androidTest) with kotlinc -Werror against android.jar and a stub
of LiteRT's documented CompiledModel API (``tests/kotlin/litert_api_stub``): it proves the calls
match the documented signatures, not how LiteRT behaves (nothing here runs CompiledModel).
Compiling and running the Interpreter apps (tiers 2 and 3) is in ``tests/test_detection.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edgesdk.codegen import AndroidRuntime, android_context, generate_android
from edgesdk.errors import CodegenError

from .det_fixtures import HOSTILE, Packaged
from .helpers import assert_user_error, run_cli

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
SNAP = SNAPSHOTS / "detector_uint8"
LITERT_API_STUB = ROOT / "tests" / "kotlin" / "litert_api_stub" / "CompiledModelApiStub.kt"
UPDATE = os.environ.get("EDGESDK_UPDATE_SNAPSHOTS") == "1"
FAKE_MODEL = b"\x1c\x00\x00\x00TFL3" + bytes(range(24))
VALUES = {
    "output_location": 2,
    "output_category": 0,
    "output_score": 3,
    "output_count": 1,
    "max_detections": 10,
    "score_threshold": 0.05000000074505806,
    # the CompiledModel variant's names (signature outputs in another order than the subgraph's)
    "signature_key": "serving_default",
    "input_name": "image",
    "output_name_location": "output_0",
    "output_name_category": "output_1",
    "output_name_score": "output_2",
    "output_name_count": "output_3",
}
HOSTILE_NAMES = {
    "signature_key": 'sig */ "k" ${x}',
    "input_name": 'in "put" ${x} \\ $y',
    "output_name_location": "loc */ /* \\u0041",
    "output_name_category": "cat\nnew\nline",
    "output_name_score": 'sc"ore $',
    "output_name_count": "count \u2028 é 中",
}


def _render(
    tmp_path: Path,
    labels=("cat", "dog"),
    runtime: AndroidRuntime | None = None,
    package: str = "dev.edgesdk.pets",
    values: dict | None = None,
) -> Path:
    ctx = android_context(
        model_name="pets detector",
        labels=labels,
        input_shape=(1, 128, 128, 3),
        input_dtype="uint8",
        input_quant=(1.0, 0),
        output_dtype="float32",
        class_name="PetsDetector",
        android_package=package,
        edgesdk_version="0.0.0-test",
        runtime=runtime,
    )
    gen = generate_android(
        ctx, FAKE_MODEL, tmp_path, overlay="object_detector", extra_context=values or VALUES
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


#: The files that differ by runtime, for the compiled-model snapshot (with the GPU bundled).
COMPILED_MODEL_FILES = (
    "kotlin/PetsDetector.kt",
    "android/app/src/main/java/dev/edgesdk/pets/MainActivity.kt",
    "android/app/src/main/res/values/strings.xml",
    "android/app/build.gradle.kts",
    "android/gradle/libs.versions.toml",
)


@pytest.mark.parametrize(
    "snapshot,runtime,files",
    [
        ("detector_uint8", None, OVERLAY_FILES),
        (
            "detector_uint8_compiled_model",
            AndroidRuntime("compiled-model", ("gpu",)),
            COMPILED_MODEL_FILES,
        ),
    ],  # fmt: skip
)
def test_snapshot(tmp_path: Path, snapshot: str, runtime, files) -> None:
    snap = SNAPSHOTS / snapshot
    out = _render(tmp_path, runtime=runtime)
    rendered = {rel: (out / rel).read_bytes() for rel in files}
    if UPDATE:
        shutil.rmtree(snap, ignore_errors=True)
        for rel, data in rendered.items():
            target = snap / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    stored = {
        str(p.relative_to(snap)): p.read_bytes() for p in sorted(snap.rglob("*")) if p.is_file()
    }
    assert sorted(rendered) == sorted(stored)
    changed = [rel for rel in rendered if rendered[rel] != stored[rel]]
    assert not changed, f"differs from tests/snapshots/{snapshot}: {changed}"


def _code(kotlin: str) -> str:
    """The lines of ``kotlin`` that are not comments (KDoc, ``//``)."""
    return "\n".join(
        line for line in kotlin.splitlines() if not line.lstrip().startswith(("*", "/*", "//"))
    )


def test_runtime_picks_the_wrapper(tmp_path: Path) -> None:
    """The runtime chooses the wrapper's API; both share the pure class and the public names."""
    interp = (_render(tmp_path / "i") / "kotlin" / "PetsDetector.kt").read_text()
    cm_out = _render(tmp_path / "c", runtime=AndroidRuntime("compiled-model"))
    cm = (cm_out / "kotlin" / "PetsDetector.kt").read_text()
    assert "import org.tensorflow.lite.Interpreter" in interp and "CompiledModel" not in interp
    assert "import com.google.ai.edge.litert.CompiledModel" in cm and "org.tensorflow" not in cm
    # outputs by signature name, never by the position of a buffer in a list
    code = _code(cm)
    assert "createOutputBuffers" not in code and re.search(r"[Bb]uffers?\[", code) is None
    for port in ("LOCATION", "CATEGORY", "SCORE", "COUNT"):
        assert f"model.createOutputBuffer(OUTPUT_NAME_{port})" in cm
    assert "model.run(inputs, outputs)" in cm
    assert 'const val OUTPUT_NAME_LOCATION: String = "output_0"' in cm
    for api in ("fun create(context: Context, options: Options = Options())", "data class Options(",
                "fun detect(\n        bitmap: Bitmap,", "fun detect(\n        pixels: IntArray,",
                "const val MODEL_ASSET", "val LABELS", "const val DEFAULT_MAX_RESULTS",
                "override fun close()", "data class Detection("):  # fmt: skip
        assert api in interp and api in cm, api
    pure = interp[interp.index("The pure-Kotlin half") :]
    assert pure == cm[cm.index("The pure-Kotlin half") :]
    # the common Gradle project follows the runtime; without --android-accelerator gpu no GPU
    gradle = (cm_out / "android" / "app" / "build.gradle.kts").read_text()
    assert "implementation(libs.litert)" in gradle and "libs.litert.gpu" not in gradle
    main = cm_out / "android" / "app" / "src" / "main" / "java" / "dev" / "edgesdk" / "pets"
    activity = (main / "MainActivity.kt").read_text()
    assert "listOf(Accelerator.CPU, Accelerator.GPU, Accelerator.NPU)" in activity


def test_hostile_signature_names_stay_in_strings(tmp_path: Path) -> None:
    values = {**VALUES, **HOSTILE_NAMES}
    out = _render(tmp_path, runtime=AndroidRuntime("compiled-model"), values=values)
    wrapper = (out / "kotlin" / "PetsDetector.kt").read_text()
    assert not re.search(r"(?<!\\)\$\{x\}", _code(wrapper)) and "cat\nnew" not in wrapper
    assert r'const val INPUT_NAME: String = "in \"put\" \${x} \\ \$y"' in wrapper
    assert r'const val OUTPUT_NAME_LOCATION: String = "loc */ /* \\u0041"' in wrapper
    assert 'signature sig *&#47; "k" ${x}. */' in wrapper  # the KDoc stays closed


# ------------------------------------------------------------------------------ packaged, tiers 1-2


@pytest.fixture(scope="session")
def compiled_detector(detector_h5, tmp_path_factory) -> Packaged:
    """The session detector packaged with ``--android-runtime compiled-model
    --android-accelerator gpu`` and hostile labels."""
    root = tmp_path_factory.mktemp("det_compiled")
    labels = root / "labels.txt"
    labels.write_text("\n".join(HOSTILE) + "\n", encoding="utf-8")
    pkg, cls = "dev.edgesdk.det_cm", "DetCmDetector"
    t = time.perf_counter()
    res = run_cli(
        "package", detector_h5, "-o", root / "cm", "--android-package", pkg, "--class-name", cls,
        "--golden-cases", 3, "--labels", labels,
        "--android-runtime", "compiled-model", "--android-accelerator", "gpu",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr + res.stdout
    print(f"\npackage compiled-model detector: {time.perf_counter() - t:.1f}s")
    return Packaged(root / "cm", pkg, cls, HOSTILE)


def _constant(wrapper: str, name: str) -> str:
    m = re.search(rf"const val {name}: String = (\".*\")\n", wrapper)
    assert m, name
    return json.loads(m.group(1))  # plain names: a Kotlin string literal is a JSON one


def test_compiled_model_detector_package(compiled_detector: Packaged) -> None:
    """The runtime flags reach the detector's app (they were ignored: an Interpreter app was
    written), and the names the wrapper binds are the right ports (host, tier 1: LiteRT's
    signature runner by those names gives what the Interpreter gives by output index)."""
    from ai_edge_litert.interpreter import Interpreter

    from edgesdk.detection.android import signature_names
    from edgesdk.detection.runner import DetectorRunner

    out = compiled_detector.out
    report = json.loads((out / "report.json").read_text())
    assert report["android"] == {"runtime": "compiled-model", "accelerators": ["cpu", "gpu"]}
    wrapper = (out / "kotlin" / "DetCmDetector.kt").read_text(encoding="utf-8")
    assert "import com.google.ai.edge.litert.CompiledModel" in wrapper
    assert "org.tensorflow.lite" not in wrapper
    gradle = (out / "android" / "app" / "build.gradle.kts").read_text()
    assert "implementation(libs.litert.gpu)" in gradle
    assert "litert-gpu" in (out / "android" / "gradle" / "libs.versions.toml").read_text()

    model = compiled_detector.tflite.read_bytes()
    names = signature_names(model)
    bound = [_constant(wrapper, f"OUTPUT_NAME_{p}") for p in ("LOCATION", "CATEGORY", "SCORE",
                                                               "COUNT")]  # fmt: skip
    assert tuple(bound) == names.outputs and _constant(wrapper, "INPUT_NAME") == names.input
    runner = DetectorRunner(model)
    interp = Interpreter(model_content=model)
    # the reason for names: the signature lists the outputs in another order than the subgraph
    signature = interp.get_signature_list()[names.signature or ""]
    subgraph = [runner.order.names()[i] for i in range(4)]
    assert [subgraph[runner.order.index_of(p)] for p in range(4)] == list(
        ("location", "category", "score", "number of detections")
    )
    assert signature["outputs"] != [names.outputs[runner.order.ports[i]] for i in range(4)]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (1, runner.height, runner.width, 3)).astype(np.float32)
    x = (x - 127.5) / 127.5
    by_name = interp.get_signature_runner(names.signature)(**{names.input: x})
    runner.interpreter.set_tensor(runner.input["index"], x)
    runner.interpreter.invoke()
    for port, name in enumerate(names.outputs):
        detail = runner.outputs[runner.order.index_of(port)]
        np.testing.assert_array_equal(by_name[name], runner.interpreter.get_tensor(detail["index"]))
    # a different port's name gives different values (the check above can fail)
    assert not np.array_equal(by_name[names.outputs[0]].ravel()[:10],
                              by_name[names.outputs[2]].ravel()[:10])  # fmt: skip


def test_detector_runtime_flags_are_checked(detector_h5, tmp_path: Path) -> None:
    res = run_cli("package", detector_h5, "-o", tmp_path / "o", "--android-accelerator", "gpu")
    assert_user_error(res, "Interpreter runtime runs on the CPU only", "compiled-model")
    res = run_cli("package", detector_h5, "-o", tmp_path / "o", "--android-runtime", "tflite")
    assert_user_error(res, "unknown Android runtime", "interpreter, compiled-model")


def test_verify_compiled_model_detector(compiled_detector: Packaged) -> None:
    """Host checks pass as for any detector folder; tiers android_host and apk (which run
    LiteRT 2.16.1's Interpreter classes) are not run for a compiled-model app, exit 4, with the
    classifier's reason; while the detector task does not list a tier, it is refused (exit 1)."""
    from edgesdk.tasks.object_detector import ObjectDetector

    res = run_cli("verify", compiled_detector.out, "--json")
    assert res.exit_code == 0, res.stderr + res.stdout
    checks = {(c["check"], c["tier"]): c["status"] for c in json.loads(res.stdout)["checks"]}
    assert checks[("golden", "host")] == "passed"
    for tier, flag in (("android_host", "--android-host"), ("apk", "--apk")):
        res = run_cli("verify", compiled_detector.out, flag, "--json")
        if tier not in ObjectDetector.supported_tiers:
            assert_user_error(res, f"cannot run tier {tier} for object_detector folders")
            continue
        assert res.exit_code == 4, res.stderr + res.stdout
        entry = next(c for c in json.loads(res.stdout)["checks"] if c["tier"] == tier)
        assert entry["status"] == "not_run", entry
        assert (
            "compiled-model" in entry["reason"]
            and "--android-runtime interpreter" in (entry["reason"])
        ), entry


@dataclass(frozen=True)
class CompiledApps:
    classes: Path
    seconds: float
    javap: Path


@pytest.fixture(scope="session")
def compiled_apps(compiled_detector: Packaged, tmp_path_factory) -> CompiledApps:
    """Tier 2 in one kotlinc run: the packaged compiled-model app (GPU bundled, hostile labels)
    and a generated one (CPU only, hostile labels and signature names), each with its sample
    screen and androidTest sources, against android.jar and the stub of the documented API."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools import android_toolchain as at

    tc = at.ensure()
    work = tmp_path_factory.mktemp("det_cm_kotlin")
    generated = _render(
        work / "gen", labels=HOSTILE, runtime=AndroidRuntime("compiled-model"),
        package="dev.edgesdk.det_cm_gen", values={**VALUES, **HOSTILE_NAMES},
    )  # fmt: skip
    kotlin, java = [LITERT_API_STUB], []
    for name, android, package in (
        ("packaged", compiled_detector.out / "android", compiled_detector.package),
        ("generated", generated / "android", "dev.edgesdk.det_cm_gen"),
    ):
        main = android / "app" / "src" / "main"
        r_dir = at.aapt2_link(tc, main / "res", main / "AndroidManifest.xml", work / f"{name}-r",
                              package=package, min_sdk=24, target_sdk=35)  # fmt: skip
        java += sorted(r_dir.rglob("*.java"))
        kotlin += sorted((main / "java").rglob("*.kt"))
        kotlin += sorted((android / "app" / "src" / "androidTest" / "java").rglob("*.kt"))
    classes = work / "classes"
    t = time.perf_counter()
    at.kotlinc(tc, kotlin, classes, list(tc.android_classpath), java, extra_args=["-Werror"])
    at.javac(tc, java, classes, [classes, *tc.android_classpath, tc.kotlin_stdlib])
    seconds = time.perf_counter() - t
    print(f"\nkotlinc (2 compiled-model detector apps, stub): {seconds:.1f}s")
    return CompiledApps(classes, seconds, Path(tc.javac).with_name("javap"))


@pytest.mark.toolchain
@pytest.mark.slow
def test_compiled_model_detector_compile_check_against_a_stub_of_the_documented_api(
    compiled_apps: CompiledApps, compiled_detector: Packaged
) -> None:
    """Tier 2, against a stub: the compiled-model detector apps compile (-Werror) and call
    CompiledModel by name (createOutputBuffer, run with name-keyed maps); this proves the calls
    match the documented signatures, not what LiteRT does with them."""
    for package, cls in (("dev/edgesdk/det_cm", compiled_detector.class_name),
                         ("dev/edgesdk/det_cm_gen", "PetsDetector")):  # fmt: skip
        pkg = compiled_apps.classes / package
        for name in (cls, f"{cls}$Detection", f"{cls}$Options", f"{cls}Preprocessing",
                     "MainActivity", "GoldenInstrumentation", "GoldenVectors", "R"):  # fmt: skip
            assert (pkg / f"{name}.class").is_file(), (package, name)
        shown = subprocess.run(
            [str(compiled_apps.javap), "-c", "-p", "-cp", str(compiled_apps.classes),
             f"{package.replace('/', '.')}.{cls}"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        code = shown.stdout
        assert "com/google/ai/edge/litert/CompiledModel.createOutputBuffer" in code, package
        # run(inputs: Map, outputs: Map, signature = default): the name-keyed overload
        # (called through Kotlin's $default bridge for the omitted signature)
        run_by_name = (
            r"CompiledModel\.run(\$default)?:\((Lcom/google/ai/edge/litert/CompiledModel;)?"
        )
        assert re.search(run_by_name + r"Ljava/util/Map;Ljava/util/Map;", code), package
        assert "createOutputBuffers" not in code and "org/tensorflow/lite" not in code, package
    # the stub is our classes, compiled here; android.jar and LiteRT 2.16.1 know no such package
    assert (compiled_apps.classes / "com" / "google" / "ai" / "edge" / "litert").is_dir()


def test_compiled_model_golden_test_runs_on_the_requested_accelerator(tmp_path: Path) -> None:
    """The device script of a compiled-model app runs the golden test with `-e accelerator GPU`;
    the detector's golden test must compile for that accelerator alone and report
    `accelerator_available` (as the classifier's does), or the GPU line is a CPU result."""
    out = _render(tmp_path, runtime=AndroidRuntime("compiled-model", ("gpu",)))
    script = (out / "android" / "run-device-test.sh").read_text()
    assert "-e accelerator GPU" in script
    test = out / "android" / "app" / "src" / "androidTest" / "java" / "dev" / "edgesdk" / "pets"
    golden = (test / "GoldenInstrumentation.kt").read_text()
    assert "import com.google.ai.edge.litert.Accelerator" in golden
    assert "accelerator_available" in golden
    # compiled for the asked accelerator alone, the score tolerance widened on the GPU (fp16)
    assert "Options(Accelerator.valueOf(accelerator))" in golden
    assert "GoldenSuite.run(it, golden, listener, scoreTolerance)" in golden
    assert "const val GPU_SCORE_TOLERANCE = 0.02f" in golden
    # the Interpreter runtime: the GPU is reported unavailable, nothing runs on it
    out = _render(tmp_path / "interp", runtime=AndroidRuntime("interpreter", ("cpu",)))
    golden = next((out / "android").rglob("GoldenInstrumentation.kt")).read_text()
    assert "Accelerator" not in golden.split("class GoldenInstrumentation")[0]
    assert 'return unavailable("the Interpreter runtime runs on the CPU only", golden)' in golden
