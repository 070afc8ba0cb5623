"""`repro import FILE`: add an exported run to this store, all or nothing (scenarios B11-B18, G72).

The bundle is streamed once into a staging directory of the store, `.repro/import-XXXX/`,
locked by this process (`repro fsck` removes one whose importer died), with every member
checked as it comes (`bundle.open_bundle`: names from an allow-list, regular members only,
size and ratio limits, every hash, tar headers bounded), so memory stays bounded whatever the
bundle holds; the run record, the one member read into memory, is refused over 4 MB unread.
The run record comes first: a run already here ends the import at once (nothing to do), a different one
under the same ID is refused and never overwritten. Only once every member is in and verified:
the code's git objects go into this repository when its commit is missing, the objects into the
store (each renamed into place by its content hash), and one no-replace rename of the staged
run files makes `runs/<id>`: the commit point (a run being created under that ID is refused). The record placed says what the bundle declares it carried
(`imported`), so a bundle exported without its output files is not damage to `repro fsck`.
An import that finds the same run placed by a concurrent import of it is "already here".
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from repro_run.app.maintenance import record_references
from repro_run.app.transfer.commit import (
    adopt_objects,
    checked_record,
    is_present,
    place_run,
)
from repro_run.app.workspace import Workspace
from repro_run.bundle import CODE_PACK, Limits, Listed, object_member, open_bundle, run_member
from repro_run.capture.code_pack import has_commit, unpack_commit
from repro_run.core.constants import (
    DEFAULT_IMPORT_MAX_BYTES,
    ENV_IMPORT_MAX_BYTES,
    IMPORT_MAX_RATIO,
    IMPORT_STAGING_PREFIX,
    RECORD_MAX_BYTES,
    RUN_RECORD_FILENAME,
)
from repro_run.core.errors import BundleError
from repro_run.core.record import Record, replace
from repro_run.models import Imported, RunRecord
from repro_run.store.ids import is_run_id

_RECORD = run_member(RUN_RECORD_FILENAME)


class ImportResult(Record):
    run_id: str
    already_present: bool  # the same run was imported before: nothing changed
    objects: int
    code_added: bool  # the commit's objects were written into this repository


def import_bundle(workspace: Workspace, bundle: Path) -> ImportResult:
    store = workspace.store()
    root = workspace.work_tree()
    limits = Limits(_max_bytes(), IMPORT_MAX_RATIO, shutil.disk_usage(store.root).free)
    with open_bundle(bundle, limits) as reader:
        run_id = reader.meta.get("run")
        if not isinstance(run_id, str) or not is_run_id(run_id) or _RECORD not in reader.listing:
            raise BundleError("the bundle names no valid run, or holds no run record")
        if reader.listing[_RECORD].size > RECORD_MAX_BYTES:
            raise BundleError(
                f"the bundle's run record is {reader.listing[_RECORD].size} bytes, over the "
                f"limit of {RECORD_MAX_BYTES}: refused"
            )
        with store.staging(IMPORT_STAGING_PREFIX) as staging:
            unpacked = staging / "bundle"
            unpacked.mkdir()
            record: RunRecord | None = None
            present = False
            for name in reader.extract(unpacked):
                if name != _RECORD:
                    continue
                record = _checked_record((unpacked / name).read_bytes(), run_id, reader.listing)
                present = is_present(store, record)
                if present and has_commit(root, record.code.commit):
                    return ImportResult(run_id, True, 0, False)
            assert record is not None  # listed, and every listed member came
            # Imported before, and its commit since pruned by `git gc`: restore the commit.
            code_added = _ensure_code(root, record, unpacked / CODE_PACK)
            if present:
                return ImportResult(run_id, True, 0, code_added)
            carried = Imported(output_files=reader.meta.get("with_outputs") is True)
            objects = adopt_objects(store, unpacked / "objects")
            placed = place_run(store, replace(record, imported=carried), unpacked / "run")
    return ImportResult(run_id, not placed, objects, code_added)


def _max_bytes() -> int:
    value = os.environ.get(ENV_IMPORT_MAX_BYTES, "")
    return int(value) if value.isdigit() else DEFAULT_IMPORT_MAX_BYTES


def _checked_record(raw: bytes, run_id: str, listing: dict[str, Listed]) -> RunRecord:
    record = checked_record(raw, run_id, "the bundle's", BundleError)
    for digest, what in sorted(record_references(record).items()):
        if object_member(digest) not in listing:
            raise BundleError(f"the bundle lacks object {digest} ({what}) of run {run_id}")
    return record


def _ensure_code(root: Path, record: RunRecord, pack: Path) -> bool:
    """Unpack the bundle's code when this repository lacks the commit; whether it did."""
    if has_commit(root, record.code.commit):
        return False
    if not pack.exists():
        raise BundleError(f"the bundle holds no code, and commit {record.code.commit} is not here")
    unpack_commit(root, pack, record.code.commit)
    return True
