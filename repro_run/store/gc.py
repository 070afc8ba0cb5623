"""Removing unreferenced objects, safely against runs writing at the same time.

The caller says what its scan of the records found referenced, and how to learn what records
written since then reference. An object is a candidate when unreferenced and untouched since
the scan began, less the grace period: a run deduplicating against an object refreshes its
mtime, and may write the record that references it only later. Candidates are first set aside
(renamed to objects/tmp/gc-<name>), so a writer that deduplicates from then on finds them absent
and stores its own copy; one refreshed before its rename goes back at once. Then the records
written since the scan are read again, what they reference goes back too, and the rest is
removed. What remains possible: a run that deduplicated before the grace period and records it
only after gc's second reading (its archiving outlasted the grace period).

A gc killed midway leaves what it set aside in objects/tmp/, maybe the only copy of an object a
new record references: the next gc, or fsck, puts it back (`restore_set_aside`). One gc at a
time holds the store's gc lock; fsck restores only when it can take that lock.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Collection
from pathlib import Path

from repro_run.core.constants import GC_LOCK_FILENAME
from repro_run.models import GcReport
from repro_run.store.crashpoint import durable_step
from repro_run.store.durable import flocked
from repro_run.store.fsck import (
    content_matches,
    object_files,
    quarantine,
    set_aside,
    set_aside_path,
)
from repro_run.store.objects import ObjectStore, is_digest

# File times come from a coarse clock (up to a tick behind time.time()): an object refreshed
# just after the scan began must not look older than the scan.
_CLOCK_TICK_S = 1.0


def lock(store_root: Path, *, wait: bool) -> contextlib.AbstractContextManager[int | None]:
    """The store's gc lock (its descriptor), or None when another process holds it (`wait`
    False) or it cannot be opened (a read-only store)."""
    return flocked(store_root / GC_LOCK_FILENAME, wait=wait, create=True)


def collect(
    objects: ObjectStore,
    referenced: Collection[str],
    *,
    scan_started: float,
    grace: float,
    dry_run: bool,
    referenced_since: Callable[[], Collection[str]],
) -> GcReport:
    """Remove what is unreferenced and untouched since `scan_started - grace`; call with the gc
    lock held. `referenced_since` reads the records written since the scan."""
    cutoff = scan_started - grace - _CLOCK_TICK_S
    candidates: dict[str, int] = {}  # name -> size
    kept_referenced = kept_recent = 0
    for name, path in object_files(objects):
        if not is_digest(name):
            continue  # not an object: fsck reports it; gc never touches what it cannot name
        if name in referenced:
            kept_referenced += 1
            continue
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if info.st_mtime >= cutoff:
            kept_recent += 1
        else:
            candidates[name] = info.st_size
    if dry_run:
        return GcReport(
            True, tuple(candidates), sum(candidates.values()), kept_referenced, kept_recent
        )
    aside = [name for name in candidates if _set_aside(objects, name, cutoff)]
    kept_recent += len(candidates) - len(aside)
    try:
        late = referenced_since()
    except BaseException:
        for name in aside:
            _put_back(objects, name)  # gc cannot tell what is referenced: nothing is removed
        raise
    removed: list[str] = []
    for name in aside:
        if name in late:
            _put_back(objects, name)
            kept_referenced += 1
        else:
            with contextlib.suppress(FileNotFoundError):
                set_aside_path(objects, name).unlink()
            removed.append(name)
    freed = sum(candidates[name] for name in removed)
    return GcReport(False, tuple(removed), freed, kept_referenced, kept_recent)


def restore_set_aside(objects: ObjectStore) -> list[tuple[str, bool]]:
    """Put back what a killed gc set aside, each once its bytes are checked: (name, intact) for
    each; a corrupt one goes to objects/quarantine/. Call with the gc lock held."""
    restored: list[tuple[str, bool]] = []
    for name, path in set_aside(objects):
        intact = content_matches(path, name)
        if intact:
            _put_back(objects, name)
        else:
            quarantine(objects, name, path)
        restored.append((name, intact))
    return restored


def _set_aside(objects: ObjectStore, name: str, cutoff: float) -> bool:
    """Move object `name` to objects/tmp/; False, and left in place, when it is gone or was
    refreshed before the move."""
    trash = set_aside_path(objects, name)
    try:
        os.rename(objects.object_path(name), trash)
    except FileNotFoundError:
        return False
    durable_step(f"set aside {name}")
    if trash.stat().st_mtime >= cutoff:  # a writer deduplicated against it since the listing
        _put_back(objects, name)
        return False
    return True


def _put_back(objects: ObjectStore, name: str) -> None:
    # A writer may have stored the object again meanwhile: replacing it moves identical bytes.
    path = objects.object_path(name)
    path.parent.mkdir(exist_ok=True)
    os.replace(set_aside_path(objects, name), path)
    durable_step(f"put back {name}")
