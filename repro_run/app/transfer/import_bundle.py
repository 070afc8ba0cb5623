"""`repro import FILE`: add an exported run to this store, all or nothing (scenarios B11-B18, G72).

The bundle is streamed once into a staging directory of the store, `.repro/import-XXXX/`,
locked by this process (`repro fsck` removes one whose importer died), with every member
checked as it comes (`bundle.open_bundle`: names from an allow-list, regular members only,
size and ratio limits, every hash, tar headers bounded), so memory stays bounded whatever the
bundle holds; the run record, the one member read into memory, is refused over 4 MB unread.
A run several supervisors recorded brings each part's record (read and refused alike, one at a
time) and files: every part its run's record lists, under a name that is a file name, and no
other. The run record comes first: a run already here ends the import at once (nothing to do), a different one
under the same ID is refused and never overwritten. Only once every member is in and verified:
the code's git objects go into this repository when its commit is missing, the objects into the
store (each renamed into place by its content hash), and one no-replace rename of the staged
run files makes `runs/<id>`: the commit point (a run being created under that ID is refused).
The run record placed says what the bundle declares it carried (`imported`; its parts' are
placed as they came), so a bundle exported without its output files is not damage to `repro fsck`.
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
from repro_run.bundle.names import part_member, part_of_member
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
from repro_run.models import FINAL_STATUSES, Imported, RunRecord, is_part_name
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
        _check_record_sizes(reader.listing)
        with store.staging(IMPORT_STAGING_PREFIX) as staging:
            unpacked = staging / "bundle"
            unpacked.mkdir()
            record: RunRecord | None = None
            present = False
            for name in reader.extract(unpacked):
                part = part_of_member(name)
                if part is not None and part[1] is None:
                    _checked_part((unpacked / name).read_bytes(), part[0], run_id, reader.listing)
                if name != _RECORD:
                    continue
                record = _checked_record((unpacked / name).read_bytes(), run_id, reader.listing)
                present = is_present(store, record)
                if present and has_commit(root, record.code.commit):
                    return ImportResult(run_id, True, 0, False)
            assert record is not None  # listed, and every listed member came (parts checked)
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


def _check_record_sizes(listing: dict[str, Listed]) -> None:
    """Refuse, unread, a run or part record over RECORD_MAX_BYTES: each is read into memory."""
    for name, listed in listing.items():
        what = _record_of(name)
        if what is not None and listed.size > RECORD_MAX_BYTES:
            raise BundleError(
                f"the bundle's {what} is {listed.size} bytes, over the limit of "
                f"{RECORD_MAX_BYTES}: refused"
            )


def _record_of(name: str) -> str | None:
    """What record member `name` holds ("run record", "record of part X"); None: no record."""
    if name == _RECORD:
        return "run record"
    part = part_of_member(name)
    return f"record of part {part[0]}" if part is not None and part[1] is None else None


def _checked_record(raw: bytes, run_id: str, listing: dict[str, Listed]) -> RunRecord:
    record = checked_record(raw, run_id, "the bundle's", BundleError)
    _check_objects(record, f"run {run_id}", listing)
    _check_parts_listed(record, listing)
    return record


def _checked_part(raw: bytes, name: str, run_id: str, listing: dict[str, Listed]) -> None:
    """Refuse a part's record as the run's own record is (the run's record comes first: it
    named every part listed)."""
    part = checked_record(raw, run_id, "the bundle's", BundleError, part=name)
    _check_objects(part, f"part {name} of run {run_id}", listing)


def _check_objects(record: RunRecord, what: str, listing: dict[str, Listed]) -> None:
    """Refuse a record (`what`: a run, or a part of one) naming an object the bundle lacks."""
    for digest, named in sorted(record_references(record).items()):
        if object_member(digest) not in listing:
            raise BundleError(f"the bundle lacks object {digest} ({named}) of {what}")


def _check_parts_listed(record: RunRecord, listing: dict[str, Listed]) -> None:
    """A run several supervisors recorded: each part it lists (a name that is a file name,
    finished) has its record in the bundle, and the bundle holds no other part's files."""
    names = {part.name for part in record.parts}
    if record.parts and (record.part is None or record.part.name not in names):
        raise BundleError(f"the bundle's run {record.id} lists parts, but is none of them")
    for part in record.parts:
        if not is_part_name(part.name) or len(names) != len(record.parts):
            raise BundleError(f"the bundle's run {record.id} names a part {part.name!r}: refused")
        if part.status not in FINAL_STATUSES:
            raise BundleError(f"the bundle's part {part.name} of run {record.id} is {part.status}")
        if part_member(part.name) not in listing:
            raise BundleError(f"the bundle lacks the record of part {part.name} of run {record.id}")
    strays = sorted({p[0] for name in listing if (p := part_of_member(name)) and p[0] not in names})
    if strays:
        raise BundleError(
            f"the bundle holds files of part {strays[0]}, which run {record.id} does not list"
        )


def _ensure_code(root: Path, record: RunRecord, pack: Path) -> bool:
    """Unpack the bundle's code when this repository lacks the commit; whether it did."""
    if has_commit(root, record.code.commit):
        return False
    if not pack.exists():
        raise BundleError(f"the bundle holds no code, and commit {record.code.commit} is not here")
    unpack_commit(root, pack, record.code.commit)
    return True
