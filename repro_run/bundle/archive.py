"""Write a bundle byte-for-byte reproducibly, streaming each member from its file.

Members are ordered by `names.member_order` (the run record first, objects last), with mtime 0,
uid/gid 0, mode 0644, and a gzip header without a name or time, so the same run always gives
the same bytes. The manifest, written first, lists each member's size and BLAKE3; the caller
gives those up front, and each member is hashed again while it is copied: a file that no longer
holds those bytes (data changed since the run, a corrupt object) stops the write
(`MemberChangedError`) and leaves no bundle behind. Memory stays bounded by the copy buffer.
"""

from __future__ import annotations

import contextlib
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
from repro_run.record import Record

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
    tmp = path.with_name(f".{path.name}.tmp-{os.urandom(4).hex()}")
    try:
        with open(tmp, "xb") as raw:
            with (
                gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped,
                tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as tar,
            ):
                tar.addfile(_info(MANIFEST, len(head)), io.BytesIO(head))
                for member in ordered:
                    _add(tar, member)
            raw.flush()
            os.fsync(raw.fileno())
        size = tmp.stat().st_size
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return size


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
