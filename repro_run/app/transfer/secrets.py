"""The secret scan of a run leaving this machine, shared by `repro export` and `repro push`
(scenarios A9, A10): the run's (and its parts') text files, configs and package lists, and its
output files (binary ones, by git's rule, counted instead); a finding refuses unless
`--allow-secrets`."""

from __future__ import annotations

import os
from collections.abc import Sequence
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
from repro_run.store.parts import files_dir, part_path

_FINDINGS_SHOWN = 5
# The record too: it is masked when written, but a record from an older repro, or one edited
# by hand, may hold what today's masking would have removed. The patch: `scan_patch`.
_SCANNED_RUN_FILES = (RUN_RECORD_FILENAME, RUN_LOG_FILENAME, RUN_METRICS_FILENAME)
_SCANNED_PART_FILES = (RUN_LOG_FILENAME, RUN_METRICS_FILENAME)  # beside the part's record
_PACKAGE_LIST = "package list"  # how findings name the package-list object


class ScannedText(Record):
    """A file to scan for secrets, by the name findings give it."""

    name: str
    path: Path
    sniff: bool  # output and data files: a binary one (git's rule) is counted, not scanned


def run_texts(
    store: Store, records: Sequence[RunRecord], outputs: list[tuple[str, str]]
) -> list[ScannedText]:
    """What to scan of a run (`records`: its own, then each part's of a run several supervisors
    recorded): their text files (a part's by its path under the run's directory), the configs,
    package lists and conda lists they name (each object once), and `outputs`."""
    run_dir = store.run_dir(records[0].id)
    paths = [run_dir / name for name in _SCANNED_RUN_FILES]
    for each in records[1:]:
        assert each.part is not None  # a part's record
        where = files_dir(run_dir, each.part.name)
        paths += [part_path(run_dir, each.part.name), *(where / n for n in _SCANNED_PART_FILES)]
    texts = [ScannedText(p.relative_to(run_dir).as_posix(), p, False) for p in paths if p.exists()]
    named: dict[str, str] = {}
    for each in records:
        for config in each.configs:
            named.setdefault(config.object, config.path)
        if isinstance(each.packages, PackagesRef):  # direct URLs and editable paths
            named.setdefault(each.packages.object, _PACKAGE_LIST)
        if isinstance(each.conda, CondaRef):  # channel URLs
            named.setdefault(each.conda.object, "conda package list")
    texts += [ScannedText(name, store.object_path(digest), False) for digest, name in named.items()]
    texts += [ScannedText(name, store.object_path(digest), True) for name, digest in outputs]
    return texts


def output_files(store: Store, records: Sequence[RunRecord]) -> list[tuple[str, str]]:
    """(name, digest) of each output file the records archived, each once."""
    files = set()
    for record in records:
        for tree in record.outputs:
            for entry in decode_manifest(store.get_bytes(tree.manifest_object)):
                if entry.hash is not None:
                    files.add((f"{tree.path}/{entry.path}", entry.hash))
    return sorted(files)


def scan_texts(
    records: Sequence[RunRecord], store: Store, texts: list[ScannedText]
) -> tuple[list[str], int]:
    """ "file:line (kind)" for each line that looks secret, the run's (or each part's: `records`
    as `run_texts` takes them) own `secret_in_patch` findings first (never the value); and how
    many binary files could not be scanned."""
    known = secret_values(os.environ)
    findings = []
    for record in records[1:] or records:  # a run of parts has its first part's findings
        own = [f"{f.path}:{f.line} ({f.kind})" for f in record.secret_findings]
        if SECRET_IN_PATCH in record.flags and not own:
            own.append(f"{RUN_PATCH_FILENAME} (flagged {SECRET_IN_PATCH})")
        patch = store.files_dir(record) / RUN_PATCH_FILENAME
        if patch.exists() and not record.secret_findings:
            own += [f"{f.path}:{f.line} ({f.kind})" for f in scan_patch(patch.read_bytes(), known)]
        findings += own
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
