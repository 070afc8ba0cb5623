"""The per-user cache directory (package lists, crash logs, the fingerprint stat cache)."""

from __future__ import annotations

import os
from pathlib import Path

from repro_run.core.constants import ENV_CACHE_DIR


def user_cache_dir() -> Path:
    """`REPRO_CACHE_DIR`, else `$XDG_CACHE_HOME/repro`, else `~/.cache/repro` (not created)."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "repro"
