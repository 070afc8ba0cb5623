"""Staging directories: where an import (or a dataset being materialised) is assembled before
one rename publishes it.

`.repro/<prefix>XXXX/` is made by `mkdtemp` and owned for its whole life through the store's
liveness lock (`RunLock`: a flock on its `lock` file), so `repro fsck` can tell one a live
process is filling from one a crash or `kill -9` left behind, with the same rule as a run
directory (`fsck.owner_state`). What is published is a subdirectory of the staging directory,
so the lock file never travels with it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from repro_run.core.constants import STAGING_PREFIXES
from repro_run.core.errors import StoreError
from repro_run.store.liveness import RunLock


@contextlib.contextmanager
def staging_dir(store_root: Path, prefix: str) -> Iterator[Path]:
    """A fresh, locked directory under the store; removed (whatever it holds) on exit."""
    if prefix not in STAGING_PREFIXES:
        raise ValueError(f"not a staging prefix fsck knows: {prefix!r}")
    try:
        import tempfile  # not on `repro run`'s path (it imports random, ~2 ms)

        path = Path(tempfile.mkdtemp(prefix=prefix, dir=store_root))
    except OSError as exc:
        raise StoreError(f"cannot create a staging directory in {store_root}: {exc}") from exc
    try:
        lock = RunLock.acquire(path)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)  # still locked: fsck never races this
        lock.release()


def staging_dirs(store_root: Path) -> list[Path]:
    """Every staging directory in the store, live or left behind."""
    try:
        entries = sorted(store_root.iterdir())
    except FileNotFoundError:
        return []
    return [
        path
        for path in entries
        if path.name.startswith(STAGING_PREFIXES) and path.is_dir() and not path.is_symlink()
    ]
