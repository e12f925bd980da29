"""Tiers 2 and 3 for the generated Kotlin: it compiles, and its pure part runs like Python.

Tier 2: generated apps on both runtimes (an ordinary one and one with hostile labels and names,
each as ``interpreter`` and ``compiled-model``) and three apps from ``edgesdk package`` (float RGB
and int8 RGB on the default ``interpreter`` runtime, float gray on ``compiled-model``) compile
with kotlinc against the real API 35 ``android.jar``, with ``R`` from ``aapt2 link`` of the app's
own resources and manifest; the instrumented golden test (``src/androidTest``) compiles against
the same classpath plus the app classes; warnings are errors. The Interpreter variant compiles
against the real TFLite 2.16.1 classes from Maven Central. The CompiledModel variant's classes
(``com.google.ai.edge.litert``) are on Google's Maven only: it is a compile check against a stub
of the documented API (``tests/kotlin/litert_api_stub``, signatures only, written from the API
reference): it proves the generated code matches the documented signatures, not the behaviour.
Tier 3: ``tests/kotlin/ParityHarness.kt`` runs the compiled pure pre/post-processing on the
JVM (without android.jar or LiteRT on the classpath) on vectors written here, and its results
are compared with :mod:`edgesdk.preprocess` (and Pillow for the gray formula). For the packaged
apps, ``tests/kotlin/GoldenHarness.kt.tmpl`` runs the app's own golden reader and check
(``GoldenVectors.kt``, the code the device test runs) on the golden files ``package`` wrote:
raw pixels -> the Kotlin tensor (equal to Python's) -> the host's raw output -> the same scores,
top-k and verdict.

Everything is compiled in ONE kotlinc run per session (kotlinc costs ~30 s here). These tests
need the toolchain of ``tools/android_toolchain.py``; without it they fail, never skip.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgesdk.codegen import AndroidContext, AndroidRuntime, android_context, generate_android
from edgesdk.preprocess import dequantize, prepare_input, top_k
from edgesdk.verify import golden as gv

from .helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tests" / "kotlin" / "ParityHarness.kt"
HARNESS_MAIN = "dev.edgesdk.harness.ParityHarnessKt"
#: Our stub of LiteRT's documented CompiledModel API (signatures only; see the file's header).
LITERT_API_STUB = ROOT / "tests" / "kotlin" / "litert_api_stub" / "CompiledModelApiStub.kt"
GOLDEN_HARNESS = ROOT / "tests" / "kotlin" / "GoldenHarness.kt.tmpl"
FAKE_MODEL = b"\x1c\x00\x00\x00TFL3" + bytes(range(24))

pytestmark = pytest.mark.toolchain

HOSTILE_LABELS = (
    "plain",
    'quote " inside',
    "apostrophe ' inside",
    "$dollar",
    "${x}",
    "$x and ${y.z} and $",
    "back\\slash",
    "trailing backslash\\",
    "\\u0041 not an escape",
    "\\n not a newline",
    "*/ closes a comment",
    "/* opens a comment",
    "// line comment",
    '"""triple quotes"""',
    "new\nline",
    "tab\tand\rcarriage return\band backspace",
    "\x00nul \x01 \x1f \x7f del",
    "\u2028line separator\u2029",
    "unicode é ß 中文 Ωmega",
    "emoji 🎉👍🏽 👩‍💻",
    "rtl \u202eoverride",
    "lone surrogate \ud800 here",
    "class",
    "fun",
    "object",
    "",
    " ",
)


def parity_context() -> AndroidContext:
    """The app whose pure part the harness drives (class/package are fixed in the harness)."""
    return android_context(
        model_name="parity model",
        labels=("cat", "dog", "bird", "fish"),
        input_shape=(1, 12, 16, 3),
        input_dtype="float32",
        output_dtype="float32",
        mean=(123.675, 116.28, 103.53),
        std=(58.395, 57.12, 57.375),
        class_name="ParityClassifier",
        android_package="dev.edgesdk.parity",
        edgesdk_version="0.0.0-test",
    )


def hostile_context() -> AndroidContext:
    return android_context(
        model_name='Evil */ "name" ${x} \\ <app> & co %s @x',
        labels=HOSTILE_LABELS,
        input_shape=(9, 7, 1),
        input_dtype="uint8",
        input_quant=(0.0078125, 128),
        output_dtype="int8",
        output_quant=(0.00390625, -128),
        mean=127.5,
        std=127.5,
        class_name="HostileClassifier",
        android_package="dev.edgesdk.hostile",
        author='*/ author /* "q" $x',
        version='1.0 */ "beta" ${v}',
        edgesdk_version="0.0.0-test",
    )


def compiled_model(ctx: AndroidContext, package: str, *accelerators: str) -> AndroidContext:
    """``ctx`` on the CompiledModel runtime, in another package (so both variants compile in
    one kotlinc run)."""
    runtime = AndroidRuntime("compiled-model", accelerators)
    return dataclasses.replace(ctx, runtime=runtime, android_package=package)


def generated_contexts() -> dict[str, AndroidContext]:
    """The generated apps of tier 2: each context on both runtimes."""
    return {
        "parity": dataclasses.replace(parity_context(), runtime=AndroidRuntime("interpreter")),
        "hostile": dataclasses.replace(hostile_context(), runtime=AndroidRuntime("interpreter")),
        "parity_cm": compiled_model(parity_context(), "dev.edgesdk.parity_cm", "gpu"),
        "hostile_cm": compiled_model(hostile_context(), "dev.edgesdk.hostile_cm"),
    }


#: Generated apps: name -> (package folder, class, runtime).
GENERATED = {
    "parity": ("dev/edgesdk/parity", "ParityClassifier", "interpreter"),
    "hostile": ("dev/edgesdk/hostile", "HostileClassifier", "interpreter"),
    "parity_cm": ("dev/edgesdk/parity_cm", "ParityClassifier", "compiled-model"),
    "hostile_cm": ("dev/edgesdk/hostile_cm", "HostileClassifier", "compiled-model"),
}


@dataclass(frozen=True)
class PackagedApp:
    """An app written by ``edgesdk package --target android`` (with golden vectors)."""

    out: Path
    package: str
    class_name: str

    @property
    def golden_dir(self) -> Path:
        return self.out / "android" / gv.ANDROID_ASSET_DIR

    @property
    def harness_main(self) -> str:
        return f"dev.edgesdk.harness.{self.package.rsplit('.', 1)[1]}.GoldenHarnessKt"


@pytest.fixture(scope="session")
def packaged_apps(
    cnn_h5, trained_h5, gray_h5, shapes_npz, shapes_folder, tmp_path_factory
) -> dict[str, PackagedApp]:
    """Three packaged apps whose golden files tier 3 consumes."""
    root = tmp_path_factory.mktemp("packaged")
    specs = {
        # float32 RGB, golden cases from an eval folder of 20x20 PNGs (resized on the device)
        "eval_f32": (trained_h5, ["--eval-data", shapes_folder]),
        # int8 in and out, golden cases from 16x16 calibration data (half resized)
        "int8": (trained_h5, ["--quantize", "int8", "--calibration-data", shapes_npz]),
        # float32 grayscale 12x10, generated RGB golden images (the gray formula runs)
        # (on the opt-in CompiledModel runtime: a packaged app of each runtime compiles)
        "gray": (gray_h5, ["--android-runtime", "compiled-model"]),
    }
    apps = {}
    for name, (model, extra) in specs.items():
        pkg, cls = f"dev.edgesdk.golden_{name}", f"Golden{name.title().replace('_', '')}Classifier"
        out = root / name
        res = run_cli(
            "package", model, "-o", out, "--target", "android", "--android-package", pkg,
            "--class-name", cls, *extra,
        )  # fmt: skip
        assert res.exit_code == 0, res.stderr
        apps[name] = PackagedApp(out, pkg, cls)
    return apps


@dataclass(frozen=True)
class Built:
    tc: object
    at: object  # the tools.android_toolchain module
    classes: Path
    apps: dict[str, Path]
    compile_seconds: float
    packaged: dict[str, PackagedApp]


def _toolchain_module():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools import android_toolchain

    return android_toolchain


@pytest.fixture(scope="session")
def built(tmp_path_factory, packaged_apps: dict[str, PackagedApp]) -> Built:
    """Generate two apps, take the three packaged ones, aapt2-link each, and compile all their
    sources (main and androidTest) and the harnesses in one kotlinc run."""
    at = _toolchain_module()
    tc = at.ensure()  # raises (-> test error) when the toolchain cannot be provisioned
    work = tmp_path_factory.mktemp("kotlin")
    kotlin_sources: list[Path] = [HARNESS, LITERT_API_STUB]
    java_sources: list[Path] = []
    apps: dict[str, Path] = {}
    projects: list[tuple[str, Path, str]] = []
    for name, ctx in generated_contexts().items():
        gen = generate_android(ctx, FAKE_MODEL, work / name)
        projects.append((name, gen.android, ctx.android_package))
        apps[name] = gen.out_dir
    template = GOLDEN_HARNESS.read_text(encoding="utf-8")
    for name, app in packaged_apps.items():
        projects.append((name, app.out / "android", app.package))
        apps[name] = app.out
        harness = work / "harness" / name / "GoldenHarness.kt"
        harness.parent.mkdir(parents=True, exist_ok=True)
        harness.write_text(
            template.replace("@NAME@", app.package.rsplit(".", 1)[1])
            .replace("@PACKAGE@", app.package)
            .replace("@PRE@", app.class_name + "Preprocessing"),
            encoding="utf-8",
        )
        kotlin_sources.append(harness)
    for name, android, package in projects:
        main = android / "app" / "src" / "main"
        r_dir = at.aapt2_link(
            tc,
            main / "res",
            main / "AndroidManifest.xml",
            work / f"{name}-aapt2",
            package=package,
            min_sdk=24,
            target_sdk=35,
        )
        java_sources += sorted(r_dir.rglob("*.java"))
        kotlin_sources += sorted((main / "java").rglob("*.kt"))
        # The instrumented test sees the app's classes, android.jar and LiteRT, as in AGP.
        kotlin_sources += sorted((android / "app" / "src" / "androidTest" / "java").rglob("*.kt"))
    classes = work / "classes"
    start = time.perf_counter()
    _compile(at, tc, kotlin_sources, java_sources, classes)
    return Built(tc, at, classes, apps, time.perf_counter() - start, packaged_apps)


def _compile(at, tc, kotlin_sources, java_sources, classes) -> None:
    # -Werror: the generated code must compile without a single warning.
    at.kotlinc(
        tc,
        kotlin_sources,
        classes,
        list(tc.android_classpath),
        java_sources,
        extra_args=["-Werror"],
    )
    at.javac(tc, java_sources, classes, [classes, *tc.android_classpath, tc.kotlin_stdlib])


# ------------------------------------------------------------------------------------------
# Tier 2
# ------------------------------------------------------------------------------------------


def _javap(built: Built, *args: str) -> str:
    javap = Path(built.tc.javac).with_name("javap")
    shown = subprocess.run(
        [str(javap), "-cp", str(built.classes), *args], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    return shown.stdout


def _runtime_of(built: Built, name: str) -> str:
    if name in GENERATED:
        return GENERATED[name][2]
    report = json.loads((built.packaged[name].out / "report.json").read_text())
    return str(report["android"]["runtime"])


def _all_apps(built: Built) -> list[tuple[str, str, str]]:
    return [(name, pkg, cls) for name, (pkg, cls, _) in GENERATED.items()] + [
        (name, app.package.replace(".", "/"), app.class_name)
        for name, app in built.packaged.items()
    ]


def test_wrapper_and_apps_compile(built: Built) -> None:
    apps = _all_apps(built)
    for name, pkg, cls in apps:
        for suffix in ("", "Preprocessing", "$Category", "$Options", "$Companion"):
            assert (built.classes / pkg / f"{cls}{suffix}.class").is_file(), (name, suffix)
        assert (built.classes / pkg / "MainActivity.class").is_file()
        assert (built.classes / pkg / "R.class").is_file()
    print(
        f"\ncompile ({len(apps)} apps with androidTest + harnesses, one kotlinc run): "
        f"{built.compile_seconds:.1f}s"
    )


def test_interpreter_wrapper_compiles_against_the_real_litert_2_16_1_classes(built: Built) -> None:
    """The Interpreter variant links to org.tensorflow.lite.Interpreter from the real TFLite
    2.16.1 jar (Maven Central) on the classpath; nothing of it comes from our sources."""
    assert not (built.classes / "org" / "tensorflow").exists()
    names = [n for n in (*GENERATED, *built.packaged) if _runtime_of(built, n) == "interpreter"]
    assert {"parity", "hostile", "eval_f32", "int8"} <= set(names)
    for name, pkg, cls in _all_apps(built):
        if name not in names:
            continue
        code = _javap(built, "-c", "-p", f"{pkg.replace('/', '.')}.{cls}$Companion")
        assert "org/tensorflow/lite/Interpreter" in code, name
        assert "com/google/ai/edge/litert" not in code, name


def test_compiled_model_wrapper_compile_check_against_a_stub_of_the_documented_api(
    built: Built,
) -> None:
    """The CompiledModel variant compiles against our stub of LiteRT's documented Kotlin API
    (signatures only): it calls the documented names with the documented types. This proves
    nothing about LiteRT's behaviour; the real classes are on Google's Maven only."""
    names = [n for n in (*GENERATED, *built.packaged) if _runtime_of(built, n) == "compiled-model"]
    assert {"parity_cm", "hostile_cm", "gray"} <= set(names)
    for name, pkg, cls in _all_apps(built):
        if name not in names:
            continue
        fqcn = f"{pkg.replace('/', '.')}.{cls}"
        code = _javap(built, "-c", "-p", fqcn, f"{fqcn}$Companion")
        for call in (
            "com/google/ai/edge/litert/Environment$Companion.create",
            "com/google/ai/edge/litert/Environment.getAvailableAccelerators",
            "com/google/ai/edge/litert/CompiledModel$Companion.create",
            "com/google/ai/edge/litert/CompiledModel$Options.\"<init>\"",
            "com/google/ai/edge/litert/CompiledModel.createInputBuffers",
            "com/google/ai/edge/litert/CompiledModel.run",
            "com/google/ai/edge/litert/TensorBuffer.read",
            "com/google/ai/edge/litert/TensorBuffer.write",
        ):
            assert call in code, (name, call)
        assert "org/tensorflow/lite" not in code, name
        # the accelerator actually compiled for is public API, next to what was asked for
        public = _javap(built, fqcn)
        for member in ("getAccelerator()", "getRequestedAccelerator()", "getFallbackReason()",
                       "isFallback()", "getAvailableAccelerators()"):  # fmt: skip
            assert member in public, (name, member)
    # the stub is signatures only: every body throws
    stub = LITERT_API_STUB.read_text(encoding="utf-8")
    assert "compile check against a stub of the documented API" in stub
    bodies = [
        line
        for line in stub.splitlines()
        if "= " in line and "fun " in line and not line.startswith("private fun stub()")
    ]
    assert bodies and all(line.rstrip().endswith("stub()") for line in bodies), bodies


def test_the_two_runtimes_share_one_preprocessing_class(built: Built) -> None:
    """The pure pre/post-processing class is the same source text in both variants."""
    marker = "/**\n * The pure-Kotlin half"
    for base in ("parity", "hostile"):
        texts = []
        for name in (base, f"{base}_cm"):
            pkg, cls, _ = GENERATED[name]
            src = (built.apps[name] / "kotlin" / f"{cls}.kt").read_text(encoding="utf-8")
            texts.append(src[src.index(marker) :])
        assert texts[0] == texts[1], base


def test_gradle_adds_litert_gpu_only_when_asked(built: Built) -> None:
    def gradle(name: str) -> tuple[str, str]:
        android = built.apps[name] / "android"
        return (
            (android / "app" / "build.gradle.kts").read_text(encoding="utf-8"),
            (android / "gradle" / "libs.versions.toml").read_text(encoding="utf-8"),
        )

    app, catalog = gradle("parity_cm")  # --android-accelerator gpu
    assert "implementation(libs.litert.gpu)" in app
    assert 'name = "litert-gpu", version.ref = "litert"' in catalog
    for name in ("hostile_cm", "parity", "eval_f32"):
        app, catalog = gradle(name)
        assert "implementation(libs.litert.gpu)" not in app and "litert-gpu =" not in catalog
        assert "implementation(libs.litert)" in app


def test_instrumented_golden_test_compiles(built: Built) -> None:
    """Tier 2 for src/androidTest: the runner is a plain android.app.Instrumentation."""
    for _, pkg, _ in _all_apps(built):
        for cls in ("GoldenInstrumentation", "GoldenVectors", "GoldenVectors$Case",
                    "GoldenResult", "GoldenCheck"):  # fmt: skip
            assert (built.classes / pkg / f"{cls}.class").is_file(), (pkg, cls)
    shown = _javap(built, "dev.edgesdk.parity.GoldenInstrumentation")
    assert "class dev.edgesdk.parity.GoldenInstrumentation extends android.app.Instrumentation" in (
        shown
    ), shown
    gradle = (built.apps["parity"] / "android" / "app" / "build.gradle.kts").read_text()
    assert 'testInstrumentationRunner = "dev.edgesdk.parity.GoldenInstrumentation"' in gradle
    assert 'testApplicationId = "dev.edgesdk.parity.test"' in gradle
    assert "androidTestImplementation" not in gradle and "androidx.test" not in gradle


def test_standalone_wrapper_is_the_app_copy(built: Built) -> None:
    for name, (pkg, cls, _) in GENERATED.items():
        out = built.apps[name]
        standalone = out / "kotlin" / f"{cls}.kt"
        in_app = out / "android" / "app" / "src" / "main" / "java" / pkg / f"{cls}.kt"
        assert standalone.read_bytes() == in_app.read_bytes()


# ------------------------------------------------------------------------------------------
# Tier 3
# ------------------------------------------------------------------------------------------


def _bits(x: float) -> str:
    return f"{struct.unpack('<I', struct.pack('<f', float(x)))[0]:x}"


def _from_bits(token: str) -> np.float32:
    return np.frombuffer(struct.pack("<I", int(token, 16)), dtype=np.float32)[0]


@dataclass(frozen=True)
class Spec:
    height: int
    width: int
    channels: int
    in_dtype: str = "float32"
    in_scale: float = 0.0
    in_zp: int = 0
    out_dtype: str = "float32"
    out_scale: float = 0.0
    out_zp: int = 0
    classes: int = 4
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        for attr in ("mean", "std"):
            values = tuple(getattr(self, attr))
            object.__setattr__(self, attr, values * self.channels if len(values) == 1 else values)

    def tokens(self) -> str:
        return " ".join(
            [
                "custom",
                str(self.height),
                str(self.width),
                str(self.channels),
                self.in_dtype.upper(),
                _bits(self.in_scale),
                str(self.in_zp),
                self.out_dtype.upper(),
                _bits(self.out_scale),
                str(self.out_zp),
                str(self.classes),
                *(_bits(m) for m in self.mean),
                *(_bits(s) for s in self.std),
            ]
        )


def _spec_of(ctx: AndroidContext) -> Spec:
    return Spec(
        ctx.input_height, ctx.input_width, ctx.input_channels, ctx.input_dtype,
        ctx.input_scale, ctx.input_zero_point, ctx.output_dtype, ctx.output_scale,
        ctx.output_zero_point, ctx.num_classes, ctx.mean, ctx.std,
    )  # fmt: skip


RGB_NORM = dict(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
PRE_CASES: list[tuple[str, Spec | None, int, int]] = [
    # name, spec (None = the generated forModel()), source width, source height
    ("default_larger", None, 37, 23),
    ("default_smaller", None, 5, 7),
    ("default_same_size", None, 16, 12),
    ("rgb_f32_nonsquare_tall", Spec(12, 16, 3, **RGB_NORM), 9, 40),
    ("rgb_f32_to_square", Spec(8, 8, 3, mean=(127.5,) * 3, std=(127.5,) * 3), 300, 200),
    ("rgb_f32_upscale_1x1", Spec(5, 6, 3, mean=(0.0,) * 3, std=(255.0,) * 3), 1, 1),
    ("rgb_int8", Spec(10, 14, 3, "int8", 0.0123, -7, **RGB_NORM), 20, 30),
    (
        "rgb_int8_saturating",
        Spec(6, 6, 3, "int8", 0.004, 5, mean=(0.0,) * 3, std=(1.0,) * 3),
        13,
        11,
    ),
    ("rgb_uint8", Spec(7, 5, 3, "uint8", 1 / 255, 0, mean=(0.0,) * 3, std=(1.0,) * 3), 40, 1),
    (
        "rgb_uint8_zp",
        Spec(9, 9, 3, "uint8", 0.0078125, 128, mean=(127.5,) * 3, std=(127.5,) * 3),
        9,
        9,
    ),
    ("gray_f32", Spec(12, 10, 1, mean=(127.5,), std=(127.5,)), 64, 48),
    ("gray_f32_smaller", Spec(12, 10, 1, mean=(0.5,), std=(0.25,)), 3, 4),
    ("gray_int8", Spec(11, 13, 1, "int8", 0.0187, -3, mean=(127.5,), std=(127.5,)), 29, 17),
    ("gray_uint8", Spec(6, 4, 1, "uint8", 0.5, 3, mean=(0.0,), std=(1.0,)), 4, 6),
    # x / scale + 0.5 lands exactly on .0 for every odd value: catches round-half-even.
    ("gray_uint8_rounding_ties", Spec(16, 16, 1, "uint8", 2.0, 0, mean=(0.0,), std=(1.0,)), 16, 16),
    ("gray_int8_std3", Spec(16, 16, 1, "int8", 0.25, -1, mean=(1.0,), std=(3.0,)), 16, 16),
]


def _argb(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Random ARGB pixels (uint32, H x W) with random alpha (which must be ignored)."""
    return rng.integers(0, 2**32, size=(height, width), dtype=np.uint64).astype(np.uint32)


