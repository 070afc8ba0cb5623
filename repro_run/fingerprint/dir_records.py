"""Per-directory records: the stat cache's unit, and the manifest lines it carries.

A directory's manifest lines are kept in canonical order as runs between its
subdirectories: paths sort by bytes, and a subdirectory's whole subtree sorts as one block at
the position of `name + "/"`, so the manifest is assembled depth-first from these runs with
no global sort. `finish` also decides which hashes may be reused: only those of files whose
mtime and ctime are older than the scan's racy window.
"""

from __future__ import annotations

import marshal
import stat
import sys
from collections.abc import Mapping
from typing import NamedTuple

from repro_run.core.record import Record
from repro_run.fingerprint.hashing import KEY, StatFilter
from repro_run.fingerprint.manifest import MANIFEST_HEADER, encode_line, is_plain
from repro_run.models import canonical_name

_FS_ENCODING = sys.getfilesystemencoding()  # name.encode(this, "surrogateescape") is fsencode
_COARSE_GRANULARITIES_NS = (2_000_000_000, 1_000_000_000)  # FAT; HFS+, ext3, tar'd mtimes
_TYPE_MASK = 0o170000  # stat.S_IFMT(mode) is mode & _TYPE_MASK


class WalkSettings(Record):
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


def finish(draft: Draft, settings: WalkSettings) -> DirRecord:
    """The directory's cache record and manifest lines, once every hash is known."""
    rel = draft.rel
    window = settings.racy_margin_ns + _granularity(draft.keys)
    trusted_before = settings.now_ns - window
    stored: list[str | None] = []
    lines: list[tuple[bytes, bytes | str]] = []
    unreadable = set(draft.unreadable)
    total = 0
    plain_rel = is_plain(rel)  # most names need no JSON escaping: format those directly
    for name, (_ino, size, mtime, ctime, mode, _dev), digest in zip(
        draft.names, KEY.iter_unpack(draft.keys), draft.digests, strict=True
    ):
        if mode & _TYPE_MASK == stat.S_IFLNK:
            link = canonical_name(digest) if digest is not None else None
            line = encode_line(canonical_name(rel + name), 0, None, False, link)
        else:
            total += size
            if digest is not None and plain_rel and is_plain(name):
                executable = "true" if mode & 0o111 else "false"
                line = f'["{rel}{name}",{size},"{digest}",{executable},null]\n'.encode()
            else:
                line = encode_line(
                    canonical_name(rel + name), size, digest, bool(mode & 0o111), None
                )
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


def assemble(records: Mapping[str, DirRecord]) -> bytes:
    """The manifest: each directory's runs of lines, its subdirectories' lines in between."""
    out = [MANIFEST_HEADER]
    empty: list[bytes | str] = []
    root = records.get("")
    stack = [("", iter(root.parts if root else empty))]
    while stack:
        rel, parts = stack[-1]
        for part in parts:
            if isinstance(part, bytes):
                out.append(part)
            else:
                sub = f"{rel}{part}/"
                record = records.get(sub)
                stack.append((sub, iter(record.parts if record else empty)))
                break
        else:
            stack.pop()
    return b"".join(out)
