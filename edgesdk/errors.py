"""One error hierarchy for everything edgesdk reports to a user.

Every error carries a message that says what failed, what was received, what is
supported and how to fix it. The CLI prints it as one paragraph and exits with
``exit_code`` (1 for user errors, 3 for failed verification, 4 for a missing
environment) without a traceback.
"""

from __future__ import annotations


class EdgeSdkError(Exception):
    """Base class of every error edgesdk raises on purpose."""

    exit_code: int = 1

    def __init__(
        self,
        what: str,
        *,
        received: object | None = None,
        supported: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.what = what
        self.received = received
        self.supported = supported
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.what.rstrip(".") + "."]
        if self.supported:
            parts.append("Supported: " + self.supported.rstrip(".") + ".")
        if self.fix:
            parts.append(self.fix.rstrip(".") + ".")
        if self.received is not None:
            parts.append(f"Received: {self.received}")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.message


class ConfigError(EdgeSdkError, ValueError):
    """An option or argument has a value that cannot work."""


class DataError(EdgeSdkError, ValueError):
    """Calibration, evaluation or training data is missing, empty or malformed."""


class ModelLoadError(EdgeSdkError, ValueError):
    """The model file is missing, unreadable, or not a model in a supported format."""


class ConversionError(EdgeSdkError, RuntimeError):
    """The TFLite converter could not convert or quantize the model."""


class MetadataError(EdgeSdkError, ValueError):
    """TFLite metadata could not be written or read."""


class CodegenError(EdgeSdkError, ValueError):
    """Kotlin / Android project generation was given values it cannot emit safely."""


class OutputError(EdgeSdkError, OSError):
    """The output location exists (without --force) or cannot be written."""


class VerificationError(EdgeSdkError, AssertionError):
    """Parity between the reference and the converted model is out of tolerance."""

    exit_code = 3


class EnvironmentMissingError(EdgeSdkError, RuntimeError):
    """A tool the command needs (Android SDK, emulator, adb, gradle) is not available."""

    exit_code = 4


__all__ = [
    "EdgeSdkError",
    "ConfigError",
    "DataError",
    "ModelLoadError",
    "ConversionError",
    "MetadataError",
    "CodegenError",
    "OutputError",
    "VerificationError",
    "EnvironmentMissingError",
]
