"""What PDF, PostScript, PNG and SVG writers change on every run (dates, IDs), masked (pure).

Each `mask_*` returns the file's bytes with those parts replaced by a placeholder, and the
parts themselves by what they are ("its creation date"), so a caller can say which of them
actually differed. Everything else is kept byte for byte: a plotted value that changed still
differs. Seen with matplotlib 3.11 (`savefig` with its defaults, no SOURCE_DATE_EPOCH): PDF
`/CreationDate`, PostScript `%%CreationDate:`, SVG `<dc:date>` and its element IDs (hashed
with a random salt unless `svg.hashsalt` is set: https://matplotlib.org/stable/users/explain/
customizing.html); PNG none, but other writers (Pillow, ImageMagick) add `tIME` and date text.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

# The parts a mask found, by what they are: ("its creation date", [b"D:2026...", ...]).
Found = dict[str, list[bytes]]
Masked = tuple[bytes, Found]

CREATION = "its creation date"
MODIFICATION = "its modification date"
DOCUMENT_ID = "its document ID"
OFFSETS = "its cross-reference offsets"  # shift when a date's length does (another time zone)
ELEMENT_IDS = "its generated element IDs"
PNG_TIME = "its last-modified time (tIME)"

_PLACEHOLDER = b"\x00"
_PDF_STRING = rb"(?:\((?:[^()\\]|\\.)*\)|<[0-9A-Fa-f\s]*>)"  # a literal or a hex string


class _Part:
    """A volatile part: the literal it starts with (a file without it is not scanned: a
    `bytes.find` is far cheaper than a regular expression), and a pattern whose group 1 is
    the value."""

    __slots__ = ("label", "literal", "pattern")

    def __init__(self, literal: bytes, rest: bytes, label: str) -> None:
        self.literal, self.label = literal, label
        self.pattern = re.compile(re.escape(literal) + rest)


_DATES = (
    _Part(b"/CreationDate", rb"\s*(%s)" % _PDF_STRING, CREATION),
    _Part(b"/ModDate", rb"\s*(%s)" % _PDF_STRING, MODIFICATION),
    # XMP metadata, when a writer leaves its stream uncompressed (and in SVG).
    _Part(b"<xmp:CreateDate>", rb"([^<]*)", CREATION),
    _Part(b"<xmp:ModifyDate>", rb"([^<]*)", MODIFICATION),
    _Part(b"<xmp:MetadataDate>", rb"([^<]*)", MODIFICATION),
    _Part(b"<xmpMM:DocumentID>", rb"([^<]*)", DOCUMENT_ID),
    _Part(b"<xmpMM:InstanceID>", rb"([^<]*)", DOCUMENT_ID),
)
# The cross-reference tables and `startxref` hold byte offsets of objects, which move when an
# earlier masked value is longer or shorter (a date in another time zone); the objects
# themselves are compared. A table is one part: its rows' offsets are zeroed in C.
_XREF_TABLE = _Part(
    b"xref", rb"[ \t]*\r?\n((?:\d+ \d+[ \t]*\r?\n(?:\d{10} \d{5} [nf][ \r\n]{1,2})*)+)", OFFSETS
)
_XREF_OFFSET = re.compile(rb"(?m)^\d{10}(?= \d{5} [nf])")
_PDF = (
    *_DATES,
    _Part(b"/ID", rb"\s*\[\s*(%s\s*%s)\s*\]" % (_PDF_STRING, _PDF_STRING), DOCUMENT_ID),
    _Part(b"startxref", rb"\s+(\d+)", OFFSETS),
)
_POSTSCRIPT = (*_DATES, _Part(b"%%CreationDate:", rb"([^\r\n]*)", CREATION))
_SVG = (*_DATES, _Part(b"<dc:date>", rb"([^<]*)", CREATION))
_SVG_ID = re.compile(rb"""(?<![\w:-])id=(["'])([^"']+)\1""")
_SVG_REF = re.compile(rb"#([A-Za-z_][\w.:-]*)")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT = {b"tEXt", b"zTXt", b"iTXt"}
# Keywords of text chunks that hold a date: the PNG spec's, ImageMagick's, PDF-style ones.
_PNG_DATE_KEYS = {
    b"creation time": CREATION,
    b"date:create": CREATION,
    b"creationdate": CREATION,
    b"date:modify": MODIFICATION,
    b"date:timestamp": MODIFICATION,
    b"moddate": MODIFICATION,
    b"modification time": MODIFICATION,
}


# How far before a differing byte the key of the value holding it may start (a date string is
# ~25 bytes, an /ID pair ~70), and how many differing places are explained before the whole
# files are masked instead (an SVG's salted IDs differ in hundreds of places).
_NEAR = 256
_MAX_PLACES = 8


def pdf_differences(old: bytes, new: bytes) -> tuple[str, ...] | None:
    """`differences` with the parts `mask_pdf` masks but the cross-reference tables (whose
    offsets differ only when the files' lengths do)."""
    return differences(old, new, _PDF)


def postscript_differences(old: bytes, new: bytes) -> tuple[str, ...] | None:
    return differences(old, new, _POSTSCRIPT)


def differences(old: bytes, new: bytes, parts: tuple[_Part, ...]) -> tuple[str, ...] | None:
    """The labels of the volatile values two files of equal length differ in, when every byte
    that differs lies inside the value of one of `parts` matched at the same place in both
    (only the bytes around each difference are searched: masking two 10 KB plots whole costs
    more than reading them); None when not (the caller masks the whole files)."""
    if len(old) != len(new):
        return None
    labels: dict[str, None] = {}
    at = 0
    for _ in range(_MAX_PLACES):
        at = _first_difference(old, new, at)
        if at < 0:
            return tuple(labels)
        place = _value_at(old, new, at, parts)
        if place is None:
            return None
        label, at = place
        labels[label] = None
    return None


def _first_difference(old: bytes, new: bytes, start: int) -> int:
    """The first index from `start` where the two (equally long) files differ, or -1: halving
    by slice comparisons, each a memcmp (at most twice the bytes copied)."""
    low, high = start, len(old)
    if old[low:] == new[low:]:
        return -1
    while high - low > 1:  # the first difference is in [low, high)
        middle = (low + high) // 2
        if old[low:middle] == new[low:middle]:
            low = middle
        else:
            high = middle
    return low


def _value_at(old: bytes, new: bytes, at: int, parts: tuple[_Part, ...]) -> tuple[str, int] | None:
    """(label, end of the value) of the part whose value holds byte `at` in both files."""
    for part in parts:
        key = old.rfind(part.literal, max(0, at - _NEAR), at)
        if key < 0:
            continue
        a, b = part.pattern.match(old, key), part.pattern.match(new, key)
        if a and b and a.span(1) == b.span(1) and a.start(1) <= at < a.end(1):
            return part.label, a.end(1)
    return None


def mask_pdf(data: bytes) -> Masked:
    masked, found = _mask(data, _PDF)
    if _XREF_TABLE.literal in masked:
        masked = _XREF_TABLE.pattern.sub(_replacer(_XREF_TABLE, found, _zero_offsets), masked)
    return masked, found


def mask_postscript(data: bytes) -> Masked:
    return _mask(data, _POSTSCRIPT)  # pdfmark dictionaries spell dates as PDF does


def mask_svg(data: bytes) -> Masked:
    """Dates masked, and element IDs renamed by order of definition (references follow), so
    two drawings that differ only in the names of their IDs compare equal."""
    masked, found = _mask(data, _SVG)
    ids: dict[bytes, bytes] = {}
    for match in _SVG_ID.finditer(masked):
        ids.setdefault(match.group(2), b"%d" % len(ids))
    if not ids:
        return masked, found

    def rename_id(match: re.Match[bytes]) -> bytes:
        return b"id=%s%s%s%s" % (match[1], _PLACEHOLDER, ids[match[2]], match[1])

    def rename_ref(match: re.Match[bytes]) -> bytes:
        new = ids.get(match[1])
        return match[0] if new is None else b"#" + _PLACEHOLDER + new

    masked = _SVG_REF.sub(rename_ref, _SVG_ID.sub(rename_id, masked))
    found[ELEMENT_IDS] = list(ids)
    return masked, found


def mask_png(data: bytes) -> Masked:
    """The chunks but `tIME` and date text chunks, byte for byte (CRCs included); raises
    ValueError on a malformed file (the caller compares its bytes instead)."""
    kept = [_PNG_SIGNATURE]
    found: Found = {}
    at = len(_PNG_SIGNATURE)
    while at < len(data):
        if at + 12 > len(data):
            raise ValueError("truncated PNG chunk")
        (length,) = struct.unpack_from(">I", data, at)
        end = at + 12 + length
        if end > len(data):
            raise ValueError("truncated PNG chunk")
        kind, body = data[at + 4 : at + 8], data[at + 8 : end - 4]
        label = _png_volatile(kind, body)
        if label is None:
            kept.append(data[at:end])
        else:
            found.setdefault(label, []).append(body)
        at = end
        if kind == b"IEND":
            kept.append(data[at:])  # anything after the image is compared as it is
            break
    return b"".join(kept), found


def _png_volatile(kind: bytes, body: bytes) -> str | None:
    if kind == b"tIME":
        return PNG_TIME
    if kind in _PNG_TEXT:
        return _PNG_DATE_KEYS.get(body.split(b"\x00", 1)[0].strip().lower())
    return None


def _mask(data: bytes, parts: tuple[_Part, ...]) -> Masked:
    """Replace the value of each part found by the placeholder, keeping it by label."""
    found: Found = {}
    for part in parts:
        if part.literal in data:
            data = part.pattern.sub(_replacer(part, found, lambda _: _PLACEHOLDER), data)
    return data, found


def _zero_offsets(table: bytes) -> bytes:
    return _XREF_OFFSET.sub(b"0000000000", table)  # a fixed replacement: no call per row


def _replacer(
    part: _Part, found: Found, masked: Callable[[bytes], bytes]
) -> Callable[[re.Match[bytes]], bytes]:
    def replace(match: re.Match[bytes]) -> bytes:
        value = match[1]
        found.setdefault(part.label, []).append(value)
        start, end = match.start(1) - match.start(), match.end(1) - match.start()
        return match[0][:start] + masked(value) + match[0][end:]

    return replace
