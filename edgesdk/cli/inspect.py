"""``edgesdk inspect``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, emit_json, user_errors


def inspect_command(
    model: Path = typer.Argument(..., metavar="MODEL.tflite", help="A .tflite file."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Show a .tflite file's tensors, operators, size and metadata."""
    with user_errors():
        from ..inspection import inspect

        info = inspect(model)
        if json_output:
            emit_json(info.to_dict())
            return
        _print(info)


def _print(info: object) -> None:
    from rich.markup import escape
    from rich.table import Table

    con = console()
    i = info  # type: ignore[assignment]
    con.print(f"[bold]{escape(i.path)}[/bold]  {i.size_bytes:,} bytes")  # type: ignore[attr-defined]
    t = Table(title="Tensors")
    meta = i.metadata  # type: ignore[attr-defined]
    meta_names = {
        kind: [tm.get("name", "") for tm in meta.get(f"{kind}s", [])] if meta else []
        for kind in ("input", "output")
    }
    with_meta = any(meta_names.values())
    for col in ("", "name", *(["metadata name"] if with_meta else []), "shape", "dtype",
                "quantization"):  # fmt: skip
        t.add_column(col)
    for kind, tensors in (("input", i.inputs), ("output", i.outputs)):  # type: ignore[attr-defined]
        names = meta_names[kind]
        for n, tensor in enumerate(tensors):
            q = (
                ""
                if tensor.scale is None
                else f"scale {tensor.scale:.6g}, zero point {tensor.zero_point}"
            )
            shape = str(list(tensor.shape)) + ("*" if tensor.shape_from else "")
            named = [escape(names[n]) if n < len(names) else ""] if with_meta else []
            t.add_row(kind, escape(tensor.name), *named, shape, tensor.dtype, q)
    con.print(t)
    set_by = sorted({x.shape_from for x in i.outputs if x.shape_from})  # type: ignore[attr-defined]
    if set_by:
        con.print(f"* shape set by {', '.join(set_by)}; the file stores none")
    ops = Table(title="Operators")
    ops.add_column("operator")
    ops.add_column("count", justify="right")
    for name, count in i.operators:  # type: ignore[attr-defined]
        ops.add_row(name, str(count))
    con.print(ops)
    if meta is None:
        con.print("No TFLite metadata.")
        return
    m = Table(title="Metadata", show_header=False)
    m.add_column("", style="bold")
    m.add_column("")
    for key in ("name", "description", "version", "author", "license", "min_parser_version"):
        if meta.get(key):
            m.add_row(key, escape(str(meta[key])))
    for kind in ("inputs", "outputs"):
        for tm in meta.get(kind, []):
            desc = {
                k: v
                for k, v in tm.items()
                if k not in ("name", "description") and v not in (None, [], "")
            }
            m.add_row(f"{kind[:-1]} {escape(tm.get('name', ''))}", escape(str(desc)))
    if i.task:  # type: ignore[attr-defined]
        m.add_row("task", i.task)  # type: ignore[attr-defined]
    norm = i.normalization  # type: ignore[attr-defined]
    if norm:
        m.add_row("normalization", f"(pixel - {norm['mean']}) / {norm['std']}")
    labels = i.labels  # type: ignore[attr-defined]
    if labels is not None:
        shown = ", ".join(escape(repr(label)) for label in labels[:10])
        more = f", … ({len(labels) - 10} more; all with --json)" if len(labels) > 10 else ""
        m.add_row("labels", f"{len(labels)}: {shown}{more}")
    if i.associated_files:  # type: ignore[attr-defined]
        m.add_row("associated files", ", ".join(i.associated_files))  # type: ignore[attr-defined]
    con.print(m)


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect_command)
