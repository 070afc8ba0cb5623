"""`repro export ID`: one self-contained, reproducible bundle file holding everything a run needs.

The bundle holds the record, the run's log, metrics and patch, the objects the record names
(configs, package list, manifests, metrics; with `--with-outputs` the output files, with
`--with-data` the data files), and the code as a git pack of the recorded commit without its
history. Everything readable is scanned for secrets first (scenarios A9, A10): a finding
refuses the export unless `--allow-secrets`; binary output and data files (git's rule) are
counted, not scanned. Every member is streamed from its file, hashed again on the way; temp
files that a killed export to the same path left are removed first.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from repro_run.app.maintenance import record_references
from repro_run.app.transfer.export_data import DataFile, data_files
from repro_run.app.transfer.secrets import (
    ScannedText,
    output_files,
    refuse_secrets,
    run_texts,
    scan_texts,
)
from repro_run.app.workspace import Workspace
from repro_run.bundle import (
    CODE_PACK,
    Member,
    MemberChangedError,
    file_member,
    object_member,
    run_member,
    temp_files,
    write_bundle,
)
from repro_run.bundle.names import part_member
from repro_run.capture import worktree
from repro_run.capture.code_pack import pack_commit
from repro_run.core.constants import (
    BUNDLE_SUFFIX,
    PART_FILES,
    RUN_FILES,
)
from repro_run.core.errors import (
    BundleWriteError,
    DataDriftError,
    RunNotFinishedError,
    StoreError,
    UsageError,
)
from repro_run.core.record import Record
from repro_run.models import FINAL_STATUSES, RunRecord
from repro_run.store import Store
from repro_run.store.fsck import remove_orphan_temp
from repro_run.store.parts import files_dir, part_path


class ExportResult(Record):
    run_id: str
    path: Path
    size: int  # bytes of the bundle file
    objects: int
    data_files: int  # with --with-data: the files of the run's datasets
    findings: tuple[str, ...]  # secret findings let through by --allow-secrets ("file:line")
    unscanned: int  # binary output and data files, which the secret scan cannot read


def export_run(
    workspace: Workspace,
    ref: str,
    output: Path | None = None,
    *,
    with_outputs: bool = False,
    with_data: bool = False,
    allow_secrets: bool = False,
) -> ExportResult:
    store = workspace.store()
    record = store.load_record(store.resolve(ref))
    if record.status not in FINAL_STATUSES:
        raise RunNotFinishedError(f"run {record.id} is {record.status}: export it once it ends")
    root = workspace.work_tree()
    worktree.check_commit(root, record.code.commit, record.id)
    if with_outputs and record.imported is not None and not record.imported.output_files:
        raise UsageError(
            f"run {record.id} was imported without its output files (only their manifests): "
            "export it without --with-outputs"
        )
    parts = store.part_records(record)  # a run several supervisors recorded: each its own
    records = [record, *parts]
    members = _run_files(store, record)
    outputs = output_files(store, records) if with_outputs else []
    texts = run_texts(store, records, outputs)
    digests = {digest for r in records for digest in record_references(r)}
    for digest in sorted(digests | {digest for _, digest in outputs}):
        members.setdefault(object_member(digest), _object(store, digest))
    data = data_files(store, record, root) if with_data else []
    for item in data:
        members.setdefault(item.member.name, item.member)
    texts += [ScannedText(item.name, item.member.path, True) for item in data]
    findings, unscanned = scan_texts(records, store, texts)
    if not allow_secrets:
        refuse_secrets(record.id, findings, "exported")
    path = output if output is not None else workspace.cwd / f"{record.id}{BUNDLE_SUFFIX}"
    meta = {
        "run": record.id,
        "commit": record.code.commit,
        "with_outputs": with_outputs,
        "with_data": with_data,
    }
    with tempfile.TemporaryDirectory(prefix="repro-export-") as scratch:
        pack = Path(scratch) / "commit.pack"
        pack_commit(root, record.code.commit, pack)
        members[CODE_PACK] = file_member(CODE_PACK, pack)
        size = _write(path, list(members.values()), meta, data)
    count = sum(1 for name in members if name.startswith("objects/"))
    return ExportResult(record.id, path, size, count, len(data), tuple(findings), unscanned)


def _run_files(store: Store, record: RunRecord) -> dict[str, Member]:
    """The run's record, log, metrics and patch as members, and each part's (a run several
    supervisors recorded), those that exist."""
    run_dir = store.run_dir(record.id)
    files = [(run_member(name), run_dir / name) for name in RUN_FILES]
    for part in record.parts:
        files.append((part_member(part.name), part_path(run_dir, part.name)))
        where = files_dir(run_dir, part.name)
        files += [(part_member(part.name, name), where / name) for name in PART_FILES]
    members = {}
    for name, path in files:
        try:
            members[name] = file_member(name, path)
        except FileNotFoundError:
            continue
    return members


def _object(store: Store, digest: str) -> Member:
    """A store object as a member; its hash is verified while the bundle is written."""
    path = store.object_path(digest)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise StoreError(f"object {digest} is missing from the store ({path})") from None
    return Member(object_member(digest), path, size, digest)


def _write(path: Path, members: list[Member], meta: dict[str, object], data: list[DataFile]) -> int:
    """Write the bundle; a member whose file changed on the way leaves no bundle behind."""
    data_names = {item.member.path: item.name for item in data}
    for stale in temp_files(path):
        remove_orphan_temp(stale)  # an earlier export to `path` was killed: its flock is free
    try:
        return write_bundle(path, members, meta)
    except MemberChangedError as exc:
        if exc.member.path in data_names:
            raise DataDriftError(
                f"data file {data_names[exc.member.path]} changed while it was exported "
                f"({exc.reason}): nothing was exported; stop what writes to it and export again"
            ) from None
        raise StoreError(
            f"{exc.member.name} ({exc.member.path}) no longer matches its hash ({exc.reason}): nothing was "
            "exported; run repro fsck"
        ) from None
    except OSError as exc:
        raise BundleWriteError(
            f"cannot write the bundle {path}: {exc.strerror or exc}; choose another -o FILE"
        ) from None