def _rgb(argb: np.ndarray) -> np.ndarray:
    return np.stack([(argb >> 16) & 255, (argb >> 8) & 255, argb & 255], axis=-1).astype(np.uint8)


def _python_input(spec: Spec, argb: np.ndarray) -> np.ndarray:
    rgb = _rgb(argb)
    pixels = np.asarray(Image.fromarray(rgb, "RGB").convert("L")) if spec.channels == 1 else rgb
    dtype = {"float32": np.float32, "int8": np.int8, "uint8": np.uint8}[spec.in_dtype]
    return prepare_input(
        pixels, height=spec.height, width=spec.width, mean=spec.mean, std=spec.std,
        dtype=dtype, scale=spec.in_scale, zero_point=spec.in_zp,
    )  # fmt: skip


POST_CASES: list[tuple[str, Spec, int, list[float] | list[int]]] = [
    ("f32_ties", Spec(1, 1, 3, classes=6), 3, [0.1, 0.5, 0.5, 0.2, 0.5, -1.0]),
    ("f32_zero_signs", Spec(1, 1, 3, classes=3), 3, [0.0, -0.0, 0.0]),
    ("f32_k_too_large", Spec(1, 1, 3, classes=4), 10, [-3.5, 2.25, -0.125, 2.25]),
    ("f32_k_zero", Spec(1, 1, 3, classes=4), 0, [1.0, 2.0, 3.0, 4.0]),
    ("f32_k_one_last", Spec(1, 1, 3, classes=5), 1, [1e-30, -1e30, 3e38, -0.0, 3e38]),
    (
        "int8_ties",
        Spec(1, 1, 3, out_dtype="int8", out_scale=0.00390625, out_zp=-128, classes=8),
        3,
        [-128, 127, 0, 127, -5, 126, 127, -128],
    ),
    (
        "int8_odd_scale",
        Spec(1, 1, 3, out_dtype="int8", out_scale=0.0173, out_zp=9, classes=5),
        5,
        [9, -128, 127, 10, 8],
    ),
    (
        "uint8",
        Spec(1, 1, 3, out_dtype="uint8", out_scale=0.1, out_zp=3, classes=6),
        4,
        [0, 255, 3, 254, 255, 1],
    ),
]


