"""Before a rerun launches: every recorded dataset re-fingerprinted, remapped, and linked in.

The worktree holds only what git tracks. A dataset inside the repository that git does not
track (ignored, as it must have been for a clean run) is made visible at its recorded path by a
mirror of its directories (real ones, so a `data/` pattern still ignores it and `os.walk` descends)
whose files are symlinks to the dataset's: no byte of data is copied.
A dataset missing from its recorded place, whose files a `--with-data` bundle brought into the
store, is rebuilt under `.repro/data/<digest>/` and used from there (`--data OLD=NEW` wins).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from repro_run.capture import git
from repro_run.core.constants import CONFIG_SUFFIXES
from repro_run.core.errors import (
    DataDriftError,
    DataError,
    StoreError,
    UnsafeRecordError,
    UsageError,
)
from repro_run.core.paths import user_cache_dir
from repro_run.core.record import Record
from repro_run.fingerprint.diff import diff_encoded, first_paths
from repro_run.fingerprint.engine import fingerprint
from repro_run.fingerprint.manifest import decode_manifest
from repro_run.models import RunRecord, TreeRef
from repro_run.store import Store

CHANGED_PATHS_SHOWN = 10


class DataCheck(Record):
    refs: tuple[TreeRef, ...]  # as fingerprinted now, under their recorded paths
    drift: tuple[str, ...]  # one line per dataset that differs from the record
    links: tuple[tuple[str, Path], ...]  # (recorded relative path, where the data lies now)
    moved: dict[str, str]  # absolute recorded path -> new path (for the command's arguments)
    notes: tuple[str, ...]  # one line per dataset taken from a bundle (`export --with-data`)


def inside_relative(path: str, what: str, run_id: str) -> str:
    """A recorded path relative to the repository that stays inside it (B19: a record from
    elsewhere must not make a rerun write outside its worktree)."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise UnsafeRecordError(
            f"run {run_id} records {what} {path!r} outside the repository: a rerun reads and "
            "writes only inside its own worktree"
        )
    return pure.as_posix()


def check_data(
    store: Store,
    record: RunRecord,
    root: Path,
    tree: Path,
    cwd: Path,
    remap: Mapping[str, str],
    allow_drift: bool,
) -> DataCheck:
    """Fingerprint each recorded dataset where the rerun will read it; refuse on a change."""
    unknown = set(remap) - {d.path for d in record.data}
    if unknown:
        recorded = ", ".join(d.path for d in record.data) or "none"
        raise UsageError(
            f"--data {sorted(unknown)[0]}=...: run {record.id} recorded no such data path (recorded: {recorded})"
        )
    refs, drift, links, moved, notes = [], [], [], {}, []
    for ref in record.data:
        absolute = os.path.isabs(ref.path)
        relative = None if absolute else inside_relative(ref.path, "data path", record.id)
        if relative is not None and os.path.lexists(tree / relative):
            if ref.path in remap:
                raise UsageError(
                    f"--data {ref.path}=...: git tracks {ref.path} at the recorded commit; the rerun uses that copy"
                )
            source = tree / relative  # tracked (or in the patch): the worktree has it
        elif ref.path in remap:
            source = Path(os.path.normpath(cwd / os.path.expanduser(remap[ref.path])))
        else:
            source = Path(ref.path) if absolute else root / ref.path
            bundled = None if os.path.lexists(source) else _bundled_copy(store, ref)
            if bundled is not None:
                notes.append(
                    f"data {ref.path} is not at {source}: using the copy imported with run "
                    f"{record.id}, {bundled}"
                )
                source = bundled
        if not os.path.lexists(source):
            raise DataError(
                f"data path {ref.path} of run {record.id} is missing ({source}); "
                f"if it moved, pass --data {ref.path}=NEW_PATH"
            )
        fp = fingerprint(source, cache_dir=user_cache_dir())  # the per-machine stat cache
        digest = store.put_bytes(fp.manifest)  # content address == manifest digest
        refs.append(TreeRef(ref.path, digest, fp.files, fp.bytes, digest, fp.skipped, ref.origin))
        if digest != ref.digest:
            drift.append(describe_drift(store, ref, fp.manifest))
        if relative is not None and source != tree / relative:
            links.append((relative, source))
        if absolute and source != Path(ref.path):
            moved[ref.path] = str(source)
    if drift and not allow_drift:
        raise DataDriftError(
            f"data changed since run {record.id}: {'; '.join(drift)}; "
            "pass --allow-data-drift to rerun anyway (the difference is recorded)"
        )
    return DataCheck(tuple(refs), tuple(drift), tuple(links), moved, tuple(notes))


