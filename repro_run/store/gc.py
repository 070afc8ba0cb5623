"""Removing unreferenced objects, safely against runs writing at the same time.

The caller says what is referenced. An unreferenced object younger than the grace period is
kept: a run may have just written it (or deduplicated against it, which refreshes its mtime)
and not yet written the record that references it. The check and the removal cannot race with
such a run: the object is first renamed into objects/tmp/ (a writer that deduplicates now finds
it absent and stores its own copy), its mtime is read again there, and a refreshed one puts it
back.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection
from pathlib import Path

from repro_run.models import GcReport
from repro_run.store.durable import flocked
from repro_run.store.fsck import age, is_digest, object_files
from repro_run.store.objects import ObjectStore


def collect(
    objects: ObjectStore,
    referenced: Collection[str],
    *,
    grace: float,
    dry_run: bool,
    now: float | None = None,
) -> GcReport:
    removed: list[str] = []
    freed = kept_referenced = kept_recent = 0
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
        if age(info.st_mtime, now) < grace:
            kept_recent += 1
            continue
        if dry_run or _remove_unless_refreshed(objects, name, path, grace, now):
            removed.append(name)
            freed += info.st_size
        else:
            kept_recent += 1
    return GcReport(dry_run, tuple(removed), freed, kept_referenced, kept_recent)


def _remove_unless_refreshed(
    objects: ObjectStore, name: str, path: Path, grace: float, now: float | None
) -> bool:
    trash = objects.tmp_dir / f"gc-{name}"
    with flocked(path, wait=True) as fd:  # fsck leaves a locked temp file alone
        if fd is None:
            return False
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return False
        if age(os.fstat(fd).st_mtime, now) < grace:
            os.replace(trash, path)  # refreshed by a writer in the meantime: keep it
            return False
        with contextlib.suppress(FileNotFoundError):
            trash.unlink()
        return True
