"""One directory of a dataset: list it, stat it, reuse trusted hashes, hash the small files.

The fingerprint engine's unit of work (`engine.py` schedules it, in its own process or in
forked workers). Per entry it costs one `lstat` and a few C-level operations when nothing
changed: each file's stat key is packed into one `bytes` per directory, so an unchanged
directory is recognised by comparing two byte strings, and its manifest lines are reused.

A hash is reused only when the file's stat key (inode, size, mtime, ctime, mode, device) is
unchanged *and* the hash was trusted when it was stored: a file whose mtime or ctime lies
within the racy window of the scan that hashed it is never trusted (git's "racy clean"
problem: a write in the same timestamp tick would leave the key unchanged).
"""

from __future__ import annotations

import errno
import marshal
import os
import stat
from collections.abc import Mapping
from typing import NamedTuple

from repro_run.core.constants import STORE_DIRNAME
from repro_run.core.errors import DataChangedError, DataUnreadableError
from repro_run.fingerprint.dir_records import DirRecord, Draft, WalkSettings, finish
from repro_run.fingerprint.hashing import (
    KEY,
    FileChanged,
    StatLike,
    hash_small_file,
    stat_key,
)

_TYPE_MASK, _DIRECTORY = 0o170000, stat.S_IFDIR  # stat.S_IFMT(mode) is mode & _TYPE_MASK
_FILE_KINDS = (stat.S_IFREG, stat.S_IFLNK)  # recorded: regular files and symlinks
_DIRECTORY_ATTEMPTS = 3  # a directory that changes while it is listed is listed again
_SPECIAL_KINDS = {
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


DirId = tuple[int, int]  # (device, inode)


class DirResult(NamedTuple):
    rel: str
    subdirs: list[tuple[str, str, DirId]]  # (rel, path, id) to walk next
    record: DirRecord | None  # None: see `draft`, or the cached record still holds
    draft: Draft | None
    listed: int  # entries listed: the scheduler's measure of work done
    reused: int  # files (and links) vouched for by the stat cache, not read
    hashed_files: int
    hashed_bytes: int


def kind_of(mode: int) -> str:
    return _SPECIAL_KINDS.get(stat.S_IFMT(mode), "special file")


def scan_directory(
    rel: str,
    path: str,
    cached: DirRecord | None,
    settings: WalkSettings,
    ancestors: frozenset[DirId] = frozenset(),
) -> DirResult:
    """List, stat and hash one directory; retried when it changes under us.

    `ancestors` (this directory included) end loops that bind mounts can make; symlinks
    never loop, since they are recorded and not followed.
    """
    for attempt in range(_DIRECTORY_ATTEMPTS):
        try:
            return _scan(rel, path, cached, settings, ancestors)
        except FileChanged:
            if attempt == _DIRECTORY_ATTEMPTS - 1:
                raise DataChangedError(
                    f"directory kept changing while it was fingerprinted: {path} "
                    "(stop what writes to it, then run again)"
                ) from None
    raise AssertionError("unreachable")


def _scan(
    rel: str,
    path: str,
    cached: DirRecord | None,
    settings: WalkSettings,
    ancestors: frozenset[DirId],
) -> DirResult:
    names: list[str] = []
    subdirs: list[tuple[str, str, DirId]] = []
    skipped: list[str] = []
    keys = bytearray()
    # The loop below runs once per file of the dataset on every fingerprint: names are
    # bound locally and the file type is one mask, not two stat.S_IS* calls.
    pack, add_name, adjust = KEY.pack, names.append, settings.stat_filter
    try:
        with os.scandir(path) as listing:
            for entry in listing:
                try:
                    raw = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed since the listing: not part of the dataset any more
                st: StatLike = raw if adjust is None else adjust(raw)
                mode = st.st_mode
                kind = mode & _TYPE_MASK
                if kind in _FILE_KINDS:
                    add_name(entry.name)
                    keys += pack(
                        st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, mode, st.st_dev
                    )
                elif kind == _DIRECTORY:
                    if entry.name == STORE_DIRNAME:
                        continue  # never walk into repro's own store
                    dir_id = (st.st_dev, st.st_ino)
                    if dir_id in ancestors:
                        skipped.append(f"directory loop: {rel}{entry.name}")
                    else:
                        subdirs.append((f"{rel}{entry.name}/", entry.path, dir_id))
                else:
                    skipped.append(f"{kind_of(mode)}: {rel}{entry.name}")
    except OSError as exc:
        return _unreadable_directory(rel, path, exc, settings)
    subdir_names = [s[0][len(rel) : -1] for s in subdirs]
    if (
        cached is not None
        and cached.trusted
        and cached.keys == keys
        and cached.names == "\0".join(names)
        and cached.subdirs == subdir_names
        and cached.skipped == skipped
    ):
        return DirResult(rel, subdirs, None, None, len(names), len(names), 0, 0)
    draft, counts = _hash_directory(rel, path, names, keys, subdir_names, skipped, cached, settings)
    record = None if draft.pending else finish(draft, settings)
    return DirResult(rel, subdirs, record, None if record else draft, len(names), *counts)


def scan_single_file(path: str, cached: DirRecord | None, settings: WalkSettings) -> DirResult:
    """A dataset that is one file: the same record as a directory holding only that file."""
    for attempt in range(_DIRECTORY_ATTEMPTS):
        try:
            raw = os.lstat(path)
            st: StatLike = settings.stat_filter(raw) if settings.stat_filter else raw
            keys = bytearray(stat_key(st))
            name = os.path.basename(path)
            if cached and cached.trusted and cached.keys == keys and cached.names == name:
                return DirResult("", [], None, None, 1, 1, 0, 0)
            draft, counts = _hash_directory(
                "", os.path.dirname(path), [name], keys, [], [], cached, settings
            )
        except FileChanged:
            if attempt == _DIRECTORY_ATTEMPTS - 1:
                raise DataChangedError(
                    f"file kept changing while it was fingerprinted: {path} "
                    "(stop what writes to it, then run again)"
                ) from None
            continue
        record = None if draft.pending else finish(draft, settings)
        return DirResult("", [], record, None if record else draft, 1, *counts)
    raise AssertionError("unreachable")


def _unreadable_directory(rel: str, path: str, exc: OSError, settings: WalkSettings) -> DirResult:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):  # removed since its parent was listed
        gone = DirRecord("", b"", marshal.dumps([]), False, [], [], [], [], 0, 0)
        return DirResult(rel, [], gone, None, 0, 0, 0, 0)
    if not settings.skip_unreadable:
        raise DataUnreadableError(
            f"directory cannot be read: {path}: {exc.strerror} "
            "(fix its permissions, or pass --skip-unreadable)"
        ) from None
    note = f"{rel or './'} (directory: {exc.strerror})"
    record = DirRecord("", b"", marshal.dumps([]), False, [], [], [note], [], 0, 0)
    return DirResult(rel, [], record, None, 0, 0, 0, 0)


