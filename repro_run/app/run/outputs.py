"""A run's outputs (`--outputs`, `[tool.repro] outputs`) archived into the object store."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from repro_run.app.progress import Reporter
from repro_run.core.errors import DataError, StoreError
from repro_run.models import ManifestEntry, TreeRef
from repro_run.store import Store


def archive_outputs(
    store: Store, paths: Sequence[Path], root: Path, reporter: Reporter
) -> tuple[tuple[TreeRef, ...], list[str]]:
    """Archive each output path into the object store; failures become problems, not raises."""
    refs: list[TreeRef] = []
    if not paths:
        return (), []
    from repro_run.fingerprint.tree import build_manifest, scan_tree  # only with outputs

    problems: list[str] = []
    for path in paths:
        shown = display(path, root)
        if not os.path.lexists(path):
            reporter.warn(f"output path not found after the run: {shown}")
            continue
        try:
            scan = scan_tree(path)
            entries = build_manifest(scan, lambda f: store.put_file(Path(f.abspath)))
        except (OSError, DataError, StoreError) as exc:  # StoreError: disk full, say
            problems.append(f"outputs {shown} not archived: {exc}")
            reporter.warn(problems[-1])
            continue
        for item in scan.skipped:
            reporter.warn(f"output entry skipped ({item})")
        try:
            refs.append(_tree_ref(store, shown, entries, scan.skipped))
        except StoreError as exc:  # the manifest itself could not be stored
            problems.append(f"outputs {shown} not archived: {exc}")
            reporter.warn(problems[-1])
    return tuple(refs), problems


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