def _python_post(spec: Spec, k: int, raw: list) -> list[tuple[int, float]]:
    if spec.out_dtype == "float32":
        scores = np.asarray(raw, dtype=np.float32)
    else:
        scores = dequantize(np.asarray(raw, dtype=spec.out_dtype), spec.out_scale, spec.out_zp)
    return top_k(scores, k), scores


@pytest.fixture(scope="session")
def harness_results(built: Built, tmp_path_factory) -> dict:
    """Write the vectors, run the harness once on the pure classpath, parse its output."""
    rng = np.random.default_rng(20240607)
    parity = parity_context()
    lines: list[str] = []
    expected: dict[str, object] = {}
    for name, spec, w, h in PRE_CASES:
        argb = _argb(rng, w, h)
        if name.endswith("_ties"):  # every gray level 0..255 once (R = G = B = level)
            levels = np.arange(w * h, dtype=np.uint32) % 256
            argb = (
                (0xFF000000 | levels << 16 | levels << 8 | levels).astype(np.uint32).reshape(h, w)
            )
        used = spec or _spec_of(parity)
        spec_tokens = "default" if spec is None else spec.tokens()
        pixels = " ".join(f"{int(p):x}" for p in argb.reshape(-1))
        lines.append(f"case {name} pre {spec_tokens} {w} {h} {pixels}")
        expected[name] = (used, _python_input(used, argb))
    for name, spec, k, raw in POST_CASES:
        values = (
            " ".join(_bits(v) for v in raw)
            if spec.out_dtype == "float32"
            else " ".join(str(int(v)) for v in raw)
        )
        lines.append(f"case {name} post {spec.tokens()} {k} {values}")
        expected[name] = _python_post(spec, k, raw)
    gray_argb = np.concatenate(
        [
            _argb(rng, 4096, 1).reshape(-1),
            np.array([0x00000000, 0xFFFFFFFF, 0xFF000000, 0x00FFFFFF, 0x80FF0000, 0x0000FF00,
                      0x000000FF, 0x00808080, 0x007F7F7F, 0x00010203], dtype=np.uint32),
        ]
    )  # fmt: skip
    lines.append(f"case gray gray {gray_argb.size} " + " ".join(f"{int(p):x}" for p in gray_argb))
    rgb = _rgb(gray_argb.reshape(1, -1))
    expected["gray"] = np.asarray(Image.fromarray(rgb, "RGB").convert("L")).reshape(-1)

    work = tmp_path_factory.mktemp("harness")
    vectors = work / "vectors.txt"
    vectors.write_text("\n".join(lines) + "\n", encoding="ascii")
    results = work / "results.txt"
    start = time.perf_counter()
    # Pure classpath: compiled classes + Kotlin stdlib only (run_jvm adds the stdlib).
    proc = built.at.run_jvm(built.tc, [built.classes], HARNESS_MAIN, [vectors, results])
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = {}
    for line in results.read_text(encoding="ascii").splitlines():
        name, *rest = line.split()
        got[name] = rest
    return {"expected": expected, "got": got, "seconds": seconds}


