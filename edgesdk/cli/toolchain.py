"""``edgesdk toolchain install|status``: the tools the Android verification tiers run with."""

from __future__ import annotations

from typing import Any, Optional

import typer

from ._common import console, emit_json, user_errors

toolchain_app = typer.Typer(
    name="toolchain",
    help="Install or inspect the cached toolchain of the Android tiers "
    "(kotlinc, framework jars, aapt2, Robolectric, LiteRT's Android library).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

_COMPONENTS_HELP = "Components (default: all): android, android_host, arm64, apk."


def _missing_pieces(comp: dict[str, Any]) -> list[str]:
    """A component's missing pieces: from its ``pieces`` table, or its ``missing`` list."""
    pieces = comp.get("pieces") or {}
    out = [piece for piece, info in pieces.items() if not info.get("installed")]
    out += [str(m) for m in comp.get("missing") or () if str(m) not in out]
    if not comp.get("installed") and not out:
        out.append("(not installed)")
    return out


def _missing(report: dict[str, Any]) -> list[str]:
    return [
        f"{name}: {piece}"
        for name, comp in report["components"].items()
        for piece in _missing_pieces(comp)
    ]


def _print(report: dict[str, Any]) -> None:
    con = console()
    con.print(f"Toolchain cache: {report['cache_dir']}")
    for name, comp in report["components"].items():
        state = "[green]installed[/green]" if comp["installed"] else "[red]incomplete[/red]"
        con.print(f"  {name}: {state}")
        for piece in _missing_pieces(comp):
            con.print(f"    [red]missing[/red] {piece}")


@toolchain_app.command("install")
def install_command(
    components: Optional[list[str]] = typer.Argument(None, help=_COMPONENTS_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Download (once; pinned versions, checksums verified) and build what the tiers need.

    Exit 4 when a piece cannot be installed (no network, no JDK, no C compiler, ...).
    """
    with user_errors():
        from ..errors import EnvironmentMissingError
        from ..toolchain import install
        from ..toolchain.android import ToolchainError

        con = console()
        try:
            report = install(components or None, log=lambda m: con.print(m))
        except ToolchainError as exc:
            raise EnvironmentMissingError(
                "the toolchain could not be installed",
                received=str(exc),
                fix="Fix what the message names and run 'edgesdk toolchain install' again",
            ) from None
        if json_output:
            emit_json(report)
        else:
            _print(report)


@toolchain_app.command("status")
def status_command(
    components: Optional[list[str]] = typer.Argument(None, help=_COMPONENTS_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Show what is installed, without downloading anything. Exit 4 when a piece is missing."""
    with user_errors():
        from ..toolchain import status

        report = status(components or None)
        if json_output:
            emit_json(report)
        else:
            _print(report)
        if _missing(report):
            console().print("Run 'edgesdk toolchain install' to install what is missing.")
            raise typer.Exit(code=4)


def register(app: typer.Typer) -> None:
    app.add_typer(toolchain_app, name="toolchain")
