"""Regenerate ``android_sample/``: the Android project ``edgesdk demo`` builds.

    python scripts/update_android_sample.py            # runs the demo in a temp folder
    python scripts/update_android_sample.py DEMO_DIR   # reuses an existing demo output

``tests/test_android_sample.py`` re-renders the committed sample from its own model and
golden vectors and fails on any difference, so template changes must come with a
re-run of this script (or ``EDGESDK_UPDATE_SNAPSHOTS=1`` on that test).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "android_sample"


def main() -> None:
    from edgesdk.demo import run_demo

    with tempfile.TemporaryDirectory() as tmp:
        if len(sys.argv) > 1:
            demo = Path(sys.argv[1])
        else:
            demo = run_demo(Path(tmp) / "demo", on_step=print).output
        project = demo / "app" / "android"
        if not (project / "settings.gradle.kts").is_file():
            sys.exit(f"{project} is not a generated Android project")
        if SAMPLE.exists():
            shutil.rmtree(SAMPLE)
        shutil.copytree(project, SAMPLE, ignore=shutil.ignore_patterns("build", ".gradle"))
    print(f"wrote {SAMPLE}")


if __name__ == "__main__":
    main()
