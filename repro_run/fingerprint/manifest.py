"""The canonical manifest: one byte encoding for a tree's entries, and its digest.

The manifest is JSON lines behind a header line, sorted by the path's bytes, with
`ensure_ascii`. Paths and link targets are held as their bytes read as UTF-8, non-UTF-8 bytes
as surrogate escapes (`models.canonical_name`), whatever the locale's file system encoding: the same
names give the same manifest on every machine and locale. The digest is the BLAKE3 of those bytes, so the manifest stored in the
object store is addressed by the dataset digest itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import blake3

from repro_run.models import ManifestEntry

MANIFEST_HEADER = b'{"format":"repro-manifest","version":1}\n'


def _sort_key(entry: ManifestEntry) -> bytes:
    return entry.path.encode("utf-8", "surrogateescape")  # the name's bytes


def encode_manifest(entries: Iterable[ManifestEntry]) -> bytes:
    lines = [MANIFEST_HEADER]
    for e in sorted(entries, key=_sort_key):
        lines.append(encode_line(e.path, e.size, e.hash, e.executable, e.link))
    return b"".join(lines)


def encode_line(
    path: str, size: int, digest: str | None, executable: bool, link: str | None
) -> bytes:
    """One manifest line, byte for byte what `json.dumps(row, ensure_ascii=True)` writes.

    Most names are plain printable ASCII: those are formatted directly (the engine encodes a
    line per changed file, and json.dumps costs several times more); anything else goes
    through json so escaping stays exactly JSON's.
    """
    if link is None and digest is not None and is_plain(path) and is_plain(digest):
        return f'["{path}",{size},"{digest}",{"true" if executable else "false"},null]\n'.encode()
    row = [path, size, digest, executable, link]
    return json.dumps(row, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


def is_plain(text: str) -> bool:
    """True when json.dumps(text, ensure_ascii=True) is text in quotes, nothing escaped."""
    # isprintable() on ASCII is exactly json's unescaped range (space to "~"), less " and \.
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def decode_manifest(data: bytes) -> tuple[ManifestEntry, ...]:
    """The entries of a manifest; ValueError naming the first line that is not one (a manifest
    may come from an imported bundle)."""
    header, _, body = data.partition(b"\n")
    if header + b"\n" != MANIFEST_HEADER:
        raise ValueError("not a repro manifest (unknown header)")
    return tuple(decode_entry(line) for line in body.splitlines())


def decode_entry(line: bytes) -> ManifestEntry:
    """One manifest line; ValueError when it is none (a damaged or crafted manifest), so that
    no reader meets a path that is a number or a size that is text."""
    try:
        row = json.loads(line)
    except RecursionError:
        row = None
    if isinstance(row, list) and len(row) == 5:
        path, size, digest, executable, link = row
        if (
            isinstance(path, str)
            and type(size) is int
            and 0 <= size < 2**63
            and (digest is None or isinstance(digest, str))
            and type(executable) is bool
            and (link is None or isinstance(link, str))
        ):
            return ManifestEntry(path, size, digest, executable, link)
    raise ValueError(f"not a manifest entry: {line[:80]!r}")


def manifest_digest(encoded: bytes) -> str:
    return str(blake3.blake3(encoded).hexdigest())
