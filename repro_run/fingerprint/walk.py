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
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from repro_run.constants import STORE_DIRNAME
from repro_run.errors import DataChangedError, DataUnreadableError
from repro_run.fingerprint.hashing import (
    KEY,
    FileChanged,
    StatFilter,
    StatLike,
    hash_small_file,
    stat_key,
)
from repro_run.fingerprint.manifest import encode_line

_FS_ENCODING = sys.getfilesystemencoding()  # name.encode(this, "surrogateescape") is fsencode
_DIRECTORY_ATTEMPTS = 3  # a directory that changes while it is listed is listed again
_COARSE_GRANULARITIES_NS = (2_000_000_000, 1_000_000_000)  # FAT; HFS+, ext3, tar'd mtimes
_SPECIAL_KINDS = {
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


@dataclass(frozen=True, slots=True)
class WalkSettings:
    now_ns: int  # the wall clock when the scan started
    racy_margin_ns: int  # added to the detected timestamp granularity to form the racy window
    large_file: int  # files this big are left to the engine (multi-threaded, mmap)
    skip_unreadable: bool = False
    stat_filter: StatFilter | None = None  # tests: a filesystem with coarse timestamps


class DirRecord(NamedTuple):
    """What the stat cache keeps per directory (plain containers only: it is marshalled)."""

    # Few objects per directory, so that loading a 1M-file cache costs milliseconds:
    names: str  # regular files and symlinks, in listing order, joined by NUL
    keys: bytes  # KEY per name
    hashes: bytes  # marshalled list, per name: BLAKE3 hex (a link: its target); None: rehash
    trusted: bool  # every hash may be reused by the next scan
    subdirs: list[str]  # in listing order
    skipped: list[str]  # "fifo: a/b": entries never opened
    unreadable: list[str]  # "a/b (Permission denied)": recorded without a hash
    parts: list[bytes | str]  # manifest lines in canonical order; a str is a subdirectory
    files: int
    size: int


class Draft(NamedTuple):
    """A directory listed and hashed except for its large files (`pending`)."""

    rel: str
    path: str  # the directory on disk
    names: list[str]
    keys: bytearray
    digests: list[str | None]  # the content hashes (None: pending or unreadable)
    subdirs: list[str]
    skipped: list[str]
    unreadable: list[str]
    pending: list[int]  # indexes of large files the engine hashes


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
    pack = KEY.pack
    adjust = settings.stat_filter
    try:
        with os.scandir(path) as listing:
            for entry in listing:
                try:
                    raw = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed since the listing: not part of the dataset any more
                st: StatLike = adjust(raw) if adjust else raw
                mode = st.st_mode
                if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                    names.append(entry.name)
                    keys += pack(
                        st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, mode, st.st_dev
                    )
                elif stat.S_ISDIR(mode):
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


def finish(draft: Draft, settings: WalkSettings) -> DirRecord:
    """The directory's cache record and manifest lines, once every hash is known."""
    rel = draft.rel
    window = settings.racy_margin_ns + _granularity(draft.keys)
    trusted_before = settings.now_ns - window
    stored: list[str | None] = []
    lines: list[tuple[bytes, bytes | str]] = []
    unreadable = set(draft.unreadable)
    total = 0
    for name, (_ino, size, mtime, ctime, mode, _dev), digest in zip(
        draft.names, KEY.iter_unpack(draft.keys), draft.digests, strict=True
    ):
        path = rel + name
        if stat.S_ISLNK(mode):
            line = encode_line(path, 0, None, False, digest)
        else:
            line = encode_line(path, size, digest, bool(mode & 0o111), None)
            total += size
        lines.append((name.encode(_FS_ENCODING, "surrogateescape"), line))
        # Racy: a write in the same tick as this stat would leave the key unchanged.
        stored.append(digest if max(mtime, ctime) < trusted_before else None)
    lines += [(name.encode(_FS_ENCODING, "surrogateescape") + b"/", name) for name in draft.subdirs]
    lines.sort(key=lambda item: item[0])
    parts: list[bytes | str] = []
    run: list[bytes] = []
    for _, item in lines:
        if isinstance(item, bytes):
            run.append(item)
            continue
        if run:
            parts.append(b"".join(run))
            run = []
        parts.append(item)
    if run:
        parts.append(b"".join(run))
    trusted = None not in stored and not unreadable
    return DirRecord(
        "\0".join(draft.names),
        bytes(draft.keys),
        marshal.dumps(stored),
        trusted,
        draft.subdirs,
        draft.skipped,
        draft.unreadable,
        parts,
        len(draft.names),
        total,
    )


def _granularity(keys: bytearray | bytes) -> int:
    """The coarsest timestamp tick that explains every mtime here (0: fine-grained)."""
    mtimes = [k[2] for k in KEY.iter_unpack(keys)]
    if not mtimes:
        return 0
    for tick in _COARSE_GRANULARITIES_NS:
        if all(m % tick == 0 for m in mtimes):
            return tick
    return 0
