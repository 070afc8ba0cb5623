"""Store repairs that need no knowledge of what records mean: temp files left by a crash,
objects whose bytes no longer match their name, run directories that never got a record,
staging directories an interrupted import left behind; and where gc sets objects aside.

Each step is idempotent: a second pass finds nothing left to do. What the records reference is
the app's business (`app.maintenance`), which calls these.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from blake3 import blake3

from repro_run.core.constants import (
    INCOMPLETE_RUN_GRACE_S,
    JOINS_DIRNAME,
    PARTS_DIRNAME,
    QUARANTINE_DIRNAME,
    RUN_LOCK_FILENAME,
    RUN_RECORD_FILENAME,
    SET_ASIDE_PREFIX,
    TEMP_GRACE_S,
    TMP_DIRNAME,
)
from repro_run.store.durable import TEMP_MARKER, flocked, fsync_dir
from repro_run.store.liveness import is_locked
from repro_run.store.objects import ObjectStore, is_digest

_CHUNK = 1 << 20


def temp_files(root: Path, runs_dir: Path, objects: ObjectStore) -> Iterator[Path]:
    """Every temp file of the store: objects/tmp/* but what gc set aside (`set_aside`), and
    `*.tmp-*` of atomic writes."""
    with contextlib.suppress(FileNotFoundError):
        yield from (
            p for p in objects.tmp_dir.iterdir() if p.is_file() and _set_aside_name(p) is None
        )
    runs = _subdirs(runs_dir)
    parts = [run / PARTS_DIRNAME for run in runs]  # the records of a multi-part run's parts
    for directory in (root, root / JOINS_DIRNAME, *runs, *parts):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            yield from (p for p in directory.iterdir() if TEMP_MARKER in p.name and p.is_file())


def remove_orphan_temp(path: Path, now: float | None = None) -> bool:
    """Remove `path` if no writer holds it; True when removed.

    Writers flock their temp file from creation to rename, so a free lock means the writer is
    gone, except in the instant between creating the file and locking it: an empty file younger
    than TEMP_GRACE_S is left alone.
    """
    with flocked(path, wait=False) as fd:
        if fd is None:
            return False  # gone already, a symlink (not ours to follow), or a live writer's
        info = os.fstat(fd)
        if info.st_size == 0 and age(info.st_mtime, now) < TEMP_GRACE_S:
            return False
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return True


def set_aside_path(objects: ObjectStore, name: str) -> Path:
    """Where gc moves object `name` before removing it."""
    return objects.tmp_dir / f"{SET_ASIDE_PREFIX}{name}"


def set_aside(objects: ObjectStore) -> list[tuple[str, Path]]:
    """(name, path) of every object gc set aside and has not yet removed or put back."""
    try:
        paths = sorted(objects.tmp_dir.iterdir())
    except FileNotFoundError:
        return []
    return [(name, path) for path in paths if (name := _set_aside_name(path)) is not None]


def _set_aside_name(path: Path) -> str | None:
    name = path.name.removeprefix(SET_ASIDE_PREFIX)
    if name == path.name or not is_digest(name) or path.is_symlink() or not path.is_file():
        return None
    return name


def object_files(objects: ObjectStore) -> Iterator[tuple[str, Path]]:
    """(name, path) of every file in the object shards; a name may not be a valid digest."""
    for shard in sorted(_subdirs(objects.root)):
        if shard.name in (TMP_DIRNAME, QUARANTINE_DIRNAME):
            continue
        with contextlib.suppress(FileNotFoundError):
            for path in sorted(shard.iterdir()):
                yield shard.name + path.name, path


def content_matches(path: Path, digest: str) -> bool:
    """Whether the file's BLAKE3 is `digest` (read in chunks: objects may be large)."""
    hasher = blake3()
    try:
        with open(path, "rb") as file:
            while chunk := file.read(_CHUNK):
                hasher.update(chunk)
    except OSError:
        return False
    return str(hasher.hexdigest()) == digest


def quarantine(objects: ObjectStore, name: str, path: Path) -> Path:
    """Move a corrupt object aside, so nothing uses it and a later write can store it afresh."""
    target_dir = objects.root / QUARANTINE_DIRNAME
    target_dir.mkdir(exist_ok=True)
    target = target_dir / name
    os.replace(path, target)
    fsync_dir(path.parent)
    return target


def run_dir_state(run_dir: Path, now: float | None = None) -> str:
    """ "record", "starting" (no record yet, maybe alive) or "abandoned" (removable)."""
    if (run_dir / RUN_RECORD_FILENAME).exists():
        return "record"
    parts = _subdirs(run_dir / PARTS_DIRNAME)  # several supervisors: each locks its own part
    if parts:
        alive = any(owner_state(part, now) == "starting" for part in parts)
        return "starting" if alive else "abandoned"
    return owner_state(run_dir, now)


def owner_state(directory: Path, now: float | None = None) -> str:
    """ "starting" (its owner may be alive) or "abandoned", for a run directory without a
    record or a staging directory: both are locked by their owner right after `mkdir`."""
    lock = directory / RUN_LOCK_FILENAME
    try:
        # Read before probing the lock: the owner writes its pid only once it holds the lock.
        info = lock.stat()
    except FileNotFoundError:
        info = None
    if is_locked(directory):
        return "starting"
    if info is not None and info.st_size > 0:
        return "abandoned"  # its owner took the lock, and is gone
    try:  # no lock taken yet: its owner may be just starting, or died doing so
        mtime = (lock if info is not None else directory).stat().st_mtime
    except FileNotFoundError:
        return "abandoned"
    return "abandoned" if age(mtime, now) > INCOMPLETE_RUN_GRACE_S else "starting"


def age(mtime: float, now: float | None = None) -> float:
    """Seconds since `mtime`, at `now` (tests) or the current time."""
    return (time.time() if now is None else now) - mtime


def remove_dir(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    with contextlib.suppress(OSError):
        fsync_dir(directory.parent)


def _subdirs(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return []
        raise
