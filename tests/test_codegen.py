"""Code generation without a toolchain: context validation, filters, render rules, snapshots.

Snapshots: the rendered trees for two fixed tiny contexts are compared file by file with
``tests/snapshots/<name>/``. Review them like code. After an intended template change run
``EDGESDK_UPDATE_SNAPSHOTS=1 pytest tests/test_codegen.py`` and commit the new files.
In a snapshot folder a leading ``.`` is stored as ``dot_`` (``.gitignore`` ->
``dot_gitignore``), so the snapshot cannot act as a real ``.gitignore``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from edgesdk.codegen import (
    AndroidContext,
    android_context,
    generate_android,
    render_tree,
    templates_root,
)
from edgesdk.codegen.context import (
    android_build,
    default_android_package,
    default_class_name,
    float32,
)
from edgesdk.codegen.filters import android_string, kdoc, kotlin_float, kotlin_string
from edgesdk.codegen.runtime import AndroidRuntime, gpu_tolerance
from edgesdk.errors import CodegenError, ConfigError, EdgeSdkError, OutputError

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
FAKE_MODEL = b"\x1c\x00\x00\x00TFL3" + bytes(range(24))
UPDATE = os.environ.get("EDGESDK_UPDATE_SNAPSHOTS") == "1"


def make_context(**overrides) -> AndroidContext:
    args = dict(
        model_name="flowers",
        labels=("daisy", "rose", "tulip"),
        input_shape=(1, 8, 6, 3),
        input_dtype="float32",
        output_dtype="float32",
        mean=127.5,
        std=127.5,
        edgesdk_version="0.0.0-test",
    )
    args.update(overrides)
    return android_context(**args)


# ------------------------------------------------------------------------------------------
# Context: defaults and validation
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_name, class_name, package",
    [
        ("flowers", "FlowersClassifier", "com.example.flowers"),
        (
            "mobilenet_v2 flowers",
            "MobilenetV2FlowersClassifier",
            "com.example.mobilenet_v2_flowers",
        ),
        ("flower_classifier", "FlowerClassifier", "com.example.flower_classifier"),
        ("MyModel", "MyModel", "com.example.mymodel"),
        ("resNet-50.v2", "ResNet50V2Classifier", "com.example.resnet_50_v2"),
        ("3d net", "Model3dNetClassifier", "com.example.m3d_net"),
        ("class", "ClassClassifier", "com.example.class_app"),
        ("fun", "FunClassifier", "com.example.fun_app"),
        ("Interpreter", "InterpreterClassifier", "com.example.interpreter"),
        ("日本語", "ImageClassifier", "com.example.edgesdk"),
        ("café au lait", "CafAuLaitClassifier", "com.example.caf_au_lait"),
    ],
)
def test_derived_names_are_safe(model_name: str, class_name: str, package: str) -> None:
    assert default_class_name(model_name) == class_name
    assert default_android_package(model_name) == package
    ctx = make_context(model_name=model_name)  # validates the derived values too
    assert (ctx.class_name, ctx.android_package) == (class_name, package)


def test_context_fields_and_derived_values() -> None:
    ctx = make_context(
        input_dtype=np.dtype("int8"),
        input_quant=(np.float32(0.0078125), np.int64(-1)),
        output_dtype=np.uint8,
        output_quant=(0.00390625, 0),
        mean=(0.1, 0.2, 0.3),
        std=(1.0, 2.0, 3.0),
        author="Jane",
        version="2.1",
    )
    assert (ctx.input_height, ctx.input_width, ctx.input_channels) == (8, 6, 3)
    assert (ctx.input_dtype, ctx.input_scale, ctx.input_zero_point) == ("int8", 0.0078125, -1)
    assert (ctx.output_dtype, ctx.output_scale, ctx.output_zero_point) == ("uint8", 0.00390625, 0)
    assert ctx.mean == (float32(0.1), float32(0.2), float32(0.3))  # stored as float32 values
    assert ctx.num_classes == 3 and ctx.model_asset == "model.tflite"
    assert ctx.package_path == "com/example/flowers"
    assert ctx.preprocessing_class_name == "FlowersClassifierPreprocessing"
    d = ctx.to_template_dict()
    assert d["labels"] == ("daisy", "rose", "tulip") and d["package_path"] == "com/example/flowers"
    assert d["build"]["min_sdk"] == 24 and d["build"]["compile_sdk"] == 35
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.class_name = "Other"  # type: ignore[misc]


def test_float_tensors_accept_tflite_style_zero_quantization() -> None:
    ctx = make_context(input_quant=(0.0, 0), output_quant=(0.0, 0))
    assert (ctx.input_scale, ctx.input_zero_point) == (0.0, 0)
    assert make_context(input_shape=(8, 6, 1), mean=0.5, std=0.25).mean == (0.5,)


def test_user_names_are_kept() -> None:
    ctx = make_context(class_name="Flowers_2", android_package="Org.Example.My_App2")
    assert (ctx.class_name, ctx.android_package) == ("Flowers_2", "Org.Example.My_App2")


@pytest.mark.parametrize(
    "class_name, fragment",
    [
        ("class", "keyword"),
        ("object", "keyword"),
        ("fun", "keyword"),
        ("val", "keyword"),
        ("typealias", "keyword"),
        ("interface", "keyword"),
        ("int", "keyword"),  # Java keyword
        ("Interpreter", "clashes"),
        ("Context", "clashes"),
        ("String", "clashes"),
        ("MainActivity", "clashes"),
        ("mainactivity", "clashes"),
        ("1Model", "not a valid Kotlin identifier"),
        ("_Model", "not a valid Kotlin identifier"),
        ("My-Model", "not a valid Kotlin identifier"),
        ("My Model", "not a valid Kotlin identifier"),
        ("Modèle", "not a valid Kotlin identifier"),
        ("", "not a valid Kotlin identifier"),
        ("`class`", "not a valid Kotlin identifier"),
        ("A" * 101, "too long"),
    ],
)
def test_bad_class_names_are_refused(class_name: str, fragment: str) -> None:
    with pytest.raises(CodegenError) as err:
        make_context(class_name=class_name)
    message = str(err.value)
    assert fragment in message
    assert "Received: class_name=" in message and "--class-name" in message


@pytest.mark.parametrize(
    "package, fragment",
    [
        ("", "empty"),
        ("flowers", "at least two segments"),
        ("com..flowers", "not a valid identifier"),
        ("com.example.", "not a valid identifier"),
        (".com.example", "not a valid identifier"),
        ("com.1flowers", "not a valid identifier"),
        ("com._flowers", "not a valid identifier"),
        ("com.my-app", "not a valid identifier"),
        ("com.exämple", "not a valid identifier"),
        ("com.example/app", "not a valid identifier"),
        ("com.class.app", "keyword"),
        ("com.example.fun", "keyword"),  # Kotlin-only keyword
        ("com.example.object", "keyword"),
        ("com.example.int", "keyword"),  # Java-only keyword
        ("com.example.true", "keyword"),
        ("com." + "a" * 200, "too long"),
    ],
)
def test_bad_packages_are_refused(package: str, fragment: str) -> None:
    with pytest.raises(CodegenError) as err:
        make_context(android_package=package)
    message = str(err.value)
    assert fragment in message
    assert "Received: android_package=" in message
    assert "lowercase" in message  # the fix advises a lowercase reverse-domain id


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (dict(model_name=""), "model_name must not be empty"),
        (dict(model_name="two\nlines"), "one line"),
        (dict(author="a\x00b"), "one line"),
        (dict(version=""), "version must not be empty"),
        (dict(labels=()), "at least one label"),
        (dict(labels="abc"), "sequence of strings"),
        (dict(labels=("a", 2, "c")), "every label must be a string"),
        (dict(labels=tuple(str(i) for i in range(5001))), "too many labels"),
        (dict(num_classes=4), "number of labels"),
        (dict(input_shape=(None, 8, 3)), "fixed size"),
        (dict(input_shape=(8, 6)), "fixed size"),
        (dict(input_shape=(2, 8, 6, 3)), "fixed size"),
        (dict(input_shape=(8, 6, 4)), "1 (grayscale) or 3 (RGB)"),
        (dict(input_shape=(0, 6, 3)), "positive integer"),
        (dict(input_dtype="int16"), "not supported"),
        (dict(output_dtype=np.float16), "not supported"),
        (dict(input_quant=(0.5, 0)), "no quantization parameters"),
        (dict(input_dtype="int8", input_quant=None), "positive finite"),
        (dict(input_dtype="int8", input_quant=(float("nan"), 0)), "positive finite"),
        (dict(input_dtype="int8", input_quant=(1e-50, 0)), "positive finite"),
        (dict(input_dtype="int8", input_quant=(0.1, 128)), "out of the int8 range"),
        (dict(output_dtype="uint8", output_quant=(0.1, -1)), "out of the uint8 range"),
        (dict(output_dtype="uint8", output_quant="0.1"), "(scale, zero_point) pair"),
        (dict(mean=(1.0, 2.0)), "one value per input channel"),
        (dict(input_shape=(8, 6, 1), mean=(1.0, 2.0, 3.0)), "one value per input channel"),
        (dict(std=0.0), "non-zero"),
        (dict(std=1e-50), "non-zero"),  # 0 as float32
        (dict(mean=float("inf")), "finite"),
        (dict(mean=1e39), "finite"),  # inf as float32
        (dict(mean="abc"), "must be numbers"),
    ],
)
def test_bad_values_are_refused(overrides: dict, fragment: str) -> None:
    with pytest.raises(CodegenError) as err:
        make_context(**overrides)
    assert fragment in str(err.value)
    assert "Received:" in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, EdgeSdkError)


def test_direct_construction_validates_too() -> None:
    ctx = make_context()
    with pytest.raises(CodegenError, match="keyword"):
        dataclasses.replace(ctx, class_name="when")
    with pytest.raises(CodegenError, match="model.tflite"):
        dataclasses.replace(ctx, model_asset="other.tflite")


# ------------------------------------------------------------------------------------------
# Filters
# ------------------------------------------------------------------------------------------

HOSTILE = [
    "plain",
    'quote " inside',
    "apostrophe ' inside",
    "$dollar",
    "${x}",
    "$x and ${y.z} and $",
    "back\\slash",
    "trailing backslash\\",
    "\\u0041 not an escape",
    "*/ closes a comment",
    "/* opens a comment",
    '"""triple"""',
    "new\nline",
    "tab\tcr\rbackspace\b",
    "\x00nul \x1f \x7f del \x85",
    "\u2028\u2029",
    "unicode é ß 中文",
    "emoji 🎉👍🏽 👩‍💻",
    "lone surrogate \ud800",
    "class",
    "fun",
    "",
    " ",
]


def decode_kotlin_string(literal: str) -> str:
    """A small reference decoder of Kotlin string literals (escapes + UTF-16 units)."""
    assert literal[0] == '"' and literal[-1] == '"'
    body = literal[1:-1]
    simple = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "'": "'", '"': '"', "\\": "\\", "$": "$"}
    units: list[int] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt == "u":
                units.append(int(body[i + 2 : i + 6], 16))
                i += 6
                continue
            units.append(ord(simple[nxt]))
            i += 2
            continue
        assert ch not in '"$', f"unescaped {ch!r} in {literal}"
        units.append(ord(ch))
        i += 1
    data = b"".join(u.to_bytes(2, "big") for u in units)
    return data.decode("utf-16-be", "surrogatepass")


@pytest.mark.parametrize("value", HOSTILE)
def test_kotlin_string_round_trips(value: str) -> None:
    literal = kotlin_string(value)
    assert literal.isascii() and literal.isprintable()
    assert "\n" not in literal
    assert decode_kotlin_string(literal) == value
    # no string template can start: every '$' is escaped
    assert not re.search(r"(?<!\\)\$", literal.replace("\\\\", ""))


def test_kotlin_string_exact_forms() -> None:
    assert kotlin_string('a"b') == '"a\\"b"'
    assert kotlin_string("${x}") == '"\\${x}"'
    assert kotlin_string("a\\b") == '"a\\\\b"'
    assert kotlin_string("é") == '"\\u00E9"'
    assert kotlin_string("🎉") == '"\\uD83C\\uDF89"'
    assert kotlin_string("\x00") == '"\\u0000"'
    with pytest.raises(TypeError):
        kotlin_string(3)


@pytest.mark.parametrize(
    "value, literal",
    [
        (127.5, "127.5f"),
        (0.1, "0.1f"),
        (1.0, "1.0f"),
        (255, "255.0f"),
        (0.0, "0.0f"),
        (-0.0, "-0.0f"),
        (-58.395, "-58.395f"),
        (1 / 255, "0.003921569f"),
        (0.00390625, "0.00390625f"),
        (1e-8, "1.0E-8f"),
        (12345678.0, "1.2345678E7f"),
        (3.4028234663852886e38, "3.4028235E38f"),
        (1e-45, "1.0E-45f"),
    ],
)
def test_kotlin_float_literals(value: float, literal: str) -> None:
    assert kotlin_float(value) == literal


def test_kotlin_float_round_trips_float32() -> None:
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, 2000, dtype=np.uint64).astype(np.uint32)
    bits = bits[(bits & 0x7F800000) != 0x7F800000]  # every finite float32 pattern, subnormals too
    values = np.concatenate(
        [
            rng.standard_normal(2000) * 10.0 ** rng.integers(-12, 12, 2000),
            bits.view(np.float32).astype(np.float64),
        ]
    )
    with np.errstate(all="ignore"):
        values = values[np.isfinite(values.astype(np.float32))]
    assert values.size > 3000
    for v in values:
        text = kotlin_float(v)
        assert text.endswith("f") and re.fullmatch(r"-?\d+\.\d+(E-?\d+)?f", text), text
        assert np.float32(float(text[:-1])) == np.float32(v)
        assert len(text.rstrip("f").lstrip("-").replace(".", "").split("E")[0].strip("0")) <= 9
    for bad in (float("nan"), float("inf"), 1e39):
        with pytest.raises(ValueError):
            kotlin_float(bad)


def test_kdoc_cannot_close_or_nest_a_comment() -> None:
    for value in HOSTILE + ["a*/b", "/*/", "**/", "*/*/", "/**/"]:
        text = kdoc(value)
        assert "*/" not in text and "/*" not in text, (value, text)
        assert "\n" not in text and "\r" not in text
    assert kdoc("a */ b") == "a *&#47; b"


def test_android_string_escapes() -> None:
    assert android_string('Tom\'s <app> & "co" \\ ok') == (
        'Tom\\\'s &lt;app&gt; &amp; \\"co\\" \\\\ ok'
    )
    assert android_string("@string/x") == "\\@string/x"
    assert android_string("?attr") == "\\?attr"
    assert android_string("a\nb") == "a b"


# ------------------------------------------------------------------------------------------
# render_tree rules
# ------------------------------------------------------------------------------------------


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


@pytest.fixture
def template_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tpl"
    _write(root / "raw.txt", "{{ not rendered }} ${x}\n")
    _write(root / "bin.dat", bytes(range(256)) + b"{{ name }}")
    _write(root / "hello.txt.jinja", "Hello {{ name }}!\n{% if flag %}\nflag on\n{% endif %}\n")
    _write(root / "{{ package_path }}" / "{{ name }}.kt.jinja", "package {{ package }}\n")
    _write(root / "dot_gitignore", "build/\n")
    _write(root / "sub" / "dot_env.jinja", "NAME={{ name }}")
    _write(root / "__pycache__" / "x.cpython-311.pyc", b"\x00")
    _write(root / "sub" / "y.pyc", b"\x00")
    script = root / "run.sh"
    _write(script, "#!/bin/sh\n")
    script.chmod(0o755)
    return root


CTX = {
    "name": "World",
    "flag": True,
    "package": "com.example.app",
    "package_path": "com/example/app",
}


def test_render_tree_rules(template_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = render_tree(template_tree, out, CTX)
    assert files == sorted(
        Path(p)
        for p in [
            ".gitignore",
            "bin.dat",
            "com/example/app/World.kt",
            "hello.txt",
            "raw.txt",
            "run.sh",
            "sub/.env",
        ]
    )
    assert (out / "raw.txt").read_bytes() == (template_tree / "raw.txt").read_bytes()
    assert (out / "bin.dat").read_bytes() == bytes(range(256)) + b"{{ name }}"
    # trim_blocks/lstrip_blocks: block tags leave no blank lines; trailing newline kept
    assert (out / "hello.txt").read_text() == "Hello World!\nflag on\n"
    assert (out / "com/example/app/World.kt").read_text() == "package com.example.app\n"
    assert (out / ".gitignore").read_text() == "build/\n"
    assert (out / "sub/.env").read_text() == "NAME=World"  # no newline added either
    assert not (out / "__pycache__").exists()
    assert os.stat(out / "run.sh").st_mode & stat.S_IXUSR


def test_render_tree_strict_undefined(template_tree: Path, tmp_path: Path) -> None:
    ctx = {k: v for k, v in CTX.items() if k != "flag"}
    with pytest.raises(CodegenError, match=r"hello\.txt\.jinja.*'flag' is undefined"):
        render_tree(template_tree, tmp_path / "out", ctx)
    ctx = {k: v for k, v in CTX.items() if k != "package_path"}
    with pytest.raises(CodegenError, match="package_path"):
        render_tree(template_tree, tmp_path / "out2", ctx)


@pytest.mark.parametrize("evil", ["..", "", ".", "a/../..", "a\\b"])
def test_render_tree_refuses_unsafe_paths(tmp_path: Path, evil: str) -> None:
    root = tmp_path / "tpl"
    _write(root / "{{ d }}" / "f.txt", "x")
    with pytest.raises(CodegenError, match="unsafe or empty path segment"):
        render_tree(root, tmp_path / "out", {"d": evil})
    assert not (tmp_path / "f.txt").exists()


def test_render_tree_refuses_collisions(tmp_path: Path) -> None:
    root = tmp_path / "tpl"
    _write(root / "a.txt", "raw")
    _write(root / "a.txt.jinja", "rendered")
    with pytest.raises(CodegenError, match="same output file"):
        render_tree(root, tmp_path / "out", {})
    root2 = tmp_path / "tpl2"
    _write(root2 / "{{ n }}.kt.jinja", "x")
    _write(root2 / "Model.kt", "y")
    with pytest.raises(CodegenError, match="same output file"):  # case-insensitive clash
        render_tree(root2, tmp_path / "out2", {"n": "MODEL"})


def test_render_tree_missing_root(tmp_path: Path) -> None:
    with pytest.raises(CodegenError, match="template folder does not exist"):
        render_tree(tmp_path / "nope", tmp_path / "out", {})


def test_render_tree_is_deterministic(template_tree: Path, tmp_path: Path) -> None:
    a = render_tree(template_tree, tmp_path / "a", CTX)
    b = render_tree(template_tree, tmp_path / "b", CTX)
    assert a == b
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")


def test_templates_root_has_both_trees() -> None:
    root = templates_root()
    assert root.joinpath("kotlin").is_dir() and root.joinpath("android").is_dir()


# ------------------------------------------------------------------------------------------
# generate_android
# ------------------------------------------------------------------------------------------


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_generate_android_layout(tmp_path: Path) -> None:
    ctx = make_context()
    gen = generate_android(ctx, FAKE_MODEL, tmp_path / "out")
    assert gen.kotlin == tmp_path / "out" / "kotlin" / "FlowersClassifier.kt"
    assert gen.android == tmp_path / "out" / "android"
    assert gen.model_asset.read_bytes() == FAKE_MODEL
    files = {p.as_posix() for p in gen.files}
    assert files == set(_tree_bytes(tmp_path / "out"))
    app = "android/app/src/main/"
    for expected in [
        "kotlin/FlowersClassifier.kt",
        "android/settings.gradle.kts",
        "android/build.gradle.kts",
        "android/gradle.properties",
        "android/gradle/libs.versions.toml",
        "android/gradle/wrapper/gradle-wrapper.properties",
        "android/.gitignore",
        "android/README.md",
        "android/app/build.gradle.kts",
        app + "AndroidManifest.xml",
        app + "assets/model.tflite",
        app + "java/com/example/flowers/FlowersClassifier.kt",
        app + "java/com/example/flowers/MainActivity.kt",
        app + "res/layout/activity_main.xml",
        app + "res/values/strings.xml",
        app + "res/values/themes.xml",
        "android/app/src/androidTest/java/com/example/flowers/GoldenInstrumentation.kt",
        "android/app/src/androidTest/java/com/example/flowers/GoldenVectors.kt",
        "android/app/src/androidTest/java/com/example/flowers/GoldenSuite.kt",
        "android/run-device-test.sh",
        "android/.github/workflows/android-device-test.yml",
    ]:
        assert expected in files, expected
    assert not any("androidTest/assets" in f for f in files)  # golden vectors only when given
    assert os.stat(gen.android / "run-device-test.sh").st_mode & stat.S_IXUSR
    assert not any(f.endswith((".jinja", "gradle-wrapper.jar")) for f in files)
    assert (
        gen.kotlin.read_bytes()
        == (tmp_path / "out" / app / "java/com/example/flowers/FlowersClassifier.kt").read_bytes()
    )


RUNTIME_IMPORTS = {
    "interpreter": {
        "android.content.Context",
        "android.graphics.Bitmap",
        "org.tensorflow.lite.DataType",
        "org.tensorflow.lite.Interpreter",
    },
    "compiled-model": {
        "android.content.Context",
        "android.graphics.Bitmap",
        "com.google.ai.edge.litert.Accelerator",
        "com.google.ai.edge.litert.CompiledModel",
        "com.google.ai.edge.litert.Environment",
        "com.google.ai.edge.litert.TensorBuffer",
    },
}


@pytest.mark.parametrize("runtime", ["compiled-model", "interpreter"])
def test_generated_wrapper_contract(tmp_path: Path, runtime: str) -> None:
    """The wrapper's pure part imports nothing from Android or LiteRT, and the Gradle files
    say what the issue asks for."""
    ctx = make_context(
        labels=("a$b", '"q"'), author="*/ evil", version="1 */", runtime=AndroidRuntime(runtime)
    )
    gen = generate_android(ctx, FAKE_MODEL, tmp_path / "out")
    kt = gen.kotlin.read_text(encoding="utf-8")
    assert kt.isascii()
    imports = re.findall(r"^import (\S+)", kt, flags=re.M)
    litert = ("android.", "org.tensorflow.", "com.google.")
    assert {i for i in imports if i.startswith(litert)} == RUNTIME_IMPORTS[runtime]
    pure = kt[kt.index("class FlowersClassifierPreprocessing(") :]
    code = "\n".join(
        line for line in pure.splitlines() if not line.strip().startswith(("*", "/*", "//"))
    )
    for needle in ("Context", "Bitmap", "Interpreter", "DataType", "android", "tensorflow",
                   "litert", "Accelerator", "TensorBuffer", "CompiledModel"):  # fmt: skip
        assert needle not in code, needle
    assert '"a\\$b",' in kt and '"\\"q\\"",' in kt
    # drop-in alone: nothing from the sample app (R, MainActivity) and no AndroidX
    assert not re.search(r"\bR\.", kt) and "MainActivity" not in kt
    assert "*/ evil" not in kt and "1 */" not in kt
    assert "androidx" not in kt.lower()
    gradle = (gen.android / "app" / "build.gradle.kts").read_text()
    assert 'namespace = "com.example.flowers"' in gradle
    assert "compileSdk = 35" in gradle and "minSdk = 24" in gradle
    assert 'noCompress += "tflite"' in gradle
    assert "implementation(libs.litert)" in gradle
    assert "implementation(libs.litert.gpu)" not in gradle
    toml = (gen.android / "gradle" / "libs.versions.toml").read_text()
    assert 'name = "litert"' in toml and 'group = "com.google.ai.edge.litert"' in toml
    assert "litert-gpu =" not in toml
    main = gen.android / "app/src/main/java/com/example/flowers/MainActivity.kt"
    activity = main.read_text()
    assert "androidx" not in activity
    assert "ACTION_OPEN_DOCUMENT" in activity and "ACTION_IMAGE_CAPTURE" in activity
    theme = (gen.android / "app/src/main/res/values/themes.xml").read_text()
    assert 'parent="android:Theme.Material.Light' in theme


def test_generate_android_refuses_bad_input(tmp_path: Path) -> None:
    ctx = make_context()
    with pytest.raises(CodegenError, match="not a TFLite flatbuffer"):
        generate_android(ctx, b"not a model", tmp_path / "a")
    with pytest.raises(CodegenError, match="AndroidContext"):
        generate_android({"class_name": "X"}, FAKE_MODEL, tmp_path / "b")  # type: ignore[arg-type]
    with pytest.raises(CodegenError, match="golden vectors folder"):
        generate_android(ctx, FAKE_MODEL, tmp_path / "c", golden_dir=tmp_path / "missing")
    generate_android(ctx, FAKE_MODEL, tmp_path / "d")
    with pytest.raises(OutputError, match="already has generated files"):
        generate_android(ctx, FAKE_MODEL, tmp_path / "d")


def test_generate_android_copies_golden_vectors(tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    _write(golden / "inputs.npy", b"\x93NUMPY fake")
    _write(golden / "sub" / "expected.bin", bytes(range(10)))
    gen = generate_android(make_context(), FAKE_MODEL, tmp_path / "out", golden_dir=golden)
    assets = gen.android / "app/src/androidTest/assets/golden"
    assert (assets / "inputs.npy").read_bytes() == b"\x93NUMPY fake"
    assert (assets / "sub/expected.bin").read_bytes() == bytes(range(10))


def test_generate_android_is_deterministic(tmp_path: Path) -> None:
    ctx = make_context(labels=tuple(HOSTILE), class_name="HostileModel")
    a = generate_android(ctx, FAKE_MODEL, tmp_path / "a")
    b = generate_android(
        make_context(labels=tuple(HOSTILE), class_name="HostileModel"), FAKE_MODEL, tmp_path / "b"
    )
    assert [p.as_posix() for p in a.files] == [p.as_posix() for p in b.files]
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")


# ------------------------------------------------------------------------------------------
# Snapshots
# ------------------------------------------------------------------------------------------

SNAPSHOT_CONTEXTS = {
    # the full tree for an RGB float model
    "android_rgb_float32": (
        dict(
            model_name="Flowers demo",
            labels=("daisy", "dandelion", "rose", "sunflower", "tulip"),
            input_shape=(1, 224, 224, 3),
            mean=(123.675, 116.28, 103.53),
            std=(58.395, 57.12, 57.375),
            author="edgesdk tests",
            version="1.0",
        ),
        None,
    ),
    # the wrapper alone on the opt-in CompiledModel runtime (the same model as android_rgb_float32)
    "kotlin_rgb_compiled_model": (
        dict(
            model_name="Flowers demo",
            labels=("daisy", "dandelion", "rose", "sunflower", "tulip"),
            input_shape=(1, 224, 224, 3),
            mean=(123.675, 116.28, 103.53),
            std=(58.395, 57.12, 57.375),
            author="edgesdk tests",
            version="1.0",
            runtime=AndroidRuntime("compiled-model"),
        ),
        "kotlin",
    ),
    # the Gradle files of an app that bundles the GPU accelerator
    "gradle_rgb_gpu": (
        dict(
            model_name="Flowers demo",
            labels=("daisy", "dandelion", "rose", "sunflower", "tulip"),
            input_shape=(1, 224, 224, 3),
            version="1.0",
            runtime=AndroidRuntime("compiled-model", ("gpu",)),
        ),
        "android/gradle",
    ),
    # the wrapper alone for a grayscale, fully quantized model with awkward labels (CompiledModel)
    "kotlin_gray_int8": (
        dict(
            model_name="digits",
            labels=("zero", 'say "one"', "$two", "tr\u00e8s", "🎉"),
            input_shape=(28, 28, 1),
            input_dtype="int8",
            input_quant=(0.003921569, -128),
            output_dtype="uint8",
            output_quant=(0.00390625, 0),
            mean=0.0,
            std=1.0,
            class_name="DigitsModel",
            android_package="org.example.digits",
            version="3",
            runtime=AndroidRuntime("compiled-model"),
        ),
        "kotlin",
    ),
}


def _snapshot_name(rel: str) -> str:
    return "/".join("dot_" + p[1:] if p.startswith(".") else p for p in rel.split("/"))


@pytest.mark.parametrize("name", sorted(SNAPSHOT_CONTEXTS))
def test_snapshot(name: str, tmp_path: Path) -> None:
    overrides, subtree = SNAPSHOT_CONTEXTS[name]
    gen = generate_android(make_context(**overrides), FAKE_MODEL, tmp_path)
    root = tmp_path / subtree if subtree else tmp_path
    rendered = {
        _snapshot_name(rel): data
        for rel, data in _tree_bytes(root).items()
        if not rel.endswith("assets/model.tflite")  # binary, checked byte-identical elsewhere
    }
    assert gen.model_asset.read_bytes() == FAKE_MODEL
    snap_dir = SNAPSHOTS / name
    if UPDATE:
        shutil.rmtree(snap_dir, ignore_errors=True)
        for rel, data in rendered.items():
            _write(snap_dir / rel, data)
    assert snap_dir.is_dir(), (
        f"no snapshot at {snap_dir}; run EDGESDK_UPDATE_SNAPSHOTS=1 pytest {__file__}"
    )
    stored = _tree_bytes(snap_dir)
    assert sorted(rendered) == sorted(stored), "generated file list differs from the snapshot"
    changed = [rel for rel in rendered if rendered[rel] != stored[rel]]
    if changed:
        import difflib

        rel = changed[0]
        diff = "".join(
            difflib.unified_diff(
                stored[rel].decode("utf-8", "replace").splitlines(True),
                rendered[rel].decode("utf-8", "replace").splitlines(True),
                f"snapshot/{rel}",
                f"generated/{rel}",
            )
        )
        pytest.fail(
            f"{len(changed)} file(s) differ from tests/snapshots/{name} ({', '.join(changed)}); "
            f"if intended, rerun with EDGESDK_UPDATE_SNAPSHOTS=1 and review.\n{diff[:4000]}"
        )


# ------------------------------------------------------------------------------------------
# Runtimes and accelerators
# ------------------------------------------------------------------------------------------


def test_default_runtime_is_the_interpreter_on_the_cpu() -> None:
    rt = make_context().runtime
    assert (rt.name, rt.accelerators, rt.gpu) == ("interpreter", ("cpu",), False)
    assert AndroidRuntime("COMPILED_MODEL", ["GPU", "cpu", "gpu"]).accelerators == ("cpu", "gpu")


@pytest.mark.parametrize(
    "runtime, accelerators, fragment",
    [
        ("tflite", (), "unknown Android runtime"),
        ("compiled-model", ("tpu",), "unknown Android accelerator"),
        ("compiled-model", ("npu",), "cannot be bundled"),
        ("interpreter", ("gpu",), "CPU only"),
    ],
)
def test_bad_runtime_options_are_refused(runtime: str, accelerators: tuple, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        AndroidRuntime(runtime, accelerators)
    message = str(info.value)
    assert fragment in message and "Supported:" in message and "Received:" in message


def test_bad_runtime_options_fail_the_cli_cleanly(tmp_path: Path) -> None:
    from .helpers import assert_user_error, run_cli

    for args, fragment in (
        (["--android-runtime", "nnapi"], "unknown Android runtime"),
        (["--android-runtime", "interpreter", "--android-accelerator", "gpu"], "CPU only"),
        (["--android-accelerator", "npu"], "cannot be bundled"),
    ):
        out = tmp_path / "never"
        res = run_cli("package", tmp_path / "missing.h5", "-o", out, *args)
        assert_user_error(res, fragment)
        assert not out.exists()


def test_versions_come_from_the_catalog_template() -> None:
    build = android_build()
    catalog = templates_root().joinpath("android", "gradle", "libs.versions.toml.jinja")
    text = catalog.read_bytes().decode("utf-8")
    for key in ("agp", "kotlin", "gradle", "litert"):
        assert f'{key} = "{build[key]}"' in text
    assert build["litert"] == "2.3.0" and build["agp"].startswith("8.13.")
    # each version carries a comment saying where it was checked
    assert text.count("# ") >= 8 and "agp-8-13-0-release-notes" in text


def test_gpu_bundles_litert_gpu_and_the_tolerance_rule(tmp_path: Path) -> None:
    ctx = make_context(runtime=AndroidRuntime("compiled-model", ("gpu",)))
    gen = generate_android(ctx, FAKE_MODEL, tmp_path / "out")
    gradle = (gen.android / "app" / "build.gradle.kts").read_text()
    toml = (gen.android / "gradle" / "libs.versions.toml").read_text()
    assert "implementation(libs.litert.gpu)" in gradle
    assert 'litert-gpu = { group = "com.google.ai.edge.litert", name = "litert-gpu"' in toml
    test = next((gen.android / "app" / "src" / "androidTest").rglob("GoldenInstrumentation.kt"))
    assert "GPU_RELATIVE_TOLERANCE = 0.02f" in test.read_text()
    assert gpu_tolerance(1e-5, 0.5) == pytest.approx(0.02)
    assert gpu_tolerance(1e-5, 10.0) == pytest.approx(0.2)
    assert gpu_tolerance(0.5, 1.0) == 0.5