def link_data(tree: Path, check: DataCheck) -> None:
    """Make each untracked dataset visible at its recorded path inside the worktree."""
    for relative, source in check.links:
        target = tree / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():  # a symlinked root is followed, as the fingerprint follows it
            _mirror_directory(source, target)
        else:
            os.symlink(source, target)


def point_configs(tree: Path, moved: Mapping[str, str]) -> list[str]:
    """The config files of the worktree that name a moved absolute data path (`--data OLD=NEW`,
    an imported copy) rewritten to name where it lies now; one line per file rewritten, and
    per file of code that names it, which is never rewritten (the program reads the old path).
    """
    if not moved:
        return []
    notes = []
    for relative in git.files_naming(tree, list(moved)):
        path = tree / relative
        text = path.read_bytes()
        named = [old for old in moved if _naming(old).search(text)]
        if not named:
            continue  # the text only starts like a moved path (`/data/a.csv2`)
        if not relative.endswith(CONFIG_SUFFIXES) or path.is_symlink():
            notes += [
                f"data {old} is named in {relative}, code that the rerun does not rewrite: "
                f"the program looks for it there, not at {moved[old]}"
                for old in named
            ]
            continue
        for old in named:
            # A template: `\` is its escape character (`\\` a literal one).
            text = _naming(old).sub(os.fsencode(moved[old]).replace(b"\\", b"\\\\"), text)
            notes.append(f"config {relative} in the rerun's worktree names {moved[old]}, not {old}")
        path.write_bytes(text)
    return notes


def _naming(old: str) -> re.Pattern[bytes]:
    """`old` as a whole path, or a path under it: not a longer name that starts the same."""
    return re.compile(
        rb"(?<![\w.~-])" + re.escape(os.fsencode(old.rstrip("/"))) + rb"(?=/|(?![\w.-]))"
    )


def _mirror_directory(source: Path, target: Path) -> None:
    """`target` made a tree of real directories like `source`'s, its files symlinks to them.

    A symlinked directory would hide its files from `os.walk` and `Path.rglob`, which do not
    follow links: a program walking the data would see less than in the recorded run.
    """
    root = os.stat(source)
    pending = [(str(source), str(target), frozenset({(root.st_dev, root.st_ino)}))]
    while pending:
        here, there, ancestors = pending.pop()
        try:
            entries = list(os.scandir(here))
        except OSError:  # unreadable: the program meets the same error through a link
            os.symlink(here, there)
            continue
        os.mkdir(there)
        for entry in entries:
            mirrored = os.path.join(there, entry.name)
            if entry.is_symlink():
                os.symlink(_link_target(entry.path, str(source)), mirrored)
            elif entry.is_dir(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                if (st.st_dev, st.st_ino) in ancestors:  # a bind mount's loop: not walked again
                    os.symlink(entry.path, mirrored)
                else:
                    pending.append((entry.path, mirrored, ancestors | {(st.st_dev, st.st_ino)}))
            else:
                os.symlink(entry.path, mirrored)


def _link_target(link: str, root: str) -> str:
    """What a symlink of the dataset points to in the mirror: its own target, as the manifest
    records it, when that resolves the same way there (absolute, or within the dataset);
    otherwise the link itself, so that it still leads where it did and does not dangle."""
    recorded = os.readlink(link)
    if os.path.isabs(recorded):
        return recorded
    within = os.path.normpath(os.path.join(os.path.relpath(os.path.dirname(link), root), recorded))
    return link if within == ".." or within.startswith("../") else recorded


def _bundled_copy(store: Store, ref: TreeRef) -> Path | None:
    """The dataset's copy that `repro import` of a `--with-data` bundle brought, rebuilt under
    the store; None when the store lacks its files. A manifest of one file named like the
    recorded path is a dataset that is that file."""
    try:
        entries = decode_manifest(store.get_bytes(ref.manifest_object))
    except (StoreError, ValueError):
        return None
    tree = store.bundled_data(ref.digest, entries)
    if tree is None:
        return None
    name = PurePosixPath(ref.path).name
    single = len(entries) == 1 and entries[0].path == name and entries[0].link is None
    return tree / name if single else tree


def describe_drift(store: Store, ref: TreeRef, encoded: bytes) -> str:
    """One line: how the data at `ref.path` (manifest `encoded`) differs from the record."""
    try:
        diff = diff_encoded(store.get_bytes(ref.manifest_object), encoded)
    except StoreError:
        return f"{ref.path}: digest {ref.digest[:12]} -> now different (the recorded manifest is not in the store)"
    counts = [
        f"{n} {what}"
        for n, what in (
            (len(diff.added), "added"),
            (len(diff.removed), "removed"),
            (len(diff.modified), "modified"),
        )
        if n
    ]
    paths = ", ".join(first_paths(diff, CHANGED_PATHS_SHOWN))
    return f"{ref.path}: {', '.join(counts)} file(s): {paths}"
