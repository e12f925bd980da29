"""Every dependency of edgesdk (and its dev extra) resolves to wheels for other Pythons.

    python scripts/check_wheels.py 3.10 3.12

For each version, pip resolves the whole dependency tree of pyproject.toml's requirements from
the package index as if installing on CPython X.Y, Linux x86_64 (manylinux), binary wheels only
(`pip install --dry-run --only-binary=:all: --python-version X.Y --platform ...`). Current pips
read only the wheels' metadata, not the wheels. This proves installability, not behaviour: the
suite runs on 3.11 here and on 3.13 in a Debian trixie root (scripts/trixie_root.sh).
Exit 1 when a version does not resolve.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# glibc 2.17 (manylinux2014) .. 2.36 (Debian 12); pip matches these tags exactly.
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(17, 37)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]


def requirements() -> list[str]:
    """[project] dependencies plus the dev extra, from pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        reqs: list[str] = []
        for key in ("dependencies", "dev"):
            block = re.search(rf"^{key} = \[(.*?)\]", text, re.M | re.S)
            if block is None:
                raise SystemExit(f"pyproject.toml: no '{key} = [...]' list") from None
            reqs += re.findall(r'"([^"]+)"', block.group(1))
        return reqs
    data = tomllib.loads(text)["project"]
    return [*data["dependencies"], *data["optional-dependencies"]["dev"]]


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(version: str, reqs: list[str]) -> tuple[str, int, str, float]:
    """(version, pip's exit status, summary or pip's error, seconds)."""
    start = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--quiet",
            "--disable-pip-version-check", "--ignore-installed", "--target", str(Path(tmp) / "t"),
            "--only-binary=:all:", "--implementation", "cp", "--python-version", version,
            *(arg for p in PLATFORMS for arg in ("--platform", p)),
            "--report", str(report), *reqs,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
        if proc.returncode != 0:
            return version, proc.returncode, proc.stderr.strip(), time.monotonic() - start
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    pins = {_name(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}
    direct = [_name(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in reqs]
    shown = ", ".join(f"{n} {pins.get(n, '?')}" for n in direct)
    return version, 0, f"{len(installs)} distributions, all wheels; {shown}", (
        time.monotonic() - start
    )


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    reqs = requirements()
    with ThreadPoolExecutor(len(argv)) as pool:
        results = list(pool.map(lambda v: resolve(v, reqs), argv))
    failed = 0
    for version, code, text, seconds in results:
        verdict = "resolves" if code == 0 else "DOES NOT RESOLVE"
        print(f"Python {version} (Linux x86_64): {verdict} in {seconds:.0f} s: {text}")
        failed |= code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
