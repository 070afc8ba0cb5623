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
_PDF_STRING = rb"(\((?:[^()\\]|\\.)*\)|<[0-9A-Fa-f\s]*>)"  # a literal or a hex string
_DATES: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"/CreationDate\s*" + _PDF_STRING), CREATION),
    (re.compile(rb"/ModDate\s*" + _PDF_STRING), MODIFICATION),
    # XMP metadata, when a writer leaves its stream uncompressed (and in SVG).
    (re.compile(rb"<xmp:CreateDate>([^<]*)<"), CREATION),
    (re.compile(rb"<xmp:(?:ModifyDate|MetadataDate)>([^<]*)<"), MODIFICATION),
    (re.compile(rb"<xmpMM:(?:DocumentID|InstanceID)>([^<]*)<"), DOCUMENT_ID),
)
_PDF_ONLY: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"/ID\s*\[\s*(" + _PDF_STRING + rb"\s*" + _PDF_STRING + rb")\s*\]"), DOCUMENT_ID),
    # The cross-reference table and `startxref` hold byte offsets of objects, which move when
    # an earlier masked value is longer or shorter; the objects themselves are compared.
    (re.compile(rb"(?m)^(\d{10}) \d{5} [nf]"), OFFSETS),
    (re.compile(rb"startxref\s+(\d+)"), OFFSETS),
)
_PS_ONLY: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"(?m)^%%CreationDate:([^\r\n]*)"), CREATION),
)
_SVG_DATE: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"<dc:date>([^<]*)<"), CREATION),
)
_SVG_ID = re.compile(rb"""\bid=(["'])([^"']+)\1""")
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


def mask_pdf(data: bytes) -> Masked:
    return _mask(data, _DATES + _PDF_ONLY)


def mask_postscript(data: bytes) -> Masked:
    return _mask(data, _DATES + _PS_ONLY)  # pdfmark dictionaries spell dates as PDF does


def mask_svg(data: bytes) -> Masked:
    """Dates masked, and element IDs renamed by order of definition (references follow), so
    two drawings that differ only in the names of their IDs compare equal."""
    masked, found = _mask(data, _DATES + _SVG_DATE)
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


def _mask(data: bytes, patterns: tuple[tuple[re.Pattern[bytes], str], ...]) -> Masked:
    found: Found = {}
    for pattern, label in patterns:
        data = pattern.sub(_replacer(found.setdefault(label, [])), data)
    return data, {label: values for label, values in found.items() if values}


def _replacer(values: list[bytes]) -> Callable[[re.Match[bytes]], bytes]:
    """Replace group 1 of a match by the placeholder, keeping the value in `values`."""

    def replace(match: re.Match[bytes]) -> bytes:
        values.append(match[1])
        start, end = match.start(1) - match.start(0), match.end(1) - match.start(0)
        return match[0][:start] + _PLACEHOLDER + match[0][end:]

    return replace
