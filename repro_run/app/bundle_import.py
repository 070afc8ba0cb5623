"""`repro import FILE`: add an exported run to this store, all or nothing (scenarios B11-B18, G72).

The bundle is read and verified in memory before anything is written (`bundle.read_bundle`:
names from an allow-list, regular members only, size and ratio limits, every hash). Then: the
code's git objects go into this repository when its commit is missing, the objects into the
store (each placed by a rename to its content hash), and the run's files into a fresh staging
directory (`O_EXCL|O_NOFOLLOW`) that one rename makes `runs/<id>`: the commit point. Importing
the same bundle again changes nothing; a different run under the same ID is never overwritten.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from repro_run.app.maintenance import record_references
from repro_run.app.query import open_store
from repro_run.bundle import CODE_PACK, object_member, read_bundle
from repro_run.bundle.names import RUN_FILES, run_member
from repro_run.capture import git
from repro_run.capture.code_pack import has_commit, unpack_commit
from repro_run.constants import (
    DEFAULT_IMPORT_MAX_BYTES,
    ENV_IMPORT_MAX_BYTES,
    IMPORT_MAX_RATIO,
    IMPORT_STAGING_PREFIX,
    RUN_RECORD_FILENAME,
)
from repro_run.errors import BundleError, ImportClashError, StoreError
from repro_run.models import FINAL_STATUSES, RunRecord
from repro_run.record import Record
from repro_run.store import Store
from repro_run.store.durable import fsync_dir, write_all
from repro_run.store.ids import is_run_id
from repro_run.store.index import summarize
from repro_run.store.records import decode_record


class ImportResult(Record):
    run_id: str
    already_present: bool  # the same run was imported before: nothing changed
    objects: int
    code_added: bool  # the commit's objects were written into this repository


def import_bundle(cwd: Path, bundle: Path) -> ImportResult:
    store = open_store(cwd)
    root = git.find_work_tree(cwd.resolve())
    contents = read_bundle(
        bundle,
        max_bytes=_max_bytes(),
        max_ratio=IMPORT_MAX_RATIO,
        free_bytes=shutil.disk_usage(store.root).free,
    )
    members = contents.members
    run_id = contents.meta.get("run")
    raw = members.get(run_member(RUN_RECORD_FILENAME))
    if not isinstance(run_id, str) or not is_run_id(run_id) or raw is None:
        raise BundleError("the bundle names no valid run, or holds no run record")
    record = _checked_record(raw, run_id, members)
    existing = store.run_dir(run_id) / RUN_RECORD_FILENAME
    if existing.exists():
        _check_same(existing, raw, run_id)
        # Imported before; its commit may since have been pruned by `git gc`: restore it.
        return ImportResult(run_id, True, 0, _ensure_code(root, record, members))
    code_added = _ensure_code(root, record, members)
    objects = [
        (name, data) for name, data in sorted(members.items()) if name.startswith("objects/")
    ]
    for name, data in objects:
        if object_member(store.put_bytes(data)) != name:
            raise StoreError(f"object {name} changed while it was stored")
    _place_run(store, record, members)
    return ImportResult(run_id, False, len(objects), code_added)


def _max_bytes() -> int:
    value = os.environ.get(ENV_IMPORT_MAX_BYTES, "")
    return int(value) if value.isdigit() else DEFAULT_IMPORT_MAX_BYTES


def _checked_record(raw: bytes, run_id: str, members: dict[str, bytes]) -> RunRecord:
    try:
        record = decode_record(raw, run_id)
    except StoreError as exc:
        raise BundleError(f"the bundle's run record cannot be read: {exc}") from None
    if record.id != run_id:
        raise BundleError(f"the bundle's record is of run {record.id}, not {run_id}")
    if record.status not in FINAL_STATUSES:
        raise BundleError(f"the bundle's run {run_id} is {record.status}, not finished")
    for digest, what in sorted(record_references(record).items()):
        if object_member(digest) not in members:
            raise BundleError(f"the bundle lacks object {digest} ({what}) of run {run_id}")
    return record


def _ensure_code(root: Path, record: RunRecord, members: dict[str, bytes]) -> bool:
    """Unpack the bundle's code when this repository lacks the commit; whether it did."""
    if has_commit(root, record.code.commit):
        return False
    pack = members.get(CODE_PACK)
    if pack is None:
        raise BundleError(f"the bundle holds no code, and commit {record.code.commit} is not here")
    unpack_commit(root, pack, record.code.commit)
    return True


def _check_same(existing: Path, raw: bytes, run_id: str) -> None:
    try:
        same = existing.read_bytes() == raw
    except OSError as exc:
        raise StoreError(f"cannot read the record of run {run_id}: {exc}") from exc
    if not same:
        raise ImportClashError(
            f"a different run {run_id} is already in this store: nothing was imported "
            "(it is never overwritten)"
        )


def _place_run(store: Store, record: RunRecord, members: dict[str, bytes]) -> None:
    """Write the run's files into a fresh staging directory, then rename it into runs/."""
    staging = Path(tempfile.mkdtemp(prefix=IMPORT_STAGING_PREFIX, dir=store.root))
    try:
        for name in RUN_FILES:
            data = members.get(run_member(name))
            if data is not None:
                _write_new(staging / name, data)
        fsync_dir(staging)
        target = store.run_dir(record.id)
        try:
            os.rename(staging, target)  # fails when runs/<id> appeared meanwhile: never merged
        except OSError as exc:
            raise ImportClashError(
                f"run {record.id} appeared in this store during the import: nothing was imported"
            ) from exc
        fsync_dir(store.runs_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        mtime_ns = (target / RUN_RECORD_FILENAME).stat().st_mtime_ns
        store.index.upsert([(summarize(record), mtime_ns)])
    except (OSError, StoreError):
        pass  # the index is a cache: `repro list` reconciles it with runs/


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
