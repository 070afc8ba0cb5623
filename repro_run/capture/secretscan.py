"""Secrets in an --allow-dirty patch: which added lines look like they hold one (file and line).

The patch is stored as the run's code state, so a token pasted into a tracked file would reach
the store. It is kept (the run must stay reproducible) but flagged, and `repro export` refuses a
flagged run. Three tests per added line, cheapest first: a value repro already knows is secret
(the env's and argv's), a well-known credential shape, and an assignment of a high-entropy
literal to a secret-sounding name (`api_key = "…"`). Findings never carry the value.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import BinaryIO

from repro_run.core.redaction import (
    MIN_ENTROPY_BITS,
    entropy,
    inline_secret_values,
    looks_secret_value,
)
from repro_run.core.secretmatch import SecretMatcher
from repro_run.models import SecretFinding

# A literal assigned to a secret name is flagged when it is long and random enough to be a
# credential (`api_key = "…"`), not a placeholder (`password = "changeme"`).
_MIN_LITERAL_LEN = 16
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,\d+)? @@")
BINARY_SNIFF_BYTES = 8000  # git's FIRST_FEW_BYTES (xdiff-interface.c, buffer_is_binary)
_PIECE_BYTES = 1 << 20  # a longer line is read in pieces...
_PIECE_OVERLAP = 4096  # ...each repeating the previous one's tail, so no secret is cut in two


def classify_line(line: str, known: SecretMatcher) -> str | None:
    """What secret the line seems to hold ("known secret value", ...), or None."""
    if known.spans(line):
        return "known secret value"
    if looks_secret_value(line):
        return "credential shape"
    for value in inline_secret_values(line):
        if len(value) >= _MIN_LITERAL_LEN and entropy(value) >= MIN_ENTROPY_BITS:
            return "assignment"
    return None


def scan_patch(patch: bytes, known: Collection[str] = ()) -> tuple[SecretFinding, ...]:
    """Findings for the added lines of a unified (git) diff; binary hunks cannot be read."""
    findings: list[SecretFinding] = []
    path, line_no = "", 0
    matcher = SecretMatcher(known)
    for raw in patch.split(b"\n"):
        if raw.startswith(b"+++ "):
            target = raw[4:].decode("utf-8", "surrogateescape")
            path = target[2:] if target.startswith("b/") else target
            continue
        hunk = _HUNK.match(raw)
        if hunk:
            line_no = int(hunk.group("start"))
            continue
        if raw.startswith(b"+"):
            kind = classify_line(raw[1:].decode("utf-8", "replace"), matcher)
            if kind is not None:
                findings.append(SecretFinding(path, line_no, kind))
            line_no += 1
        elif raw.startswith(b" "):
            line_no += 1
    return tuple(findings)


def is_binary(path: Path) -> bool:
    """git's test: a NUL byte in the first 8000 bytes."""
    with open(path, "rb") as file:
        return b"\0" in file.read(BINARY_SNIFF_BYTES)


def scan_file(path: Path, name: str, known: Collection[str] = ()) -> tuple[SecretFinding, ...]:
    """Findings for each line of the text file at `path` (read in bounded pieces), which the
    findings call `name`."""
    findings: list[SecretFinding] = []
    matcher = SecretMatcher(known)
    with open(path, "rb") as file:
        for number, line in _numbered_lines(file):
            kind = classify_line(line, matcher)
            if kind is not None and (not findings or findings[-1].line != number):
                findings.append(SecretFinding(name, number, kind))
    return tuple(findings)


def _numbered_lines(file: BinaryIO) -> Iterator[tuple[int, str]]:
    number, carry = 1, b""
    while piece := file.readline(_PIECE_BYTES):
        yield number, (carry + piece).decode("utf-8", "replace")
        if piece.endswith(b"\n"):
            number, carry = number + 1, b""
        else:
            carry = piece[-_PIECE_OVERLAP:]
