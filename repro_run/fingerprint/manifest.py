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
    entries = []
    for number, line in enumerate(body.splitlines(), start=2):
        try:
            row = json.loads(line)
        except RecursionError:
            row = None
        if not _is_entry(row):
            raise ValueError(f"line {number} of the manifest is not an entry")
        entries.append(ManifestEntry(*row))
    return tuple(entries)


def _is_entry(row: object) -> bool:
    """[path, size, hash or null, executable, link target or null], typed as `encode_line`
    writes them."""
    if not isinstance(row, list) or len(row) != 5:
        return False
    path, size, digest, executable, link = row
    return (
        isinstance(path, str)
        and type(size) is int
        and size >= 0
        and isinstance(digest, str | None)
        and isinstance(executable, bool)
        and isinstance(link, str | None)
    )


def manifest_digest(encoded: bytes) -> str:
    return str(blake3.blake3(encoded).hexdigest())
