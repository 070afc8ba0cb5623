"""File-level difference of two manifests: added, removed and modified files, by directory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from repro_run.fingerprint.manifest import decode_manifest
from repro_run.models import ManifestEntry


@dataclass(frozen=True, slots=True)
class DirectoryChange:
    """What changed under one directory (`""` for the tree's top level)."""

    directory: str
    added: int
    removed: int
    modified: int
    bytes_added: int  # sizes of added files, plus growth of modified ones
    bytes_removed: int  # sizes of removed files, plus shrinkage of modified ones


@dataclass(frozen=True, slots=True)
class ManifestDiff:
    added: tuple[ManifestEntry, ...]
    removed: tuple[ManifestEntry, ...]
    modified: tuple[tuple[ManifestEntry, ManifestEntry], ...]  # (old, new), same path

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.modified)

    def by_directory(self, depth: int = 1) -> list[DirectoryChange]:
        """Counts grouped by the first `depth` path components, most files changed first."""
        groups: dict[str, list[int]] = {}

        def bump(path: str, index: int, size: int, grew: int, shrank: int) -> None:
            key = "/".join(path.split("/")[:-1][:depth])
            g = groups.setdefault(key, [0, 0, 0, 0, 0])
            g[index] += 1
            g[3] += grew
            g[4] += shrank

        for e in self.added:
            bump(e.path, 0, e.size, e.size, 0)
        for e in self.removed:
            bump(e.path, 1, e.size, 0, e.size)
        for old, new in self.modified:
            delta = new.size - old.size
            bump(new.path, 2, new.size, max(delta, 0), max(-delta, 0))
        changes = [DirectoryChange(k, *v) for k, v in groups.items()]
        return sorted(changes, key=lambda c: (-(c.added + c.removed + c.modified), c.directory))


def diff_manifests(old: Iterable[ManifestEntry], new: Iterable[ManifestEntry]) -> ManifestDiff:
    """Entries present in only one manifest, and entries whose content, mode or target changed."""
    before = {e.path: e for e in old}
    after = {e.path: e for e in new}
    added = tuple(after[p] for p in sorted(after.keys() - before.keys()))
    removed = tuple(before[p] for p in sorted(before.keys() - after.keys()))
    modified = tuple(
        (before[p], after[p]) for p in sorted(before.keys() & after.keys()) if before[p] != after[p]
    )
    return ManifestDiff(added, removed, modified)


def diff_encoded(old: bytes, new: bytes) -> ManifestDiff:
    """`diff_manifests` of two encoded manifests (as stored in the object store)."""
    if old == new:
        return ManifestDiff((), (), ())
    return diff_manifests(decode_manifest(old), decode_manifest(new))


def first_paths(diff: ManifestDiff, limit: int = 10) -> Sequence[str]:
    """The first changed paths, each marked +, - or ~, for a summary line."""
    marked = [f"+ {e.path}" for e in diff.added]
    marked += [f"- {e.path}" for e in diff.removed]
    marked += [f"~ {new.path}" for _, new in diff.modified]
    return sorted(marked, key=lambda m: m[2:])[:limit]
