"""The ``edgesdk`` command line (typer). One module per command.

Command modules import nothing heavy at module level: ``edgesdk --help`` and every
``edgesdk COMMAND --help`` run without importing TensorFlow (a test proves it).
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="edgesdk",
    help="Take a trained Keras model to an Android phone: TFLite with metadata, "
    "a Kotlin wrapper, a Gradle sample app and golden parity tests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

@app.callback()
def _root(
    verbose: bool = typer.Option(
        False,
        "--verbose",
        help="Also show TensorFlow's own log output (hidden by default). "
        "May also follow the command: edgesdk train DATA --verbose.",
    ),
) -> None:
    """Take a trained Keras model to an Android phone: TFLite with metadata, a Kotlin
    wrapper, a Gradle sample app and golden parity tests."""
    if verbose:
        from .._tf import set_verbose

        set_verbose(True)


def _hoist_verbose(argv: list[str]) -> list[str]:
    """``--verbose`` anywhere before ``--`` becomes the app-level option."""
    end = argv.index("--") if "--" in argv else len(argv)
    if "--verbose" not in argv[:end]:
        return argv
    return ["--verbose", *[a for a in argv[:end] if a != "--verbose"], *argv[end:]]


# Each module defines ``register(app)``; the order is the order in ``--help``.
_COMMANDS = ("package", "inspect", "verify", "train", "compress", "demo", "toolchain")

for _name in _COMMANDS:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    import sys

    from .verify import normalize_argv

    app(args=normalize_argv(_hoist_verbose(sys.argv[1:])))


__all__ = ["app", "main"]
