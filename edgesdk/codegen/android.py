"""Generate the Kotlin wrapper and the Android sample app for an image classifier.

``generate_android(context, model_bytes, out_dir)`` writes::

    out_dir/kotlin/<ClassName>.kt      the wrapper alone, to drop into an existing app
    out_dir/android/                   the Gradle project: app with the model in assets,
                                       the same wrapper, a sample screen, README

from the template trees ``templates/kotlin`` and ``templates/android`` (see
:mod:`edgesdk.codegen.render` for the rules). The output depends only on the context
and the model bytes: the same inputs give byte-identical files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from edgesdk.errors import CodegenError, OutputError

from .context import AndroidContext
from .render import render_tree

_TFLITE_IDENTIFIER = b"TFL3"


@dataclass(frozen=True)
class GeneratedAndroid:
    """What :func:`generate_android` wrote."""

    out_dir: Path
    kotlin: Path  #: ``out_dir/kotlin/<ClassName>.kt``
    android: Path  #: ``out_dir/android`` (the Gradle project)
    model_asset: Path  #: ``out_dir/android/app/src/main/assets/model.tflite``
    files: tuple[Path, ...]  #: every written file, relative to ``out_dir``, sorted


def templates_root() -> Any:
    """The root of the template trees: the installed package ``edgesdk.templates``, or
    the repository's ``templates/`` folder when edgesdk runs from a source checkout."""
    # A source checkout (templates/ beside edgesdk/, with pyproject.toml) renders its own
    # templates, so several checkouts can share one interpreter with one editable install.
    checkout = Path(__file__).resolve().parents[2]
    local = checkout / "templates"
    if (checkout / "pyproject.toml").is_file() and local.joinpath("kotlin").is_dir():
        return local
    try:
        root = resources.files("edgesdk.templates")
        if root.joinpath("kotlin").is_dir():
            return root
    except ModuleNotFoundError:
        pass
    raise CodegenError(
        "the code-generation templates are missing",
        received=str(local),
        fix="Reinstall edgesdk; the templates ship inside the package as edgesdk.templates",
    )


def _require_empty(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise OutputError(
            "the output folder already has generated files",
            received=str(path),
            fix="Generate into a new or empty folder",
        )


def generate_android(
    context: AndroidContext,
    model_bytes: bytes,
    out_dir: Path,
    golden_dir: Path | None = None,
    overlay: str | None = None,
    extra_context: Mapping[str, Any] | None = None,
) -> GeneratedAndroid:
    """Write ``out_dir/kotlin/<ClassName>.kt`` and the Gradle project ``out_dir/android``.

    ``model_bytes`` (the final ``.tflite``, metadata included) is stored byte for byte as
    ``android/app/src/main/assets/model.tflite``. ``golden_dir``, when given, is copied
    byte for byte into ``android/app/src/androidTest/assets/golden/`` (the instrumented
    test that reads it is generated separately). ``overlay`` names a task's template folder
    (``templates/tasks/<overlay>/`` with ``kotlin/`` and ``android/``): its files are rendered
    over the common trees, replacing files of the same output path (e.g. an object detector's
    wrapper, sample screen and golden test; an overlay file that renders empty removes the
    common file of its path); ``extra_context`` adds the task's own template
    values. Raises :class:`CodegenError` for input
    that cannot be generated and :class:`OutputError` when ``out_dir`` already holds a
    ``kotlin`` or ``android`` folder with files.
    """
    if not isinstance(context, AndroidContext):
        raise CodegenError(
            "generate_android needs an AndroidContext",
            received=type(context).__name__,
            fix="Build it with edgesdk.codegen.android_context(...)",
        )
    data = bytes(model_bytes)
    if len(data) < 8 or data[4:8] != _TFLITE_IDENTIFIER:
        raise CodegenError(
            "the model bytes are not a TFLite flatbuffer",
            received=f"{len(data)} bytes starting {data[:8]!r}",
            supported="a .tflite model (file identifier TFL3)",
            fix="Pass the converted .tflite bytes",
        )
    if golden_dir is not None and not Path(golden_dir).is_dir():
        raise CodegenError("the golden vectors folder does not exist", received=str(golden_dir))
    out_dir = Path(out_dir)
    kotlin_dir = out_dir / "kotlin"
    android_dir = out_dir / "android"
    _require_empty(kotlin_dir)
    _require_empty(android_dir)

    ctx = {**context.to_template_dict(), **dict(extra_context or {})}
    root = templates_root()
    written: list[Path] = []
    task_root = root.joinpath("tasks", overlay) if overlay is not None else None
    if task_root is not None and not task_root.is_dir():
        raise CodegenError("the task has no templates", received=str(overlay))

    for rel in render_tree(root.joinpath("kotlin"), kotlin_dir, ctx):
        written.append(Path("kotlin") / rel)
    if task_root is not None and task_root.joinpath("kotlin").is_dir():
        written += [
            Path("kotlin") / rel
            for rel in render_tree(task_root.joinpath("kotlin"), kotlin_dir, ctx)
            if Path("kotlin") / rel not in written
        ]
    wrapper = kotlin_dir / f"{context.class_name}.kt"
    if not wrapper.is_file():
        raise CodegenError(
            "the Kotlin template did not produce the wrapper file",
            received=sorted(str(p) for p in written),
            fix="This is a bug in templates/kotlin; please report it",
        )

    for rel in render_tree(root.joinpath("android"), android_dir, ctx):
        written.append(Path("android") / rel)
    if task_root is not None and task_root.joinpath("android").is_dir():
        for rel in render_tree(task_root.joinpath("android"), android_dir, ctx):
            target = Path("android") / rel
            if (out_dir / target).stat().st_size == 0:
                # An empty overlay file removes the common file of that path (a task that has
                # no use for it, e.g. the classifier's golden checker in a detector's app).
                (out_dir / target).unlink()
                if target in written:
                    written.remove(target)
            elif target not in written:
                written.append(target)

    app_main = Path("android", "app", "src", "main")
    extra: list[tuple[Path, bytes]] = [
        (app_main / "java" / context.package_path / wrapper.name, wrapper.read_bytes()),
        (app_main / "assets" / context.model_asset, data),
    ]
    if golden_dir is not None:
        golden_root = Path(golden_dir)
        for src in sorted(p for p in golden_root.rglob("*") if p.is_file()):
            rel = src.relative_to(golden_root)
            target = Path("android", "app", "src", "androidTest", "assets", "golden", rel)
            extra.append((target, src.read_bytes()))
    for rel, payload in extra:
        if rel in written:
            raise CodegenError(
                "a template writes a file that the generator writes itself",
                received=str(rel),
                fix="Remove that file from templates/android",
            )
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
        written.append(rel)

    return GeneratedAndroid(
        out_dir=out_dir,
        kotlin=wrapper,
        android=android_dir,
        model_asset=out_dir / app_main / "assets" / context.model_asset,
        files=tuple(sorted(written)),
    )


__all__ = ["generate_android", "GeneratedAndroid", "templates_root"]
