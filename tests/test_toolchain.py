"""Real tests of tools/android_toolchain.py (verification tiers 2 and 3).

They provision the toolchain (network on the first run, cached afterwards) and FAIL, never
skip, when it cannot be provisioned.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import android_toolchain as atc  # noqa: E402

pytestmark = [pytest.mark.toolchain, pytest.mark.slow]


@pytest.fixture(scope="module")
def tc() -> atc.Toolchain:
    # No try/except: a toolchain that cannot be provisioned is a test failure.
    return atc.ensure()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_ensure_returns_existing_tools(tc: atc.Toolchain) -> None:
    for p in (
        tc.kotlinc,
        tc.kotlin_stdlib,
        tc.java,
        tc.javac,
        tc.android_jar,
        tc.aapt2,
        tc.aapt2_android_jar,
        *tc.tflite_jars,
    ):
        assert p.is_file(), p
    assert len(tc.tflite_jars) == 2


def test_second_ensure_is_fast_and_offline(tc: atc.Toolchain, monkeypatch) -> None:
    def no_network(*a, **k):
        raise AssertionError(f"warm ensure() touched the network: {a}")

    monkeypatch.setattr(atc, "_http_get", no_network)
    monkeypatch.setattr(
        atc.shutil, "which", lambda name: {"javac": str(tc.javac), "aapt2": str(tc.aapt2)}.get(name)
    )
    start = time.monotonic()
    again = atc.ensure(tc.root)
    assert time.monotonic() - start < 10
    assert again == tc


KOTLIN_ANDROID = """\
package com.example.tc

import android.app.Activity
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import android.os.Bundle
import android.widget.Button
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.TextView
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import java.nio.ByteBuffer
import java.nio.ByteOrder

class TinyClassifier(model: ByteBuffer) : AutoCloseable {
    private val interpreter = Interpreter(model, Interpreter.Options().setNumThreads(2))

    fun classify(bitmap: Bitmap): FloatArray {
        val pixels = IntArray(bitmap.width * bitmap.height)
        bitmap.getPixels(pixels, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
        val input = ByteBuffer.allocateDirect(4 * pixels.size * 3).order(ByteOrder.nativeOrder())
        for (p in pixels) {
            input.putFloat(((p shr 16) and 0xFF) / 255f)
            input.putFloat(((p shr 8) and 0xFF) / 255f)
            input.putFloat((p and 0xFF) / 255f)
        }
        val tensor = interpreter.getOutputTensor(0)
        check(tensor.dataType() == DataType.FLOAT32)
        val out = Array(1) { FloatArray(tensor.shape()[1]) }
        interpreter.run(input, out)
        return out[0]
    }

    override fun close() = interpreter.close()
}

class DemoActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val column = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        val image = ImageView(this)
        val label = TextView(this)
        val button = Button(this).apply { text = "Pick" }
        column.addView(button); column.addView(image); column.addView(label)
        setContentView(column)
        val fd = assets.openFd("model.tflite")
        fd.close()
        val uri: Uri? = intent?.data
        if (uri != null) {
            val bmp = contentResolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it) }
            image.setImageBitmap(bmp)
        }
    }
}
"""


def test_kotlin_against_android_and_tflite(tc: atc.Toolchain, tmp_path: Path) -> None:
    src = _write(tmp_path / "src" / "Tiny.kt", KOTLIN_ANDROID)
    out = tmp_path / "classes"
    start = time.monotonic()
    atc.kotlinc(tc, [src], out, classpath=list(tc.android_classpath))
    print(f"kotlinc (android + tflite classpath): {time.monotonic() - start:.1f}s")
    assert (out / "com/example/tc/TinyClassifier.class").is_file()
    assert (out / "com/example/tc/DemoActivity.class").is_file()


def test_kotlin_missing_tflite_fails(tc: atc.Toolchain, tmp_path: Path) -> None:
    """Without the TFLite jars on the classpath the same source must not compile."""
    src = _write(tmp_path / "Tiny.kt", KOTLIN_ANDROID)
    with pytest.raises(atc.CompileError) as info:
        atc.kotlinc(tc, [src], tmp_path / "classes", classpath=[tc.android_jar])
    assert "Interpreter" in str(info.value)


STRINGS = """\
<resources>
    <string name="app_name">Toolchain demo</string>
    <string name="x">Hello from resources</string>
</resources>
"""

LAYOUT = """\
<LinearLayout xmlns:android="http://schemas.android.com/apk/res/android"
    android:layout_width="match_parent" android:layout_height="match_parent"
    android:orientation="vertical">
    <TextView android:id="@+id/label" android:layout_width="wrap_content"
        android:layout_height="wrap_content" android:text="@string/x"
        android:textAppearance="?android:attr/textAppearanceLarge" />
    <Button android:id="@+id/pick" android:layout_width="wrap_content"
        android:layout_height="wrap_content" android:text="@android:string/ok" />