@pytest.mark.parametrize("case", [c[0] for c in PRE_CASES])
def test_preprocessing_matches_python(harness_results: dict, case: str) -> None:
    spec, want = harness_results["expected"][case]
    dtype, *values = harness_results["got"][case]
    assert dtype == spec.in_dtype.upper()
    assert want.shape == (spec.height, spec.width, spec.channels)
    flat = want.reshape(-1)
    assert len(values) == flat.size
    if spec.in_dtype == "float32":
        got = np.array([_from_bits(v) for v in values], dtype=np.float32)
        diff = float(np.max(np.abs(got - flat)))
        assert diff <= 1e-5, f"{case}: max abs diff {diff}"
        # Stronger than the tolerance: the same float32 operations in the same order give the
        # same bits (a reordered formula, e.g. x * (1 / std), fails here).
        assert got.tobytes() == flat.astype(np.float32).tobytes(), f"{case}: not bit-identical"
    else:
        got_i = np.array([int(v) for v in values], dtype=np.int64)
        mismatches = int(np.sum(got_i != flat.astype(np.int64)))
        assert mismatches == 0, f"{case}: {mismatches} of {flat.size} quantized values differ"


@pytest.mark.parametrize("case", [c[0] for c in POST_CASES])
def test_postprocessing_matches_python(harness_results: dict, case: str) -> None:
    want_top, want_scores = harness_results["expected"][case]
    tokens = harness_results["got"][case]
    count = int(tokens[0])
    pairs = tokens[1 : 1 + 2 * count]
    got_top = [(int(pairs[i]), float(_from_bits(pairs[i + 1]))) for i in range(0, len(pairs), 2)]
    assert tokens[1 + 2 * count] == "scores"
    got_scores = np.array([_from_bits(t) for t in tokens[2 + 2 * count :]], dtype=np.float32)
    np.testing.assert_array_equal(got_scores, want_scores)
    assert [i for i, _ in got_top] == [i for i, _ in want_top]
    assert [s for _, s in got_top] == [s for _, s in want_top]


