"""The error every toolchain component raises when a piece is not installed (exit 4)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import EnvironmentMissingError

INSTALL_COMMAND = "edgesdk toolchain install"


class ToolchainMissing(EnvironmentMissingError):
    """A toolchain piece a tier needs is not installed (exit 4)."""

    def __init__(self, component: str, missing: Sequence[str], cache_dir: Path) -> None:
        self.component = component
        self.missing = tuple(missing)
        shown = ", ".join(self.missing[:5]) + (" …" if len(self.missing) > 5 else "")
        super().__init__(
            f"the toolchain component '{component}' is not installed in {cache_dir}",
            received=f"missing: {shown}",
            fix=f"Run `{INSTALL_COMMAND}` (downloads once, then cached; "
            "EDGESDK_TOOLCHAIN_DIR chooses the folder)",
        )
