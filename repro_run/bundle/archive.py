"""Write a bundle byte-for-byte reproducibly, streaming each member from its file.

Members are ordered by `names.member_order` (the run record first, objects last), with mtime 0,
uid/gid 0, mode 0644, and a gzip header without a name or time, so the same run always gives
the same bytes. The manifest, written first, lists each member's size and BLAKE3; the caller
gives those up front, and each member is hashed again while it is copied: a file that no longer
holds those bytes (data changed since the run, a corrupt object) stops the write
(`MemberChangedError`) and leaves no bundle behind. Memory stays bounded by the copy buffer.

The bundle is written into an unnamed file (Linux `O_TMPFILE`) in the target's directory and
linked into place at the end, so a `kill -9` mid-export leaves nothing behind. Where the file
system cannot (or in the instant between link and rename) the temp file is named
`.<name>.tmp-XXXX`; it is flocked from creation to rename either way, so the next export to the
same path removes the ones whose writer is gone (`temp_files`).
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import io
import json
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import blake3

from repro_run.bundle.names import MANIFEST, check_member_name, member_order
from repro_run.core.record import Record

BUNDLE_VERSION = 1
COPY_BUFFER = 1 << 20


class Member(Record):
    """One bundle member, streamed from `path`, whose bytes must have this size and hash."""

    name: str
    path: Path
    size: int
    blake3: str


class MemberChangedError(Exception):
    """A member's file does not hold the bytes it was listed with; `reason` says how."""

    def __init__(self, member: Member, reason: str) -> None:
        super().__init__(f"{member.path}: {reason}")
        self.member = member
        self.reason = reason


def file_member(name: str, path: Path) -> Member:
    """A member for a file whose hash is not known yet (read once to hash it)."""
    hasher = blake3.blake3()
    size = 0
    with open(path, "rb") as file:
        while chunk := file.read(COPY_BUFFER):
            hasher.update(chunk)
            size += len(chunk)
    return Member(name, path, size, hasher.hexdigest())


def write_bundle(path: Path, members: Sequence[Member], meta: dict[str, Any]) -> int:
    """Write the bundle to `path` atomically; returns its size in bytes."""
    ordered = sorted(members, key=lambda m: member_order(m.name))
    listing = {m.name: {"size": m.size, "blake3": m.blake3} for m in ordered}
    if len(listing) != len(ordered):
        raise ValueError("a bundle member is listed twice")
    manifest = {
        "bundle_version": BUNDLE_VERSION,
        **meta,
        "total_size": sum(m.size for m in ordered),
        "members": dict(sorted(listing.items())),
    }
    head = json.dumps(manifest, indent=1, sort_keys=True).encode() + b"\n"
    tmp = path.with_name(f"{_temp_prefix(path)}{os.urandom(4).hex()}")
    fd, unnamed = _open_temp(tmp)
    try:
        with open(fd, "wb") as raw:
            with (
                gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped,
                tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as tar,
            ):
                tar.addfile(_info(MANIFEST, len(head)), io.BytesIO(head))
                for member in ordered:
                    _add(tar, member)
            raw.flush()
            os.fsync(raw.fileno())
            if unnamed:
                _link(raw.fileno(), tmp)  # still flocked: ours until renamed
            size = os.fstat(raw.fileno()).st_size
            tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return size


def temp_files(path: Path) -> list[Path]:
    """The temp files of exports to `path`, live or left by a killed one."""
    prefix = _temp_prefix(path)
    with contextlib.suppress(OSError):
        return [p for p in path.parent.iterdir() if p.name.startswith(prefix)]
    return []


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.tmp-"


def _link(fd: int, named: Path) -> None:
    """Give the unnamed file `fd` the name `named`: linkat(2) through /proc, following the
    link (os.link calls link(2), which would not, unless given a directory descriptor)."""
    directory = os.open(named.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.link(f"/proc/self/fd/{fd}", named.name, dst_dir_fd=directory, follow_symlinks=True)
    finally:
        os.close(directory)


def _open_temp(named: Path) -> tuple[int, bool]:
    """A flocked file to write the bundle into, in `named`'s directory; whether it is unnamed
    (O_TMPFILE: linked as `named` once written), else it is `named` itself."""
    flags = os.O_WRONLY | os.O_CLOEXEC
    fd = -1
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # not supported by this file system: a named file
            fd = os.open(named.parent, flags | os.O_TMPFILE, 0o644)
    unnamed = fd >= 0
    if not unnamed:
        fd = os.open(named, flags | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            named.unlink()
        raise
    return fd, unnamed


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(check_member_name(name))
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info


def _add(tar: tarfile.TarFile, member: Member) -> None:
    try:
        fd = os.open(member.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise MemberChangedError(member, exc.strerror or str(exc)) from None
    try:
        source = _HashingReader(member, fd)
        tar.addfile(_info(member.name, member.size), source)
    finally:
        os.close(fd)
    if source.hasher.hexdigest() != member.blake3:
        raise MemberChangedError(member, "its content no longer matches its hash")


class _HashingReader:
    """What tarfile copies from: the file's first `size` bytes, hashed on the way, never short."""

    def __init__(self, member: Member, fd: int) -> None:
        self.member = member
        self.fd = fd
        self.left = member.size
        self.hasher = blake3.blake3()

    def read(self, size: int = -1, /) -> bytes:
        wanted = self.left if size < 0 else min(size, self.left)
        parts = []
        while wanted:
            try:
                chunk = os.read(self.fd, wanted)
            except OSError as exc:
                raise MemberChangedError(self.member, exc.strerror or str(exc)) from None
            if not chunk:
                raise MemberChangedError(self.member, "it is shorter than it was")
            parts.append(chunk)
            wanted -= len(chunk)
        data = b"".join(parts)
        self.left -= len(data)
        self.hasher.update(data)
        return data
