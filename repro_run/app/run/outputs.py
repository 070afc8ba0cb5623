"""A run's outputs (`--outputs`, `[tool.repro] outputs`) archived into the object store: the
files it created or modified there; those it left as they were are named, never archived."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from repro_run.app.progress import Reporter
from repro_run.app.run.written import BeforeRun
from repro_run.core.errors import DataError, StoreError
from repro_run.core.record import Record, replace
from repro_run.models import ManifestEntry, PreexistingFiles, TreeRef
from repro_run.store import Store

PREEXISTING_RECORDED = 100  # names kept in the record; the count is always whole


class Archived(Record):
    refs: tuple[TreeRef, ...]  # a path the run wrote no file into has none
    problems: tuple[str, ...]
    preexisting: PreexistingFiles | None  # files left as they were: not the run's outputs


def archive_outputs(
    store: Store, paths: Sequence[Path], root: Path, before: BeforeRun, reporter: Reporter
) -> Archived:
    """Archive the files the run wrote under each output path (a stat key other than
    `before`'s); failures become problems, not raises."""
    if not paths:
        return Archived((), (), None)
    from repro_run.fingerprint.tree import build_manifest, scan_tree  # only with outputs

    refs: list[TreeRef] = []
    problems: list[str] = []
    kept: list[str] = []
    for path in paths:
        shown = display(path, root)
        if not os.path.lexists(path):
            reporter.warn(f"output path not found after the run: {shown}")
            continue
        try:
            scan = scan_tree(path)
            written = []
            for f in scan.files:
                if not before.untouched(f.abspath, f.key):
                    written.append(f)
                else:  # a single file's scan names the file itself
                    kept.append(shown if f.abspath == str(scan.root) else f"{shown}/{f.rel}")
            for item in scan.skipped:
                reporter.warn(f"output entry skipped ({item})")
            if not written:
                continue  # no file of this run's here: nothing to archive, compare or credit
            entries = build_manifest(
                replace(scan, files=tuple(written)), lambda f: store.put_file(Path(f.abspath))
            )
        except (OSError, DataError, StoreError) as exc:  # StoreError: disk full, say
            problems.append(f"outputs {shown} not archived: {exc}")
            reporter.warn(problems[-1])
            continue
        try:
            refs.append(_tree_ref(store, shown, entries, scan.skipped))
        except StoreError as exc:  # the manifest itself could not be stored
            problems.append(f"outputs {shown} not archived: {exc}")
            reporter.warn(problems[-1])
    kept.sort()
    preexisting = PreexistingFiles(len(kept), tuple(kept[:PREEXISTING_RECORDED])) if kept else None
    return Archived(tuple(refs), tuple(problems), preexisting)


def _tree_ref(
    store: Store, shown: str, entries: tuple[ManifestEntry, ...], skipped: tuple[str, ...]
) -> TreeRef:
    from repro_run.fingerprint.manifest import encode_manifest

    digest = store.put_bytes(encode_manifest(entries))  # content address == manifest digest
    return TreeRef(shown, digest, len(entries), sum(e.size for e in entries), digest, skipped)


def inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def display(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if inside(path, root) else str(path)
