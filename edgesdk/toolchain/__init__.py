"""Toolchain pieces the verification tiers need, installed and cached by ``edgesdk toolchain
install``: each module owns one piece and exposes ``ensure(cache_dir, log)`` and
``status(cache_dir)``."""