def _hash_directory(
    rel: str,
    path: str,
    names: list[str],
    keys: bytearray,
    subdirs: list[str],
    skipped: list[str],
    cached: DirRecord | None,
    settings: WalkSettings,
) -> tuple[Draft, tuple[int, int, int]]:
    reusable: Mapping[str, int] = {}
    cached_hashes: list[str | None] = []
    if cached is not None and cached.names:
        cached_hashes = marshal.loads(cached.hashes)
        reusable = {
            name: i
            for i, name in enumerate(cached.names.split("\0"))
            if cached_hashes[i] is not None
        }
    digests: list[str | None] = []
    unreadable: list[str] = []
    pending: list[int] = []
    reused = hashed_files = hashed_bytes = 0
    width = KEY.size
    large_file, adjust = settings.large_file, settings.stat_filter
    for i, (name, (_ino, size, _m, _c, mode, _dev)) in enumerate(
        zip(names, KEY.iter_unpack(keys), strict=True)
    ):
        j = reusable.get(name)
        if (
            j is not None
            and cached is not None
            and cached.keys[j * width : (j + 1) * width] == keys[i * width : (i + 1) * width]
        ):
            digests.append(cached_hashes[j])
            reused += 1
            continue
        file_path = f"{path}/{name}"
        if stat.S_ISLNK(mode):
            digests.append(_readlink(file_path))
        elif size >= large_file:
            digests.append(None)
            pending.append(i)
        else:
            try:
                digest, after = hash_small_file(
                    file_path, bytes(keys[i * width : (i + 1) * width]), size, adjust
                )
            except OSError as exc:
                digests.append(None)
                unreadable.append(unreadable_note(rel + name, file_path, exc, settings))
                continue
            keys[i * width : (i + 1) * width] = after  # the key of the bytes actually hashed
            digests.append(digest)
            hashed_files += 1
            hashed_bytes += size
    draft = Draft(rel, path, names, keys, digests, subdirs, skipped, unreadable, pending)
    return draft, (reused, hashed_files, hashed_bytes)


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:  # replaced by a file, or removed, since the listing
        raise FileChanged() from None


def unreadable_note(rel: str, path: str, exc: OSError, settings: WalkSettings) -> str:
    """The note recorded for a file that cannot be read, or the error when not skipping."""
    if not settings.skip_unreadable:
        raise DataUnreadableError(
            f"file cannot be read: {path}: {exc.strerror} "
            "(fix its permissions, or pass --skip-unreadable)"
        ) from None
    return f"{rel} ({exc.strerror})"
