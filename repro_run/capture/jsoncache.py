"""The user-cache entries capture keeps (the package list, the conda list): one JSON object a
file, keyed by what it was read from, replaced atomically; any trouble is a miss, never an error."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import zlib
from collections.abc import Iterable

from repro_run.core.paths import user_cache_dir

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

# A directory modified this recently may be modified again within the same mtime tick, which
# the next stat could not tell apart (git's "racy clean" problem): such a scan is not cached.
RACY_WINDOW_NS = 2_000_000_000


def cache_file(kind: str, key: Any) -> str | None:
    """`<user cache>/<kind>/<crc32 of key>.json`; None without a home directory to put it in."""
    try:
        base = user_cache_dir()
    except RuntimeError:
        return None
    # crc32, not sha256: hashlib loads OpenSSL (~2 ms), and a collision only costs a rescan,
    # since each entry records what it is for and is checked against it.
    digest = zlib.crc32(json.dumps(key, sort_keys=True).encode())
    return str(base / kind / f"{digest:08x}.json")


def is_racy(mtimes_ns: Iterable[int | None]) -> bool:
    """Whether any of these was modified too recently for its mtime to prove it unchanged."""
    newest_ok = time.time_ns() - RACY_WINDOW_NS
    return any(m is not None and m > newest_ok for m in mtimes_ns)


def load_entry(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
    except (OSError, ValueError):
        return None  # absent or corrupt: rescan and rewrite
    return entry if isinstance(entry, dict) else None


def save_entry(path: str | None, entry: dict[str, Any]) -> None:
    """Write `entry` so that readers see the old entry or the new one, never half of one."""
    if path is None:
        return
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(entry, f)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        # a cache we cannot write only costs the next run a rescan