def test_gray_formula_matches_pillow(harness_results: dict) -> None:
    got = np.array([int(v) for v in harness_results["got"]["gray"]])
    want = harness_results["expected"]["gray"].astype(np.int64)
    assert got.shape == want.shape
    assert int(np.sum(got != want)) == 0
    print(f"\nharness JVM run (all pure cases): {harness_results['seconds']:.2f}s")


def test_labels_round_trip_exactly(built: Built, tmp_path: Path) -> None:
    """The labels compiled into Kotlin are exactly the Python strings (UTF-16 units)."""
    vectors = tmp_path / "labels.txt"
    vectors.write_text(
        "case hostile labels dev.edgesdk.hostile.HostileClassifier\n"
        "case parity labels dev.edgesdk.parity.ParityClassifier\n"
        "case hostile_cm labels dev.edgesdk.hostile_cm.HostileClassifier\n",
        encoding="ascii",
    )
    results = tmp_path / "out.txt"
    proc = built.at.run_jvm(
        built.tc, [built.classes, *built.tc.android_classpath], HARNESS_MAIN, [vectors, results]
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = {}
    for line in results.read_text(encoding="ascii").splitlines():
        name, count, *labels = line.split(" ")
        assert int(count) == len(labels)
        got[name] = [
            "" if lab == "-" else "".join(chr(int(u, 16)) for u in lab.split(",")) for lab in labels
        ]

    # chr() of single UTF-16 units: join surrogate pairs back into code points
    def utf16_units(s: str) -> list[int]:
        data = s.encode("utf-16-be", "surrogatepass")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]

    contexts = (("hostile", hostile_context()), ("parity", parity_context()),
                ("hostile_cm", hostile_context()))  # fmt: skip
    for name, ctx in contexts:
        assert len(got[name]) == len(ctx.labels)
        for label, back in zip(ctx.labels, got[name], strict=True):
            assert [ord(c) for c in back] == utf16_units(label), (label, back)


