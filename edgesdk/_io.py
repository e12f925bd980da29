"""Atomic output folders and keeping native libraries' prints off stdout."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError


def check_output(out: Path, force: bool) -> None:
    """Refuse an existing ``out`` (without ``force``) or an unwritable parent,
    before work starts."""
    if out.exists() and not force:
        raise OutputError(
            f"the output path {out} already exists",
            received=str(out),
            fix="Pass --force to replace it, or choose another -o/--output",
        )
    if out.exists() and not out.is_dir():
        raise OutputError(
            f"the output path {out} exists and is not a folder",
            received=str(out),
            fix="Choose a folder path for -o/--output",
        )
    parent = out.resolve().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write the output folder {out}: {probe} is not writable",
            received=str(out),
            fix="Choose an output location you can write to",
        )


@contextmanager
def staged_output(out: Path, force: bool) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; move it into place only on success.

    A failure or Ctrl-C removes the temporary folder and leaves ``out`` as it was.
    """
    check_output(out, force)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise OutputError(
            f"cannot create the output folder {out}",
            received=f"{type(exc).__name__}: {exc}",
            fix="Choose an output location you can write to",
        ) from None
    try:
        yield stage
        backup = None
        if out.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            backup.rmdir()
            os.replace(out, backup)
        os.replace(stage, out)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send file descriptor 1 to stderr for the duration (the TFLite converter prints on it)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextmanager
def quiet_native() -> Iterator[None]:
    """Silence file descriptors 1 and 2 (native-library chatter such as the converter's
    ``fully_quantize: ...`` or LiteRT's delegate notice); Python exceptions still carry
    the errors."""
    import warnings

    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = (os.dup(1), os.dup(2))
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
