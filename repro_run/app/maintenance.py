"""`repro fsck` and `repro gc`: check and repair the store; remove what no run references.

Both read every record to learn which objects it references: its patch, configs, package list,
data and output manifests, and the files an output manifest lists. Data files are
fingerprinted in place and not stored, except for a run imported with its data: gc keeps
those as long as a record names their manifest, and fsck does not require them. A run imported
from a bundle without its output files (`imported.output_files` false) references only their
manifests.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from repro_run.app.workspace import Workspace
from repro_run.core.constants import (
    DATA_STAGING_PREFIX,
    GC_GRACE_S,
    GC_LOCK_FILENAME,
    IMPORT_STAGING_PREFIX,
    PULL_STAGING_PREFIX,
    RUN_RECORD_FILENAME,
)
from repro_run.core.errors import ReadOnlyStoreError, ReproError, StoreDamagedError, StoreError
from repro_run.core.record import replace
from repro_run.fingerprint.manifest import decode_manifest
from repro_run.models import CRASHED, CondaRef, FsckReport, GcReport, PackagesRef, RunRecord
from repro_run.store import Store
from repro_run.store import fsck as repairs
from repro_run.store import gc as collector
from repro_run.store.layout import is_read_only
from repro_run.store.objects import is_digest
from repro_run.store.parts import remove_closed_joins
from repro_run.store.run_json import read_record
from repro_run.store.staging import staging_dirs

_Version = tuple[int, int]  # a record file's (inode, mtime_ns)
_STAGING_OWNERS = {
    IMPORT_STAGING_PREFIX: "import",
    DATA_STAGING_PREFIX: "materialisation of data",
    PULL_STAGING_PREFIX: "pull",
}


def record_references(record: RunRecord) -> dict[str, str]:
    """Objects a record names directly: digest -> what it is (for messages)."""
    refs: dict[str, str] = {}
    if record.code.patch_object:
        refs[record.code.patch_object] = "the dirty patch"
    for config in record.configs:
        refs[config.object] = f"config {config.path}"
    if isinstance(record.packages, PackagesRef):
        refs[record.packages.object] = "the package list"
    if isinstance(record.conda, CondaRef):
        refs[record.conda.object] = "the conda package list"
    for tree in record.data:
        refs[tree.manifest_object] = f"the manifest of data {tree.path}"
    for tree in record.outputs:
        refs[tree.manifest_object] = f"the manifest of outputs {tree.path}"
    if record.metrics is not None:
        refs[record.metrics.object] = "the metrics"
    return refs


def _all_references(store: Store, record: RunRecord) -> tuple[dict[str, str], list[str]]:
    """Every object a record references, output files included (when this store was given
    them); and what cannot be read."""
    # A run several supervisors recorded: each part's record references its own objects; each
    # that cannot be read is named, and the others are still checked.
    parts, problems = store.read_parts(record)
    records = [record, *parts]
    refs: dict[str, str] = {}
    for each in records:
        for digest, what in record_references(each).items():
            refs.setdefault(digest, what)
        # What this store was given of the run (an import) is said by the run's own record.
        if record.imported is not None and not record.imported.output_files:
            continue
        for tree in each.outputs:
            try:
                files = _listed_files(store, tree.manifest_object)
            except (ReproError, ValueError) as exc:
                problems.append(f"run {record.id}: outputs {tree.path}: {exc}")
                continue
            for digest, path in files:
                refs.setdefault(digest, f"output {tree.path}/{path}")
    return refs, problems


def _listed_files(store: Store, manifest: str) -> list[tuple[str, str]]:
    """(object, path) of each file that manifest object `manifest` lists; ReproError or
    ValueError when it cannot be read or is no manifest."""
    entries = decode_manifest(store.objects.get_bytes(manifest))
    files = [(entry.hash, entry.path) for entry in entries if entry.hash is not None]
    if not all(is_digest(digest) for digest, _ in files):
        raise ValueError("an entry's hash is not a BLAKE3 digest")
    return files


def fsck(workspace: Workspace) -> FsckReport:
    """Verify every object and record, repair what can be, rebuild the index; idempotent."""
    store = workspace.store()
    if is_read_only(store.root):
        raise ReadOnlyStoreError(
            f"the run store {store.root} is read-only: repro fsck repairs it, so run it where "
            "the store can be written"
        )
    repaired: list[str] = []
    damage: list[str] = []
    notes: list[str] = []
    with collector.lock(store.root, wait=False) as held:
        if held is None:  # a gc at work: what it set aside is its own to finish
            if aside := len(repairs.set_aside(store.objects)):
                notes.append(f"{aside} objects are set aside by a gc at work (left to it)")
        else:
            repaired += [
                _restored(name, intact)
                for name, intact in collector.restore_set_aside(store.objects)
            ]
    for temp in list(repairs.temp_files(store.root, store.runs_dir, store.objects)):
        if repairs.remove_orphan_temp(temp):
            repaired.append(f"removed temp file {temp.relative_to(store.root)}")
    for staging in staging_dirs(store.root):
        owner = next(o for p, o in _STAGING_OWNERS.items() if staging.name.startswith(p))
        if repairs.owner_state(staging) == "abandoned":
            repairs.remove_dir(staging)
            repaired.append(f"removed {staging.name}/, left by an interrupted {owner}")
        else:
            notes.append(f"{staging.name}/ belongs to {owner} in progress (left alone)")
    valid: set[str] = set()
    checked = 0
    for name, path in repairs.object_files(store.objects):
        if not is_digest(name):
            notes.append(f"not an object (left alone): {path.relative_to(store.root)}")
            continue
        checked += 1
        if repairs.content_matches(path, name):
            valid.add(name)
        else:
            repairs.quarantine(store.objects, name, path)
            repaired.append(f"object {name} is corrupt: moved to objects/quarantine/")
    runs = 0
    for run_id in store.run_ids():
        run_dir = store.run_dir(run_id)
        state = repairs.run_dir_state(run_dir)
        if state == "abandoned":
            repairs.remove_dir(run_dir)
            repaired.append(f"removed run directory {run_id}: its run never got a record")
            continue
        if state == "starting":
            notes.append(f"run {run_id} has no record yet (starting, or left for later)")
            continue
        try:
            record = read_record(run_dir / RUN_RECORD_FILENAME, run_id)[0]
        except (OSError, ReproError) as exc:
            damage.append(f"run {run_id}: the record cannot be read: {exc}")
            continue
        runs += 1
        if store.effective_status(record) == CRASHED:
            notes.append(f"run {run_id} crashed (its supervisor is gone)")
        refs, unreadable = _all_references(store, record)
        damage += unreadable
        damage += [
            f"run {run_id}: object {digest} ({what}) is missing or corrupt"
            for digest, what in sorted(refs.items())
            if not _verified(store, valid, digest) and not _is_reported(unreadable, digest)
        ]
    indexed = store.rebuild_index()
    return FsckReport(checked, runs, indexed, tuple(repaired), tuple(damage), tuple(notes))


def _verified(store: Store, valid: set[str], digest: str) -> bool:
    """Whether object `digest` is whole: as the scan found it or, for one written since the scan
    listed the objects (by a run that ended meanwhile), as it is now."""
    if digest in valid:
        return True
    if is_digest(digest) and repairs.content_matches(store.object_path(digest), digest):
        valid.add(digest)
        return True
    return False


def _restored(name: str, intact: bool) -> str:
    done = "restored" if intact else "corrupt: moved to objects/quarantine/"
    return f"object {name} set aside by an interrupted gc: {done}"


def _is_reported(messages: list[str], digest: str) -> bool:
    return any(digest in message for message in messages)


def gc(workspace: Workspace, *, dry_run: bool = False, grace: float = GC_GRACE_S) -> GcReport:
    """Remove objects no run references (and older than `grace` seconds), and the join files
    of groups no supervisor can join any more."""
    store = workspace.store()
    with collector.lock(store.root, wait=True) as held:  # one gc at a time
        if held is None and not dry_run:
            raise StoreError(
                f"gc cannot take the lock {store.root / GC_LOCK_FILENAME}: make the store writable"
            )
        if not dry_run:
            collector.restore_set_aside(store.objects)  # a killed gc's: judged afresh below
        scan_started = time.time()
        referenced, seen = _references(store, {})
        report = collector.collect(
            store.objects,
            referenced,
            scan_started=scan_started,
            grace=grace,
            dry_run=dry_run,
            referenced_since=lambda: _references(store, seen)[0],
        )
        joins = remove_closed_joins(store.root, store.runs_dir, dry_run=dry_run)
        return replace(report, joins=len(joins))


def _references(store: Store, seen: Mapping[str, _Version]) -> tuple[set[str], dict[str, _Version]]:
    """The objects the records reference, data files included, and the version of each record
    read; a record whose version `seen` holds is skipped (gc reads again only what changed)."""
    referenced: set[str] = set()
    manifests: set[str] = set()
    versions: dict[str, _Version] = {}
    for run_id in store.run_ids():
        path = store.run_dir(run_id) / RUN_RECORD_FILENAME
        try:
            info = path.stat()
        except FileNotFoundError:
            continue  # a starting run references nothing yet; the grace period covers it
        # An atomic write makes a new inode: a record rewritten within one clock tick differs.
        versions[run_id] = (info.st_ino, info.st_mtime_ns)
        if seen.get(run_id) == versions[run_id]:
            continue
        try:
            record = read_record(path, run_id)[0]
        except (OSError, ReproError) as exc:
            raise StoreDamagedError(
                f"gc cannot tell what run {run_id} references ({exc}); nothing was removed: "
                "run repro fsck"
            ) from exc
        refs, unreadable = _all_references(store, record)
        if unreadable:
            raise StoreDamagedError(
                f"gc cannot tell what {unreadable[0]} references; nothing was removed: "
                "run repro fsck"
            )
        referenced.update(refs)
        manifests.update(tree.manifest_object for tree in record.data)
    for digest in sorted(manifests):
        referenced.update(_data_files(store, digest))
    return referenced, versions


def _data_files(store: Store, manifest: str) -> set[str]:
    """The files a data manifest lists: stored only for a run imported with its data (`repro
    export --with-data`), and then kept as long as a run names the manifest."""
    try:
        return {digest for digest, _ in _listed_files(store, manifest)}
    except (ReproError, ValueError) as exc:
        raise StoreDamagedError(
            f"gc cannot tell which data files manifest {manifest} lists ({exc}); nothing was "
            "removed: run repro fsck"
        ) from exc
