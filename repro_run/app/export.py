"""`repro export ID`: one self-contained, reproducible bundle file holding everything a run needs.

The bundle holds the record, the run's log, metrics and patch, the objects the record names
(configs, package list, manifests, metrics; with `--with-outputs` the output files), and the
code as a git pack of the recorded commit without its history. Everything readable is scanned
for secrets first (scenarios A9, A10): a finding refuses the export unless `--allow-secrets`.
"""

from __future__ import annotations

import os
from pathlib import Path

from repro_run.app.maintenance import record_references
from repro_run.app.query import open_store
from repro_run.bundle import CODE_PACK, object_member, write_bundle
from repro_run.bundle.names import RUN_FILES, run_member
from repro_run.capture import git, worktree
from repro_run.capture.code_pack import pack_commit
from repro_run.capture.secretscan import classify_line, scan_patch
from repro_run.constants import (
    BUNDLE_SUFFIX,
    RUN_LOG_FILENAME,
    RUN_METRICS_FILENAME,
    RUN_PATCH_FILENAME,
)
from repro_run.errors import RunNotFinishedError, SecretInExportError
from repro_run.fingerprint.manifest import decode_manifest
from repro_run.models import FINAL_STATUSES, SECRET_IN_PATCH, RunRecord
from repro_run.record import Record
from repro_run.redaction import secret_values
from repro_run.store import Store

_FINDINGS_SHOWN = 5


class ExportResult(Record):
    run_id: str
    path: Path
    size: int  # bytes of the bundle file
    objects: int
    findings: tuple[str, ...]  # secret findings let through by --allow-secrets ("file:line")


def export_run(
    cwd: Path,
    ref: str,
    output: Path | None = None,
    *,
    with_outputs: bool = False,
    allow_secrets: bool = False,
) -> ExportResult:
    store = open_store(cwd)
    record = store.load_record(store.resolve(ref))
    if record.status not in FINAL_STATUSES:
        raise RunNotFinishedError(f"run {record.id} is {record.status}: export it once it ends")
    root = git.find_work_tree(cwd.resolve())
    worktree.check_commit(root, record.code.commit, record.id)
    members = _run_files(store, record.id)
    for digest in _objects(store, record, with_outputs):
        members[object_member(digest)] = store.get_bytes(digest)  # hash verified on read
    findings = secret_findings(record, members)
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
    members[CODE_PACK] = pack_commit(root, record.code.commit)
    path = output if output is not None else cwd / f"{record.id}{BUNDLE_SUFFIX}"
    meta = {"run": record.id, "commit": record.code.commit, "with_outputs": with_outputs}
    size = write_bundle(path, members, meta)
    count = sum(1 for name in members if name.startswith("objects/"))
    return ExportResult(record.id, path, size, count, tuple(findings))


def _run_files(store: Store, run_id: str) -> dict[str, bytes]:
    members = {}
    for name in RUN_FILES:
        try:
            members[run_member(name)] = (store.run_dir(run_id) / name).read_bytes()
        except FileNotFoundError:
            continue
    return members


def _objects(store: Store, record: RunRecord, with_outputs: bool) -> list[str]:
    digests = set(record_references(record))
    if with_outputs:
        for tree in record.outputs:
            for entry in decode_manifest(store.get_bytes(tree.manifest_object)):
                if entry.hash is not None:
                    digests.add(entry.hash)
    return sorted(digests)


def secret_findings(record: RunRecord, members: dict[str, bytes]) -> list[str]:
    """ "file:line (kind)" for each line of the log, metrics, configs and patch that looks
    secret; the run's own `secret_in_patch` findings first. Never the value."""
    known = secret_values(os.environ)
    findings = [f"{f.path}:{f.line} ({f.kind})" for f in record.secret_findings]
    if SECRET_IN_PATCH in record.flags and not findings:
        findings.append(f"{RUN_PATCH_FILENAME} (flagged {SECRET_IN_PATCH})")
    patch = members.get(run_member(RUN_PATCH_FILENAME))
    if patch is not None and not record.secret_findings:
        findings += [f"{f.path}:{f.line} ({f.kind})" for f in scan_patch(patch, known)]
    texts = [
        (name, members.get(run_member(name))) for name in (RUN_LOG_FILENAME, RUN_METRICS_FILENAME)
    ]
    texts += [(c.path, members.get(object_member(c.object))) for c in record.configs]
    for name, data in texts:
        for number, line in enumerate((data or b"").decode("utf-8", "replace").splitlines(), 1):
            kind = classify_line(line, known)
            if kind is not None:
                findings.append(f"{name}:{number} ({kind})")
    return findings
