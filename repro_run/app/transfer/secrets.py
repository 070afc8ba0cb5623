"""The secret scan of a run leaving this machine, shared by `repro export` and `repro push`
(scenarios A9, A10): the run's text files, configs and package list, and its output files
(binary ones, by git's rule, counted instead); a finding refuses unless `--allow-secrets`."""

from __future__ import annotations

import os
from pathlib import Path

from repro_run.capture.secretscan import is_binary, scan_file, scan_patch
from repro_run.core.constants import (
    RUN_LOG_FILENAME,
    RUN_METRICS_FILENAME,
    RUN_PATCH_FILENAME,
    RUN_RECORD_FILENAME,
)
from repro_run.core.errors import SecretInExportError, StoreError
from repro_run.core.record import Record
from repro_run.core.redaction import secret_values
from repro_run.fingerprint.manifest import decode_manifest
from repro_run.models import SECRET_IN_PATCH, CondaRef, PackagesRef, RunRecord
from repro_run.store import Store

_FINDINGS_SHOWN = 5
# The record too: it is masked when written, but a record from an older repro, or one edited
# by hand, may hold what today's masking would have removed. The patch: `scan_patch`.
_SCANNED_RUN_FILES = (RUN_RECORD_FILENAME, RUN_LOG_FILENAME, RUN_METRICS_FILENAME)
_PACKAGE_LIST = "package list"  # how findings name the package-list object


class ScannedText(Record):
    """A file to scan for secrets, by the name findings give it."""

    name: str
    path: Path
    sniff: bool  # output and data files: a binary one (git's rule) is counted, not scanned


def run_texts(store: Store, record: RunRecord, outputs: list[tuple[str, str]]) -> list[ScannedText]:
    """What to scan of a run: its text files, configs, package list and `outputs`."""
    run_dir = store.run_dir(record.id)
    texts = [ScannedText(name, run_dir / name, False) for name in _SCANNED_RUN_FILES]
    texts = [text for text in texts if text.path.exists()]
    texts += [ScannedText(c.path, store.object_path(c.object), False) for c in record.configs]
    if isinstance(record.packages, PackagesRef):  # direct URLs and editable paths
        texts.append(ScannedText(_PACKAGE_LIST, store.object_path(record.packages.object), False))
    if isinstance(record.conda, CondaRef):  # channel URLs
        texts.append(
            ScannedText("conda package list", store.object_path(record.conda.object), False)
        )
    texts += [ScannedText(name, store.object_path(digest), True) for name, digest in outputs]
    return texts


def output_files(store: Store, record: RunRecord) -> list[tuple[str, str]]:
    """(name, digest) of each archived output file."""
    files = []
    for tree in record.outputs:
        for entry in decode_manifest(store.get_bytes(tree.manifest_object)):
            if entry.hash is not None:
                files.append((f"{tree.path}/{entry.path}", entry.hash))
    return files


def scan_texts(record: RunRecord, store: Store, texts: list[ScannedText]) -> tuple[list[str], int]:
    """ "file:line (kind)" for each line that looks secret, the run's own `secret_in_patch`
    findings first (never the value); and how many binary files could not be scanned."""
    known = secret_values(os.environ)
    findings = [f"{f.path}:{f.line} ({f.kind})" for f in record.secret_findings]
    if SECRET_IN_PATCH in record.flags and not findings:
        findings.append(f"{RUN_PATCH_FILENAME} (flagged {SECRET_IN_PATCH})")
    patch = store.run_dir(record.id) / RUN_PATCH_FILENAME
    if patch.exists() and not record.secret_findings:
        findings += [f"{f.path}:{f.line} ({f.kind})" for f in scan_patch(patch.read_bytes(), known)]
    unscanned = 0
    for text in texts:
        try:
            if text.sniff and is_binary(text.path):
                unscanned += 1
                continue
            found = scan_file(text.path, text.name, known)
        except OSError as exc:  # an object gone from the store: damage, not the run's input
            raise StoreError(
                f"{text.name} ({text.path}) cannot be read: {exc.strerror}; run repro fsck"
            ) from None
        findings += [f"{f.path}:{f.line} ({f.kind})" for f in found]
    return findings, unscanned


def refuse_secrets(run_id: str, findings: list[str], verb: str) -> None:
    """SecretInExportError naming the first findings, when there are any."""
    if not findings:
        return
    shown = ", ".join(findings[:_FINDINGS_SHOWN])
    more = f" and {len(findings) - _FINDINGS_SHOWN} more" if len(findings) > _FINDINGS_SHOWN else ""
    raise SecretInExportError(
        f"run {run_id} looks like it holds a secret ({shown}{more}): nothing was "
        f"{verb}; remove it, or pass --allow-secrets if it is not one"
    )
