"""Rebuilt environments, cached under the user cache dir by the digest of what they pin:
`<cache>/envs/<key>/` is a virtual environment, built elsewhere and published by one rename,
never changed afterwards; `<key>.lock` is held shared by each rerun that uses it, and its
mtime is when a rerun last took it (the environment itself is read-only).

Concurrent builders each build in their own `.build-*` directory: the first rename wins and
the others discard theirs. `repro gc --envs` removes an environment only when no rerun used it
within the grace period and it can take its lock exclusively (no rerun is using it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from repro_run.core.paths import user_cache_dir
from repro_run.models import CachedEnv, EnvsRemoved

ENVS_DIRNAME = "envs"
_BUILD_PREFIX = ".build-"
_DOOMED_PREFIX = ".gc-"
MARKER = "repro-env.json"  # written last inside a build: what it was built from


def envs_dir() -> Path:
    return user_cache_dir() / ENVS_DIRNAME


@contextlib.contextmanager
def in_use(key: str) -> Iterator[None]:
    """Hold `key`'s environment for a rerun: gc leaves it alone meanwhile."""
    envs = envs_dir()
    envs.mkdir(parents=True, exist_ok=True)
    fd = os.open(envs / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        os.utime(fd)  # used now: `gc --envs` keeps it for its grace period
        yield
    finally:
        os.close(fd)


def published(key: str) -> Path | None:
    """The environment of `key`, when one was built and published."""
    prefix = envs_dir() / key
    return prefix if (prefix / MARKER).is_file() else None


def publish(key: str, build: Callable[[Path], None]) -> Path:
    """Build into a directory of our own (`build(path)`), then rename it into place; when
    another builder published first, ours is discarded and theirs used."""
    envs = envs_dir()
    staging = Path(tempfile.mkdtemp(prefix=_BUILD_PREFIX, dir=envs))
    try:
        build(staging)
        _read_only(staging)
        try:
            os.rename(staging, envs / key)
        except OSError:  # ENOTEMPTY/EEXIST: a concurrent build of the same key won
            if published(key) is None:
                raise
    finally:
        if staging.exists():
            _remove(staging)
    return envs / key


def _read_only(prefix: Path) -> None:
    """No directory of a published environment is writable: nothing installs into it or
    writes bytecode next to its modules (they were compiled at build time)."""
    for directory, _, _ in os.walk(prefix):
        os.chmod(directory, 0o555)


def _remove(path: Path) -> None:
    for directory, _, _ in os.walk(path):
        with contextlib.suppress(OSError):
            os.chmod(directory, 0o755)
    shutil.rmtree(path, ignore_errors=True)


def remove_unused(*, grace: float, dry_run: bool = False) -> EnvsRemoved:
    """`repro gc --envs`: every cached environment no rerun is using nor used within `grace`
    seconds, and what dead builds left behind."""
    envs = envs_dir()
    removed: list[CachedEnv] = []
    in_use_keys: list[str] = []
    recent: list[str] = []
    freed = 0
    for entry in sorted(envs.iterdir()) if envs.is_dir() else ():
        if entry.name.startswith((_BUILD_PREFIX, _DOOMED_PREFIX)) and _is_dead_build(entry):
            freed += _size(entry)
            if not dry_run:
                _remove(entry)
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        idle = _idle(envs / f"{entry.name}.lock", entry)
        if idle < grace:
            recent.append(entry.name)
            continue
        fd = os.open(envs / f"{entry.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                in_use_keys.append(entry.name)
                continue
            size = _size(entry)
            freed += size
            removed.append(CachedEnv(entry.name, size, idle))
            if not dry_run:
                doomed = envs / f"{_DOOMED_PREFIX}{entry.name}"
                os.rename(entry, doomed)  # gone from readers at once, then deleted
                _remove(doomed)
        finally:
            os.close(fd)
    return EnvsRemoved(tuple(removed), tuple(in_use_keys), tuple(recent), freed, grace, dry_run)


def _idle(lock: Path, prefix: Path) -> float:
    """Seconds since a rerun last took the environment's lock (or, without one, since it was
    published)."""
    for path in (lock, prefix):
        try:
            return max(0.0, time.time() - path.stat().st_mtime)
        except OSError:
            continue
    return 0.0


# A build directory untouched this long belongs to a builder that died (builds take minutes).
_DEAD_BUILD_S = 24 * 3600


def _is_dead_build(path: Path) -> bool:
    if path.name.startswith(_DOOMED_PREFIX):  # a gc killed while deleting it
        return True
    try:
        return time.time() - path.stat().st_mtime > _DEAD_BUILD_S
    except OSError:
        return False


def _size(path: Path) -> int:
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total
