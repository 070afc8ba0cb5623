"""What `repro import` and `repro pull` share: the run record checked as hostile input, "this
very run is already here" against a clash, and the commit of a staged run (objects adopted by
their hash, then one rename of the run's files to `runs/<id>`)."""

from __future__ import annotations

import os
from pathlib import Path

from repro_run.core.constants import RUN_RECORD_FILENAME
from repro_run.core.errors import ImportClashError, ReproError, StoreError
from repro_run.core.record import replace
from repro_run.models import FINAL_STATUSES, RunRecord
from repro_run.store import Store
from repro_run.store.durable import fsync_dir, rename_noreplace
from repro_run.store.index import summarize
from repro_run.store.objects import is_digest
from repro_run.store.run_json import decode_record, encode_record, read_record


def checked_record(
    raw: bytes, run_id: str, source: str, error: type[ReproError], part: str | None = None
) -> RunRecord:
    """The record of run `run_id` (or of its part `part`, a run several supervisors recorded)
    from `source` ("the bundle's"), refused with `error` unless it decodes, is that run's (and
    that part's), is finished, and names each tree by its manifest's digest."""
    what = f"run {run_id}" if part is None else f"part {part} of run {run_id}"
    try:
        record = decode_record(raw, run_id)
    except StoreError as exc:
        named = "run record" if part is None else f"record of part {part}"
        raise error(f"{source} {named} cannot be read: {exc}") from None
    if record.id != run_id:
        raise error(f"{source} record is of run {record.id}, not {run_id}")
    if part is not None and (record.part is None or record.part.name != part):
        raise error(f"{source} record of part {part} is not that part of run {run_id}")
    if record.status not in FINAL_STATUSES:
        raise error(f"{source} {what} is {record.status}, not finished")
    for tree in (*record.data, *record.outputs):
        # A tree's manifest object is named by its digest (a hash the import verifies); a
        # record whose digest says otherwise would name other files, or a path (materialise).
        if not is_digest(tree.digest) or tree.digest != tree.manifest_object:
            raise error(
                f"{source} {what} gives {tree.path} the digest {tree.digest!r}, "
                f"not that of its manifest ({tree.manifest_object})"
            )
    return record


def same_run(a: RunRecord, b: RunRecord) -> bool:
    """What each store holds of a run (`imported`) is no part of what the run is."""
    return encode_record(replace(a, imported=None)) == encode_record(replace(b, imported=None))


def is_present(store: Store, record: RunRecord, verb: str = "imported") -> bool:
    """Whether this very run is already in the store; ImportClashError for another one."""
    try:
        here = read_record(store.run_dir(record.id) / RUN_RECORD_FILENAME, record.id)[0]
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StoreError(f"cannot read the record of run {record.id}: {exc}") from exc
    if not same_run(here, record):
        raise ImportClashError(
            f"a different run {record.id} is already in this store: nothing was {verb} "
            "(it is never overwritten)"
        )
    return True


def adopt_objects(store: Store, directory: Path) -> int:
    """Move the verified objects into the store (each by its content hash); how many."""
    paths = sorted(directory.iterdir()) if directory.is_dir() else []
    for path in paths:
        store.objects.adopt(path, path.name)
    return len(paths)


def place_run(store: Store, record: RunRecord, staged: Path, verb: str = "imported") -> bool:
    """Write `record` and make the staged run files (its parts' under parts/ included)
    durable, then rename their directory to
    runs/<id>; False when a concurrent import of the same run placed it first."""
    try:
        (staged / RUN_RECORD_FILENAME).write_bytes(encode_record(record))
        _fsync_tree(staged)
    except OSError as exc:
        raise StoreError(f"cannot write the files of run {record.id}: {exc}") from exc
    target = store.run_dir(record.id)
    try:
        # Never os.rename: it would replace an empty runs/<id>, a run that `repro run` has
        # just allocated the same ID (before its lock file), and that run would then write
        # its record over this one.
        rename_noreplace(staged, target)
    except FileExistsError as exc:
        if is_present(store, record, verb):
            return False
        raise ImportClashError(
            f"another run {record.id} is in this store, or being created in it: nothing was "
            f"{verb} (it is never overwritten)"
        ) from exc
    except OSError as exc:
        raise StoreError(f"cannot place run {record.id} in {store.runs_dir}: {exc}") from exc
    fsync_dir(store.runs_dir)
    try:
        mtime_ns = (target / RUN_RECORD_FILENAME).stat().st_mtime_ns
        store.index.upsert([(summarize(record), mtime_ns)])
    except (OSError, StoreError):
        pass  # the index is a cache: `repro list` reconciles it with runs/
    return True


def _fsync_tree(directory: Path) -> None:
    """fsync every file and directory under `directory` (staged by this process), itself last."""
    for path in sorted(directory.iterdir()):
        if path.is_dir() and not path.is_symlink():
            _fsync_tree(path)
            continue
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fsync_dir(directory)
