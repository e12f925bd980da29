"""Toolchain component ``android_host``: what tier ``android_host`` needs to run the generated
app's own code on the host JVM (``edgesdk verify OUT --android-host``).

On top of the ``android`` component (JDK, kotlinc, aapt2, TFLite 2.16.1 classes):

* Robolectric 4.16 and its runtime dependencies, from Maven Central, each pinned by version and
  SHA-256 (the list below is Maven's resolution of ``org.robolectric:robolectric:4.16``);
* ``org.robolectric:android-all-instrumented:14-robolectric-10818077-i7``: the Android 14
  framework Robolectric runs (API 34);
* ``org.robolectric:nativeruntime-dist-compat:1.0.18``: Robolectric's native runtime for Linux
  x86_64 (real Skia, for ``@GraphicsMode(NATIVE)`` bitmaps);
* ``jni/x86_64/libtensorflowlite_jni.so`` from the TFLite 2.16.1 AAR: LiteRT's native library as
  Android ships it, built against bionic;
* the bionic compatibility library (``bionic/``), compiled here with the system C compiler
  (``cc``), which lets the host JVM load that library unmodified;
* Debian's ``aapt`` (same package as ``aapt2``) to build the app's resource APK.

Everything is cached under the toolchain directory; :func:`locate` finds it without network and
raises :class:`ToolchainMissing` (exit 4) naming the missing piece.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import android
from ._missing import ToolchainMissing

Log = Callable[[str], None]


@dataclass(frozen=True)
class MavenArtifact:
    group: str
    artifact: str
    version: str
    ext: str
    sha256: str

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def path(self) -> str:
        g = self.group.replace(".", "/")
        return f"{g}/{self.artifact}/{self.version}/{self.artifact}-{self.version}.{self.ext}"


ROBOLECTRIC_VERSION = "4.16"
ANDROID_ALL_INSTRUMENTED = MavenArtifact(
    "org.robolectric", "android-all-instrumented", "14-robolectric-10818077-i7", "jar",
    "3fdac2d463f431c6b8d83b9d0ca739e795de75fffedee648c6761bd4bd864701",
)  # fmt: skip
ANDROID_SDK = 34  #: the API level of ANDROID_ALL_INSTRUMENTED
NATIVE_RUNTIME = MavenArtifact(
    "org.robolectric", "nativeruntime-dist-compat", "1.0.18", "jar",
    "a6c34d92c990754e5aee076032a36f8e38fcacb5eb878ebe0a324509f3864eef",
)  # fmt: skip

ARTIFACT_LIST = Path(__file__).resolve().parent / "robolectric-4.16.txt"


def _read_artifacts(path: Path) -> tuple[MavenArtifact, ...]:
    """``group:artifact:version@ext sha256`` per line (``#`` comments)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            coord, sha = line.split()
            gav, ext = coord.rsplit("@", 1)
            group, artifact, version = gav.split(":")
            out.append(MavenArtifact(group, artifact, version, ext, sha))
    return tuple(out)


ROBOLECTRIC_ARTIFACTS: tuple[MavenArtifact, ...] = _read_artifacts(ARTIFACT_LIST)

#: SHA-256 of jni/x86_64/libtensorflowlite_jni.so inside the TFLite 2.16.1 AAR.
TFLITE_JNI_SHA256 = "21f2570e650fc120ad28a379d927392c1883f9738895a3fd5efa0a32ae784507"
TFLITE_JNI_MEMBER = "jni/x86_64/libtensorflowlite_jni.so"

BIONIC_SOURCES = Path(__file__).resolve().parent / "bionic"
#: Load order for System.load: the compat libc first, the JNI library last.
NATIVE_LIBRARIES = ("libc.so", "libm.so", "libdl.so", "liblog.so", "libtensorflowlite_jni.so")
#: bionic_compat.c's own exports (forward.txt lists the forwarded ones).
BIONIC_ADAPTED = (
    "__sF", "__errno", "__strlen_chk", "__system_property_get", "android_set_abort_message",
    "__android_log_vprint", "vfprintf", "fprintf", "fputc", "fwrite", "fread", "fflush", "fileno",
    "fclose", "sysconf", "strerror_r", "newlocale", "memalign", "posix_memalign",
)  # fmt: skip


@dataclass(frozen=True)
class HostToolchain:
    """Paths of everything tier android_host runs with."""

    base: android.Toolchain
    aapt: Path
    android_all: Path  #: android-all-instrumented (API 34): framework classes and resources
    robolectric: tuple[Path, ...]  #: Robolectric and its dependencies (jars)
    native_runtime: Path
    native_dir: Path  #: compat libc.so, libm.so, libdl.so, liblog.so, libtensorflowlite_jni.so

    @property
    def dependency_dir(self) -> Path:
        """``-Drobolectric.dependency.dir``: the folder holding android-all-instrumented."""
        return self.android_all.parent

    @property
    def runtime_classpath(self) -> tuple[Path, ...]:
        return (*self.robolectric, self.native_runtime, self.android_all, *self.base.tflite_jars)

    @property
    def native_libraries(self) -> tuple[Path, ...]:
        return tuple(self.native_dir / n for n in NATIVE_LIBRARIES)


# ------------------------------------------------------------------------------------ fetching


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _maven_file(root: Path, a: MavenArtifact) -> Path:
    return root / "maven" / a.path


def _verified_stamp(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _is_verified(root: Path, a: MavenArtifact) -> bool:
    path = _maven_file(root, a)
    stamp = _verified_stamp(path)
    return path.is_file() and stamp.is_file() and stamp.read_text().strip() == a.sha256


def _fetch(root: Path, a: MavenArtifact, log: Log) -> Path:
    """Download ``a`` from Maven Central once, verified against its pinned SHA-256."""
    dest = _maven_file(root, a)
    if _is_verified(root, a):
        return dest
    if not dest.is_file():
        log(f"downloading {a.coordinate} ({a.ext}) from Maven Central")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + f".part{os.getpid()}")
        try:
            android._http_get(f"{android.MAVEN_REPO}/{a.path}", tmp, timeout=600)
            os.replace(tmp, dest)
        except android.ToolchainError as e:
            raise android.ToolchainError(
                f"cannot fetch {a.coordinate} from Maven Central: {e}"
            ) from e
        finally:
            tmp.unlink(missing_ok=True)
    got = _sha256(dest)
    if got != a.sha256:
        dest.unlink()
        raise android.ToolchainError(
            f"{a.coordinate}: SHA-256 {got} differs from the pinned {a.sha256}; "
            "the download was removed, run `edgesdk toolchain install` again"
        )
    _verified_stamp(dest).write_text(a.sha256 + "\n")
    return dest


def _classes_jar(root: Path, aar: Path) -> Path:
    dest = root / "android-host" / "aar-classes" / (aar.stem + ".jar")
    if not dest.is_file():
        with zipfile.ZipFile(aar) as z:
            android._atomic_write_bytes(dest, z.read("classes.jar"))
    return dest


# ------------------------------------------------------------------------------------- bionic


def forwarded_symbols() -> list[str]:
    """The names of forward.txt (functions whose bionic and glibc ABIs agree)."""
    text = (BIONIC_SOURCES / "forward.txt").read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _forward_asm(names: list[str]) -> str:
    """The generated table: per name one global function that jumps to glibc's, exported as
    ``NAME@LIBC`` (a non-default version, so the jump itself still binds to glibc)."""
    lines = ["# Generated by edgesdk from forward.txt: one jmp per forwarded function.", "\t.text"]
    for n in names:
        f = f"compat_fwd_{n}"
        lines += [
            f"\t.globl {f}",
            f"\t.type {f}, @function",
            f"{f}:",
            f"\tjmp {n}@PLT",
            f"\t.size {f}, .-{f}",
            f"\t.symver {f}, {n}@LIBC",
        ]
    lines.append('\t.section .note.GNU-stack,"",@progbits')
    return "\n".join(lines) + "\n"


def _version_script(names: list[str]) -> str:
    body = "".join(f"    {n};\n" for n in sorted({*names, *BIONIC_ADAPTED}))
    return "LIBC {\n  global:\n" + body + "  local: *;\n};\n"


def _bionic_digest() -> str:
    h = hashlib.sha256()
    for name in ("bionic_compat.c", "forward.txt"):
        h.update((BIONIC_SOURCES / name).read_bytes())
    return h.hexdigest()[:16]


def _which_cc() -> Path | None:
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        found = shutil.which(name) if name else None
        if found:
            return Path(found)
    return None


def _find_cc(log: Log | None = None) -> Path:
    """The system C compiler; as root on Debian, installs ``gcc`` with apt-get when none."""
    cc = _which_cc()
    apt_get = shutil.which("apt-get")
    if cc is None and apt_get and hasattr(os, "geteuid") and os.geteuid() == 0:
        if log:
            log("installing Debian package 'gcc' (builds the bionic compatibility library)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = [apt_get, "install", "-y", "--no-install-recommends", "gcc", "libc6-dev"]
        if subprocess.run(install, capture_output=True, env=env).returncode != 0:
            subprocess.run([apt_get, "update"], capture_output=True, env=env)
            subprocess.run(install, capture_output=True, env=env)
        cc = _which_cc()
    if cc is None:
        raise android.ToolchainError(
            "no C compiler found (cc, gcc or clang): it builds the bionic compatibility library; "
            "install one (Debian: apt-get install gcc)"
        )
    return cc


def build_bionic_compat(out_dir: Path, jni_library: Path, log: Log | None = None) -> Path:
    """Compile the compatibility library into ``out_dir`` (``libc.so`` plus empty ``libm.so``,
    ``libdl.so``, ``liblog.so`` for the JNI library's other DT_NEEDED names) and copy
    ``jni_library`` beside them. Returns ``out_dir``."""
    cc = _find_cc(log)
    if log:
        log(f"building the bionic compatibility library with {cc}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", dir=out_dir.parent))
    try:
        names = forwarded_symbols()
        (tmp / "forward.S").write_text(_forward_asm(names), encoding="utf-8")
        (tmp / "libc.map").write_text(_version_script(names), encoding="utf-8")
        (tmp / "stub.map").write_text("LIBC { local: *; };\n", encoding="utf-8")
        (tmp / "stub.c").write_text("/* only satisfies a DT_NEEDED name */\n", encoding="utf-8")
        common = ["-shared", "-fPIC", "-O2", "-Wl,-z,now"]
        android._run(
            [str(cc), *common, "-Wall", "-o", str(tmp / "libc.so"), "-Wl,-soname,libc.so",
             f"-Wl,--version-script={tmp / 'libc.map'}", str(BIONIC_SOURCES / "bionic_compat.c"),
             str(tmp / "forward.S"), "-lm", "-ldl", "-lpthread"],
            "cc",
        )  # fmt: skip
        for stub in ("libm.so", "libdl.so", "liblog.so"):
            android._run(
                [str(cc), *common, "-o", str(tmp / stub), f"-Wl,-soname,{stub}",
                 f"-Wl,--version-script={tmp / 'stub.map'}", str(tmp / "stub.c")],
                "cc",
            )  # fmt: skip
        shutil.copyfile(jni_library, tmp / "libtensorflowlite_jni.so")
        for extra in ("forward.S", "libc.map", "stub.map", "stub.c"):
            (tmp / extra).unlink()
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _jni_library(root: Path, base: android.Toolchain) -> Path:
    dest = root / "android-host" / f"tflite-{android.TFLITE_VERSION}" / "libtensorflowlite_jni.so"
    if dest.is_file() and _sha256(dest) == TFLITE_JNI_SHA256:
        return dest
    aar = root / "maven" / android._maven_path(*android.TFLITE_ARTIFACTS[0][:4])
    with zipfile.ZipFile(aar) as z:
        data = z.read(TFLITE_JNI_MEMBER)
    if hashlib.sha256(data).hexdigest() != TFLITE_JNI_SHA256:
        raise android.ToolchainError(f"{aar}: {TFLITE_JNI_MEMBER} differs from the pinned SHA-256")
    android._atomic_write_bytes(dest, data)
    return dest


# --------------------------------------------------------------------------------- component


def _native_dir(root: Path) -> Path:
    return root / "android-host" / f"native-{_bionic_digest()}"


def _find_aapt(base: android.Toolchain) -> Path | None:
    env = os.environ.get("EDGESDK_AAPT")
    if env:
        return Path(env)
    beside = base.aapt2.with_name("aapt")
    if beside.is_file():
        return beside
    found = shutil.which("aapt")
    return Path(found) if found else None


def ensure(cache_dir: Path | None = None, log: Log | None = None) -> HostToolchain:
    """Install (first call) or find (later calls, no network) everything of this component."""
    say = log or android._stderr_log
    base = android.ensure(cache_dir, say)
    root = base.root
    with android._lock(root):
        jars = []
        for a in ROBOLECTRIC_ARTIFACTS:
            path = _fetch(root, a, say)
            jars.append(_classes_jar(root, path) if a.ext == "aar" else path)
        android_all = _fetch(root, ANDROID_ALL_INSTRUMENTED, say)
        runtime = _fetch(root, NATIVE_RUNTIME, say)
        jni = _jni_library(root, base)
        native = _native_dir(root)
        if not all((native / n).is_file() for n in NATIVE_LIBRARIES):
            build_bionic_compat(native, jni, say)
    aapt = _find_aapt(base)
    if aapt is None:
        raise android.ToolchainError(
            "aapt not found (Debian package 'aapt', which also ships aapt2): "
            "apt-get install -y aapt, or point EDGESDK_AAPT at an aapt binary"
        )
    return HostToolchain(base, aapt, android_all, tuple(jars), runtime, native)


def _pieces(root: Path) -> dict[str, dict[str, object]]:
    pieces: dict[str, dict[str, object]] = {}
    for a in (*ROBOLECTRIC_ARTIFACTS, ANDROID_ALL_INSTRUMENTED, NATIVE_RUNTIME):
        path = _maven_file(root, a)
        pieces[a.coordinate] = {"path": str(path), "installed": _is_verified(root, a)}
    native = _native_dir(root)
    pieces["bionic compatibility library + libtensorflowlite_jni.so (x86_64)"] = {
        "path": str(native),
        "installed": all((native / n).is_file() for n in NATIVE_LIBRARIES),
    }
    return pieces


def status(cache_dir: Path | None = None) -> dict[str, object]:
    """What is installed, without installing or downloading anything."""
    root = (Path(cache_dir).expanduser() if cache_dir else android.default_root()).resolve()
    pieces = _pieces(root)
    aapt = shutil.which("aapt") or os.environ.get("EDGESDK_AAPT")
    pieces["aapt"] = {"path": aapt, "installed": bool(aapt)}
    return {"installed": all(bool(p["installed"]) for p in pieces.values()), "pieces": pieces}


def _items(report: dict[str, object]) -> list[tuple[str, dict[str, object]]]:
    pieces = report["pieces"]
    assert isinstance(pieces, dict)
    return list(pieces.items())


def locate(cache_dir: Path | None = None) -> HostToolchain:
    """The installed component, without network. Raises :class:`ToolchainMissing` naming the
    first missing piece."""
    root = (Path(cache_dir).expanduser() if cache_dir else android.default_root()).resolve()
    base_status = android.status(root)
    missing = [k for k, v in _items(base_status) if not v["installed"]]
    missing += [k for k, v in _items(status(root)) if not v["installed"]]
    if missing:
        raise ToolchainMissing("android_host", missing, root)
    try:
        return ensure(root, lambda _m: None)
    except android.ToolchainError as e:
        raise ToolchainMissing("android_host", [str(e)], root) from e


def run_probe(tc: HostToolchain, model: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """Load the native libraries on a plain JVM (no Robolectric) and run ``model`` once with the
    real ``org.tensorflow.lite.Interpreter``: prints the output and whether XNNPACK ran.
    The compatibility library's own check (``edgesdk toolchain status --probe`` and its test)."""
    src = work / "EdgesdkNativeProbe.java"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(_PROBE_JAVA, encoding="utf-8")
    classes = work / "classes"
    android.javac(tc.base, [src], classes, tc.base.tflite_jars)
    cmd = [
        str(tc.base.java), "-cp", android._cp([classes, *tc.base.tflite_jars]),
        f"-Djava.library.path={tc.native_dir}", "EdgesdkNativeProbe", str(tc.native_dir),
        str(model),
    ]  # fmt: skip
    env = dict(os.environ, EDGESDK_ANDROID_LOG_VERBOSE="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


_PROBE_JAVA = """\
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.Tensor;

/** Loads the bionic compatibility library and LiteRT's Android JNI library, runs a model once
 *  on zeros-then-ones input and prints the output tensor as one line of floats. */
public class EdgesdkNativeProbe {
  public static void main(String[] args) throws Exception {
    for (String lib : new String[] {"libc.so", "libm.so", "libdl.so", "liblog.so",
                                    "libtensorflowlite_jni.so"}) {
      System.load(args[0] + "/" + lib);
    }
    byte[] model = Files.readAllBytes(Paths.get(args[1]));
    ByteBuffer buffer = ByteBuffer.allocateDirect(model.length).order(ByteOrder.nativeOrder());
    buffer.put(model).rewind();
    Interpreter.Options options = new Interpreter.Options().setNumThreads(1).setUseXNNPACK(true);
    try (Interpreter interpreter = new Interpreter(buffer, options)) {
      Tensor in = interpreter.getInputTensor(0);
      Tensor out = interpreter.getOutputTensor(0);
      ByteBuffer input = ByteBuffer.allocateDirect(in.numBytes()).order(ByteOrder.nativeOrder());
      for (int i = 0; i < in.numElements(); i++) input.putFloat(i % 2 == 0 ? 0.5f : -0.25f);
      input.rewind();
      ByteBuffer output = ByteBuffer.allocateDirect(out.numBytes()).order(ByteOrder.nativeOrder());
      interpreter.run(input, output);
      output.rewind();
      StringBuilder line = new StringBuilder("OUTPUT");
      for (int i = 0; i < out.numElements(); i++) line.append(' ').append(output.getFloat());
      System.out.println(line);
    }
  }
}
"""
