"""Hashing one file so that the hash and the stat key describe the same bytes.

Each file is opened without following links and without blocking (a FIFO swapped in after
the listing is noticed, never read), stat'ed through the open descriptor before and after
reading, and read again when the two differ. Small files are read in one call (per-file
overhead is what matters for them); large ones are hashed in chunks, so progress can be
reported while a 100 GB file is hashed.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
import struct
from collections.abc import Callable, Iterator
from typing import Protocol

import blake3

from repro_run.core.errors import DataChangedError

# inode, size, mtime_ns, ctime_ns, mode, device: what says "same file, same content".
KEY = struct.Struct("<QqqqQQ")
HASH_ATTEMPTS = 3  # a file that changes while it is hashed is hashed again, then reported
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK | os.O_CLOEXEC
_LARGE_CHUNK = 16 * 1024 * 1024  # per read and update: BLAKE3 splits it across its threads
# removed, or replaced by a link, FIFO or socket since the listing: list the directory again
_SWAPPED_ERRNOS = frozenset({errno.ENOENT, errno.ELOOP, errno.ENXIO})


class StatLike(Protocol):
    @property
    def st_mode(self) -> int: ...
    @property
    def st_ino(self) -> int: ...
    @property
    def st_dev(self) -> int: ...
    @property
    def st_size(self) -> int: ...
    @property
    def st_mtime_ns(self) -> int: ...
    @property
    def st_ctime_ns(self) -> int: ...


StatFilter = Callable[[os.stat_result], StatLike]


class FileChanged(Exception):
    """The entry is no longer the regular file that was listed: list its directory again."""


def stat_key(st: StatLike) -> bytes:
    return KEY.pack(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_dev)


def hash_small_file(
    path: str, listed: bytes, size: int, adjust: StatFilter | None
) -> tuple[str, bytes]:
    """BLAKE3 hex of a file read in one go, and the stat key it had throughout the read.

    `listed` (and `size`) are from the directory listing, taken before the file was opened;
    the descriptor's key after reading must match it, else the file changed and is read
    again. The type is checked after the read (one system call less per file: per-file cost
    is what matters here), so a FIFO swapped in for the file within that instant is read,
    without blocking (O_NONBLOCK), before it is refused.
    OSError: it cannot be opened or read. FileChanged: it is not a regular file any more.
    """
    expected = listed
    for _ in range(HASH_ATTEMPTS):
        fd = _open(path)
        try:
            data = _read_all(fd, size)
            after = _fstat(fd, adjust)
        finally:
            os.close(fd)
        key = KEY.pack(
            after.st_ino, after.st_size, after.st_mtime_ns, after.st_ctime_ns, after.st_mode,
            after.st_dev,
        )  # fmt: skip
        if key == expected and len(data) == size:
            return str(blake3.blake3(data).hexdigest()), key
        expected, size = key, after.st_size
    raise _kept_changing(path)


def hash_large_file(
    path: str,
    adjust: StatFilter | None,
    advance: Callable[[int], None],
    *,
    mapped: bool = False,
    threads: bool = False,
) -> tuple[str, bytes]:
    """Like `hash_small_file` for a big file, hashed in chunks (progress after each one).

    `mapped`: memory-mapped, no copy (only in a process that may die: a file truncated while
    mapped raises SIGBUS); else read into a buffer. `threads`: BLAKE3 splits each chunk
    across its own threads (never in a process that forks later). A retried file first takes
    back the bytes it reported, so progress never runs past the total.
    """
    for _ in range(HASH_ATTEMPTS):
        fd = _open(path)
        try:
            before = _fstat(fd, adjust)
            hasher = blake3.blake3(max_threads=blake3.blake3.AUTO if threads else 1)
            chunks = _mapped_chunks(fd, before.st_size) if mapped else _read_chunks(fd)
            done = 0
            for chunk in chunks:
                hasher.update(chunk)
                done += len(chunk)
                advance(len(chunk))
            after = _fstat(fd, adjust)
        finally:
            os.close(fd)
        key = stat_key(after)
        if key == stat_key(before) and done == after.st_size:
            return str(hasher.hexdigest()), key
        advance(-done)
    raise _kept_changing(path)


def _read_chunks(fd: int) -> Iterator[memoryview]:
    buffer = bytearray(_LARGE_CHUNK)
    view = memoryview(buffer)
    while n := os.readv(fd, [buffer]):
        yield view[:n]


def _mapped_chunks(fd: int, size: int) -> Iterator[memoryview]:
    if not size:
        return  # an empty file cannot be mapped
    with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            for offset in range(0, size, _LARGE_CHUNK):
                chunk = view[offset : offset + _LARGE_CHUNK]
                yield chunk
                chunk.release()
        finally:
            view.release()


def _open(path: str) -> int:
    try:
        return os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in _SWAPPED_ERRNOS:
            raise FileChanged() from None
        raise


def _fstat(fd: int, adjust: StatFilter | None) -> StatLike:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise FileChanged()
    return adjust(st) if adjust else st


def _read_all(fd: int, size: int) -> bytes:
    data = os.read(fd, size + 1)  # one byte more than expected: growth shows in the length
    if len(data) >= size:
        return data
    chunks, got = [data], len(data)
    while got <= size:  # a short read is legal (network filesystems, signals): read on
        chunk = os.read(fd, size + 1 - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _kept_changing(path: str) -> DataChangedError:
    return DataChangedError(
        f"file kept changing while it was hashed: {path} (stop what writes to it, then run again)"
    )
