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

import os
import tempfile
from pathlib import Path

from repro_run.app.maintenance import record_references
from repro_run.app.transfer.export_data import DataFile, data_files
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
from repro_run.bundle.names import PART_FILES, RUN_FILES, part_member
from repro_run.capture import worktree
from repro_run.capture.code_pack import pack_commit
from repro_run.capture.secretscan import is_binary, scan_file, scan_patch
from repro_run.core.constants import (
    BUNDLE_SUFFIX,
    RUN_PATCH_FILENAME,
)
from repro_run.core.errors import (
    BundleWriteError,
    DataDriftError,
    RunNotFinishedError,
    SecretInExportError,
    StoreError,
    UsageError,
)
from repro_run.core.record import Record
from repro_run.core.redaction import secret_values
from repro_run.fingerprint.manifest import decode_manifest
from repro_run.models import FINAL_STATUSES, SECRET_IN_PATCH, CondaRef, PackagesRef, RunRecord
from repro_run.store import Store
from repro_run.store.fsck import remove_orphan_temp
from repro_run.store.parts import files_dir, part_path

_FINDINGS_SHOWN = 5
_PACKAGE_LIST = "package list"  # how findings name the package-list object


class ExportResult(Record):
    run_id: str
    path: Path
    size: int  # bytes of the bundle file
    objects: int
    data_files: int  # with --with-data: the files of the run's datasets
    findings: tuple[str, ...]  # secret findings let through by --allow-secrets ("file:line")
    unscanned: int  # binary output and data files, which the secret scan cannot read


class _Text(Record):
    """A file to scan for secrets, by the name findings give it."""

    name: str
    path: Path
    sniff: bool  # output and data files: a binary one (git's rule) is counted, not scanned


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
    # The records too: masked when written, but one from an older repro, or edited by hand, may
    # hold what today's masking would have removed. The patches: `_scan`.
    texts = [
        _Text(_shown(m.name), m.path, False)
        for m in members.values()
        if m.path.name != RUN_PATCH_FILENAME
    ]
    texts += _object_texts(store, records)
    outputs = sorted({f for r in records for f in _output_files(store, r)}) if with_outputs else []
    texts += [_Text(name, store.object_path(digest), True) for name, digest in outputs]
    digests = {digest for r in records for digest in record_references(r)}
    for digest in sorted(digests | {digest for _, digest in outputs}):
        members.setdefault(object_member(digest), _object(store, digest))
    data = data_files(store, record, root) if with_data else []
    for item in data:
        members.setdefault(item.member.name, item.member)
    texts += [_Text(item.name, item.member.path, True) for item in data]
    findings, unscanned = _scan(parts or [record], store, texts)
    if findings and not allow_secrets:
        shown = ", ".join(findings[:_FINDINGS_SHOWN])
        more = (
            f" and {len(findings) - _FINDINGS_SHOWN} more"
            if len(findings) > _FINDINGS_SHOWN
            else ""
        )
        raise SecretInExportError(
            f"run {record.id} looks like it holds a secret ({shown}{more}): nothing was "
            "exported; remove it, or pass --allow-secrets if it is not one"
        )
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


def _shown(member: str) -> str:
    """How findings name a run file: its path in the run's directory."""
    return member.removeprefix(run_member(""))


def _object_texts(store: Store, records: list[RunRecord]) -> list[_Text]:
    """The configs, package lists (direct URLs and editable paths) and conda package lists
    (channel URLs) the records name, each object once."""
    texts: dict[str, _Text] = {}
    for each in records:
        named = [(c.object, c.path) for c in each.configs]
        if isinstance(each.packages, PackagesRef):
            named.append((each.packages.object, _PACKAGE_LIST))
        if isinstance(each.conda, CondaRef):
            named.append((each.conda.object, "conda package list"))
        for digest, name in named:
            texts.setdefault(digest, _Text(name, store.object_path(digest), False))
    return list(texts.values())


def _object(store: Store, digest: str) -> Member:
    """A store object as a member; its hash is verified while the bundle is written."""
    path = store.object_path(digest)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise StoreError(f"object {digest} is missing from the store ({path})") from None
    return Member(object_member(digest), path, size, digest)


def _output_files(store: Store, record: RunRecord) -> list[tuple[str, str]]:
    """(name, digest) of each archived output file."""
    files = []
    for tree in record.outputs:
        for entry in decode_manifest(store.get_bytes(tree.manifest_object)):
            if entry.hash is not None:
                files.append((f"{tree.path}/{entry.path}", entry.hash))
    return files


def _scan(records: list[RunRecord], store: Store, texts: list[_Text]) -> tuple[list[str], int]:
    """ "file:line (kind)" for each line that looks secret, the runs' (or parts') own
    `secret_in_patch` findings first (never the value); and how many binary files could not be
    scanned."""
    known = secret_values(os.environ)
    findings = []
    for record in records:
        own = [f"{f.path}:{f.line} ({f.kind})" for f in record.secret_findings]
        if SECRET_IN_PATCH in record.flags and not own:
            own.append(f"{RUN_PATCH_FILENAME} (flagged {SECRET_IN_PATCH})")
        patch = store.files_dir(record) / RUN_PATCH_FILENAME
        if patch.exists() and not record.secret_findings:
            own += [f"{f.path}:{f.line} ({f.kind})" for f in scan_patch(patch.read_bytes(), known)]
        findings += own
    unscanned = 0
    for text in texts:
        if text.sniff and is_binary(text.path):
            unscanned += 1
            continue
        findings += [
            f"{f.path}:{f.line} ({f.kind})" for f in scan_file(text.path, text.name, known)
        ]
    return findings, unscanned


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
