"""Shared CLI plumbing: user-error reporting, JSON output, console on stderr.

Nothing heavy is imported here: ``edgesdk --help`` must stay fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer

from ..errors import EdgeSdkError


def console() -> Any:
    """A rich console writing to stderr (stdout is kept for ``--json``)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def fail(err: EdgeSdkError) -> NoReturn:
    """Print ``err`` as one red paragraph on stderr and exit with its exit code."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] [red]{escape(err.message)}[/red]"
    )
    raise typer.Exit(code=err.exit_code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn :class:`EdgeSdkError` into a clean message and exit code; Ctrl-C into exit 130."""
    try:
        yield
    except EdgeSdkError as err:
        fail(err)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        raise typer.Exit(code=130) from None


def emit_json(obj: Any) -> None:
    """Print one JSON object on stdout, and nothing else there."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    """A yellow warning on stderr."""
    from rich.markup import escape

    console().print(f"[yellow]Warning:[/yellow] {escape(message)}")


def warning_sink(json_mode: bool) -> Callable[[str], None]:
    """Where pipeline warnings go: always stderr (stdout stays clean for ``--json``)."""
    del json_mode
    return warn
