"""Whether two output files differ in content or only in what their writer varies on every run
(pure): formats are recognised by their first bytes; anything else is compared as bytes.

Bounded: only files of a recognised format and at most `CONTENT_CAP` bytes each are read; the
caller compares any other pair by hash alone.
"""

from __future__ import annotations

from collections.abc import Callable

from repro_run.verdict.plots import (
    Masked,
    mask_pdf,
    mask_png,
    mask_postscript,
    mask_svg,
    pdf_differences,
    postscript_differences,
)

CONTENT_CAP = 32 << 20  # per file; plots are kilobytes, and two files are held at once
HEAD_BYTES = 4096  # enough of a file's start to recognise its format (an SVG's <svg> tag)

_Differences = Callable[[bytes, bytes], "tuple[str, ...] | None"]
_Format = tuple[Callable[[bytes], bool], Callable[[bytes], Masked], "_Differences | None"]
# Where a format starts: the magic bytes, and for SVG (XML with any prologue) the root tag; how
# its files are masked; and, where one exists, what first tries to explain the two files'
# differences around each differing byte (`plots.differences`) instead of masking them whole.
_FORMATS: tuple[_Format, ...] = (
    (lambda head: head.startswith(b"%PDF-"), mask_pdf, pdf_differences),
    (lambda head: head.startswith(b"%!"), mask_postscript, postscript_differences),
    (lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"), mask_png, None),
    (
        lambda head: head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") and b"<svg" in head,
        mask_svg,
        None,
    ),
)


def understood(head: bytes) -> bool:
    """Whether a file starting with `head` (its first `HEAD_BYTES`) is of a format understood."""
    return _format(head) is not None


def equal_but_for(old: bytes, new: bytes) -> tuple[str, ...] | None:
    """What had to be set aside for the two files to be equal ("its creation date", ...; empty
    when their bytes are equal), or None when their content differs."""
    if old == new:
        return ()
    found = _format(old[:HEAD_BYTES])
    if found is None or found is not _format(new[:HEAD_BYTES]):
        return None
    _, mask, differences = found
    explained = differences(old, new) if differences is not None else None
    if explained is not None:
        return explained
    try:
        (old_masked, old_found), (new_masked, new_found) = mask(old), mask(new)
    except ValueError:  # malformed: its bytes are all there is to compare
        return None
    if old_masked != new_masked:
        return None
    differed = [
        label
        for label in dict.fromkeys([*old_found, *new_found])
        if old_found.get(label) != new_found.get(label)
    ]
    return tuple(differed)


def _format(head: bytes) -> _Format | None:
    return next((found for found in _FORMATS if found[0](head)), None)