</LinearLayout>
"""

# AGP style: no package attribute (the namespace comes from Gradle), API 33+/35 attributes and
# <queries> (newer than Debian's aapt2 validator).
MANIFEST = """\
<manifest xmlns:android="http://schemas.android.com/apk/res/android"
    xmlns:tools="http://schemas.android.com/tools">
    <uses-permission android:name="android.permission.CAMERA" />
    <queries>
        <intent><action android:name="android.media.action.IMAGE_CAPTURE" /></intent>
    </queries>
    <application android:label="@string/app_name"
        android:theme="@android:style/Theme.Material.Light"
        android:enableOnBackInvokedCallback="true" tools:targetApi="35">
        <activity android:name=".MainActivity" android:exported="true"
            android:windowOptOutEdgeToEdgeEnforcement="true">
            <intent-filter>
                <action android:name="android.intent.action.MAIN" />
                <category android:name="android.intent.category.LAUNCHER" />
            </intent-filter>
        </activity>
    </application>
</manifest>
"""

ACTIVITY = """\
package com.example.res

import android.app.Activity
import android.os.Bundle
import android.widget.TextView

class MainActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.main)
        val label = findViewById<TextView>(R.id.label)
        label.text = getString(R.string.x) + " / " + getString(R.string.app_name)
    }
}
"""


def _res_project(tmp_path: Path) -> tuple[Path, Path]:
    res = tmp_path / "res"
    _write(res / "values" / "strings.xml", STRINGS)
    _write(res / "layout" / "main.xml", LAYOUT)
    manifest = _write(tmp_path / "AndroidManifest.xml", MANIFEST)
    return res, manifest


def test_aapt2_link_and_compile_with_r(tc: atc.Toolchain, tmp_path: Path) -> None:
    res, manifest = _res_project(tmp_path)
    gen = atc.aapt2_link(
        tc, res, manifest, tmp_path / "aapt2", package="com.example.res", min_sdk=24, target_sdk=35
    )
    r_java = gen / "com" / "example" / "res" / "R.java"
    assert r_java.is_file()
    r_text = r_java.read_text()
    assert "class string" in r_text and " x=0x7f" in r_text and " label=0x7f" in r_text

    kt = _write(tmp_path / "src" / "MainActivity.kt", ACTIVITY)
    out = tmp_path / "classes"
    warnings = atc.compile_mixed(tc, [kt], [r_java], out, classpath=[tc.android_jar])
    assert (out / "com/example/res/MainActivity.class").is_file()
    assert (out / "com/example/res/R$string.class").is_file()
    # findViewById is @Nullable in android-all: a warning (as with the SDK stubs), not an error.
    assert "nullable receiver" in warnings

    with pytest.raises(atc.CompileError) as info:
        atc.kotlinc(
            tc,
            [kt],
            tmp_path / "strict",
            classpath=[tc.android_jar],
            java_sources_for_reference=[r_java],
            android_nullability="strict",
        )
    assert "MainActivity.kt:12:" in str(info.value) and "error:" in str(info.value)


def test_aapt2_link_rejects_missing_resource(tc: atc.Toolchain, tmp_path: Path) -> None:
    res, manifest = _res_project(tmp_path)
    (res / "layout" / "main.xml").write_text(LAYOUT.replace("@string/x", "@string/missing"))
    with pytest.raises(atc.CompileError) as info:
        atc.aapt2_link(tc, res, manifest, tmp_path / "aapt2", package="com.example.res")
    assert "missing" in str(info.value)


def test_aapt2_link_rejects_unknown_framework_attribute(tc: atc.Toolchain, tmp_path: Path) -> None:
    res, manifest = _res_project(tmp_path)
    manifest.write_text(MANIFEST.replace("android:exported=", "android:exportedd="))
    with pytest.raises(atc.CompileError) as info:
        atc.aapt2_link(tc, res, manifest, tmp_path / "aapt2", package="com.example.res")
    assert "exportedd" in str(info.value)


PURE_KOTLIN = """\
package demo

fun bilinearMidpoint(a: Float, b: Float, c: Float, d: Float): Float = (a + b + c + d) / 4f

fun main(args: Array<String>) {
    val squares = (1..10).sumOf { it * it }
    val mid = bilinearMidpoint(0f, 1f, 2f, 3f)
    println("squares=$squares mid=$mid args=${args.joinToString(",")}")
}
"""


def test_pure_kotlin_runs_on_jvm(tc: atc.Toolchain, tmp_path: Path) -> None:
    src = _write(tmp_path / "Main.kt", PURE_KOTLIN)
    out = tmp_path / "classes"
    start = time.monotonic()
    atc.kotlinc(tc, [src], out)
    print(f"kotlinc (pure Kotlin): {time.monotonic() - start:.1f}s")
    proc = atc.run_jvm(tc, [out], "demo.MainKt", args=["a", "b"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "squares=385 mid=1.5 args=a,b"


def test_type_error_raises_compile_error(tc: atc.Toolchain, tmp_path: Path) -> None:
    src = _write(tmp_path / "Bad.kt", 'fun f(): Int {\n    val x: Int = "nope"\n    return x\n}\n')
    with pytest.raises(atc.CompileError) as info:
        atc.kotlinc(tc, [src], tmp_path / "classes")
    message = str(info.value)
    assert "Bad.kt:2:" in message
    assert "error:" in message and "type mismatch" in message
    assert info.value.output and "String" in info.value.output
