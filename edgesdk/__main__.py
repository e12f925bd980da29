"""``python -m edgesdk``."""

from edgesdk.cli import main

main()