# ------------------------------------------------------------------------------------------
# Tier 3: the golden files of packaged apps, through the app's own Kotlin, on the JVM
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def golden_jvm(built: Built, tmp_path_factory) -> dict[str, dict]:
    """Run each packaged app's golden harness once (pure classpath) and parse its lines."""
    work = tmp_path_factory.mktemp("golden-jvm")
    runs: dict[str, dict] = {}
    for name, app in built.packaged.items():
        results = work / f"{name}.txt"
        start = time.perf_counter()
        # Pure classpath: compiled classes + Kotlin stdlib only; GoldenVectors.kt (androidTest)
        # and the preprocessing must not need android.jar or LiteRT.
        proc = built.at.run_jvm(
            built.tc, [built.classes], app.harness_main,
            [app.golden_dir / gv.DATA_NAME, results],
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        lines = {}
        for line in results.read_text(encoding="ascii").splitlines():
            *line_tokens, arrays = line.split(" ")
            index, dtype, sha, result, top, k, *rest = line_tokens
            assert top == "top"
            k = int(k)
            pairs = rest[: 2 * k]
            assert rest[2 * k] == "tensor"
            lines[int(index)] = {
                "dtype": dtype,
                "sha": sha,
                "result": json.loads(result),
                "top": [(int(pairs[i]), _from_bits(pairs[i + 1])) for i in range(0, 2 * k, 2)],
                "tensor": rest[2 * k + 1 :],
                "arrays": arrays,
            }
        runs[name] = {"lines": lines, "seconds": time.perf_counter() - start}
    return runs


@pytest.mark.parametrize("name", ["eval_f32", "int8", "gray"])
def test_golden_files_run_the_same_on_the_jvm(built: Built, golden_jvm: dict, name: str) -> None:
    """Raw pixels -> Kotlin tensor == Python's (float <= 1e-5, in fact bit-identical; ints
    exact); the host's raw output -> the same scores, top-k and a passing device check."""
    app = built.packaged[name]
    golden = gv.read_golden(app.golden_dir)
    lines = golden_jvm[name]["lines"]
    assert sorted(lines) == [c.index for c in golden.cases] and len(lines) == 16
    height, width, channels = golden.input_size
    dtype = {"float32": np.float32, "int8": np.int8, "uint8": np.uint8}[golden.input.dtype]
    resized = 0
    for case in golden.cases:
        got = lines[case.index]
        assert got["dtype"] == golden.input.dtype.upper()
        want = prepare_input(
            gv.model_pixels(case.pixel_array(), channels), height=height, width=width,
            mean=golden.mean, std=golden.std, dtype=dtype, scale=golden.input.scale,
            zero_point=golden.input.zero_point,
        ).reshape(-1)  # fmt: skip
        assert len(got["tensor"]) == want.size
        if golden.input.dtype == "float32":
            tensor = np.array([_from_bits(v) for v in got["tensor"]], dtype=np.float32)
            assert float(np.max(np.abs(tensor - want))) <= 1e-5, case.index
            assert tensor.tobytes() == want.astype(np.float32).tobytes(), case.index
        else:
            tensor_i = np.array([int(v) for v in got["tensor"]], dtype=np.int64)
            assert int(np.sum(tensor_i != want.astype(np.int64))) == 0, case.index
        # the tensor the JVM built hashes to what Python fed the interpreter on the host
        assert got["sha"] == case.input_sha256, case.index
        check = gv.CaseCheck.from_dict(got["result"])
        assert check.passed and check.input_match is True, got["result"]
        assert check.max_abs_diff == 0.0 and check.top1_got == case.top1
        assert check.tolerance == np.float32(case.tolerance)
        # the array path of the CompiledModel runtime gives the same tensor and scores
        assert got["arrays"] == "arrays=same", case.index
        assert got["top"] == [(i, np.float32(s)) for i, s in top_k(case.scores_array(), 5)]
        resized += (case.height, case.width) != (height, width)
    assert resized >= 8  # the resize path ran for at least half of the cases


def test_golden_sources_are_what_was_expected(built: Built, golden_jvm: dict) -> None:
    sources = {n: gv.read_golden(a.golden_dir).source for n, a in built.packaged.items()}
    assert sources == {"eval_f32": "eval_data", "int8": "calibration_data", "gray": "generated"}
    gray = gv.read_golden(built.packaged["gray"].golden_dir)
    assert all(c.channels == 3 for c in gray.cases)  # RGB in, the Kotlin gray formula ran
    seconds = {n: round(r["seconds"], 2) for n, r in golden_jvm.items()}
    print(f"\ngolden harness JVM runs (16 cases each): {seconds}")
