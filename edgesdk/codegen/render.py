"""Render a template folder into an output folder, copier-style.

Rules (the same for every template tree under ``templates/``):

- Only files whose name ends in ``.jinja`` are rendered (the suffix is dropped);
  every other file is copied byte for byte.
- Every path segment is a Jinja template too: ``{{ package_path }}`` may expand to
  ``com/example/app`` (slashes make folders) and ``{{ class_name }}.kt.jinja`` to
  ``FlowerClassifier.kt``.
- Dotfiles: a segment starting with ``dot_`` is written with a leading ``.``
  instead (``dot_gitignore`` -> ``.gitignore``), because wheels, globbing package-data
  rules and some editors drop or hide real dotfiles inside a package.
- ``__pycache__`` folders and ``*.pyc`` files are skipped (the tree is a Python package
  once installed).
- Jinja runs with ``StrictUndefined`` (a misspelt variable is an error, not an empty
  string), ``keep_trailing_newline=True``, ``trim_blocks`` and ``lstrip_blocks``, no
  autoescaping (escaping is explicit, through the filters of :mod:`.filters`).
- Deterministic: the walk is sorted, no timestamps are written, files are written as
  UTF-8 with the template's own line endings, so the same inputs give byte-identical
  output.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import jinja2

from edgesdk.errors import CodegenError

from .filters import FILTERS

JINJA_SUFFIX = ".jinja"
DOT_PREFIX = "dot_"
_SKIP_DIRS = frozenset({"__pycache__"})
_SKIP_SUFFIXES = (".pyc",)


class _Traversable(Protocol):  # the part of importlib.resources.abc.Traversable we use
    name: str

    def iterdir(self) -> Iterator[_Traversable]: ...
    def is_dir(self) -> bool: ...
    def is_file(self) -> bool: ...
    def read_bytes(self) -> bytes: ...
    def joinpath(self, *child: str) -> _Traversable: ...


def make_environment(template_root: _Traversable | Path) -> jinja2.Environment:
    """The Jinja environment every edgesdk template is rendered with.

    Templates are loaded by their ``/``-separated path under ``template_root`` (so
    tracebacks name the file, and ``{% include %}`` works within one tree).
    """
    root = template_root

    def load(name: str) -> tuple[str, str, Any]:
        node = root.joinpath(*name.split("/"))
        return node.read_bytes().decode("utf-8"), name, lambda: True

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    return env


def _walk(node: _Traversable, rel: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            if child.name in _SKIP_DIRS:
                continue
            yield from _walk(child, (*rel, child.name))
        elif child.is_file():
            if child.name.endswith(_SKIP_SUFFIXES):
                continue
            yield (*rel, child.name), child


def _render_segment(env: jinja2.Environment, segment: str, context: Mapping[str, Any]) -> str:
    if "{" in segment:
        segment = env.from_string(segment).render(context)
    return segment


def _output_parts(
    env: jinja2.Environment, rel: tuple[str, ...], context: Mapping[str, Any]
) -> tuple[str, ...]:
    parts: list[str] = []
    template_path = "/".join(rel)
    for segment in rel:
        for piece in _render_segment(env, segment, context).split("/"):
            if piece.startswith(DOT_PREFIX):
                piece = "." + piece[len(DOT_PREFIX) :]
            if piece in ("", ".", "..") or "\\" in piece or "\x00" in piece:
                raise CodegenError(
                    "a templated path renders to an unsafe or empty path segment",
                    received=f"template {template_path!r} -> segment {piece!r}",
                    supported="non-empty names without '..', '\\' or NUL",
                    fix="Check the value substituted into the template's path",
                )
            parts.append(piece)
    return tuple(parts)


def render_tree(
    template_root: _Traversable | Path,
    out_dir: Path,
    context: Mapping[str, Any],
) -> list[Path]:
    """Render every file under ``template_root`` into ``out_dir`` (see the module rules).

    ``template_root`` is a folder path or an :mod:`importlib.resources` traversable.
    Existing files in ``out_dir`` are overwritten; two templates rendering to the same
    path is an error. Returns the written files relative to ``out_dir``, sorted.
    """
    root: Any = template_root
    if not root.is_dir():
        raise CodegenError(
            "the template folder does not exist",
            received=str(template_root),
            fix="Reinstall edgesdk (the templates ship inside the package)",
        )
    env = make_environment(root)
    out_dir = Path(out_dir)
    written: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}
    for rel, node in _walk(root, ()):
        template_path = "/".join(rel)
        is_template = rel[-1].endswith(JINJA_SUFFIX)
        name_rel = rel[:-1] + (rel[-1][: -len(JINJA_SUFFIX)],) if is_template else rel
        if is_template and not name_rel[-1]:
            raise CodegenError("a template file is named only '.jinja'", received=template_path)
        try:
            parts = _output_parts(env, name_rel, context)
            if is_template:
                data = env.get_template(template_path).render(context).encode("utf-8")
            else:
                data = node.read_bytes()
        except jinja2.TemplateError as exc:
            raise CodegenError(
                f"template {template_path} failed to render: {exc}",
                received=f"{type(exc).__name__} in {template_path}",
                fix="This is a bug in the template or in the render context; please report it",
            ) from exc
        key = tuple(p.lower() for p in parts)  # case-insensitive file systems too
        if key in written:
            raise CodegenError(
                "two templates render to the same output file",
                received=f"{written[key][0]!r} and {template_path!r} -> {'/'.join(parts)!r}",
                fix="Rename one of the templates",
            )
        written[key] = (template_path, parts)
        target = out_dir.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if isinstance(node, Path) and node.stat().st_mode & 0o111:
            target.chmod(0o755)
    return sorted(Path(*parts) for _, parts in written.values())


__all__ = ["render_tree", "make_environment", "JINJA_SUFFIX", "DOT_PREFIX"]
