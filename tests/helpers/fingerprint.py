"""The reference fingerprint for tests: the plainest possible dataset manifest and its digest."""

from __future__ import annotations

from pathlib import Path

import blake3

from repro_run.fingerprint.manifest import encode_manifest, manifest_digest
from repro_run.fingerprint.tree import build_manifest, scan_tree
from repro_run.models import ManifestEntry


def reference_entries(path: Path) -> tuple[ManifestEntry, ...]:
    """The plainest possible fingerprint (list, then hash each file whole): the engine's
    stat cache, workers and per-directory runs must give the same manifest."""
    return build_manifest(
        scan_tree(path), lambda f: (blake3.blake3(Path(f.abspath).read_bytes()).hexdigest(), f.size)
    )


def reference_digest(path: Path) -> str:
    return manifest_digest(encode_manifest(reference_entries(path)))
