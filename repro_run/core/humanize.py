"""How sizes, counts and recorded text read: one wording for every view.

A leaf: `repro diff` (through `compare`), the data-changed warning of `repro run` and the
other screens all import it, so `train/: +3,201 files (+412.0 MB)` reads the same everywhere,
and a file name holding `\x1b]0;x\x07` shows as those characters in every view.
"""

from __future__ import annotations

import re

# C0 controls but newline and tab, DEL, C1 controls (some terminals read 0x9b as CSI), and the
# lone surrogates that stand for the undecodable bytes of a file name (`os.fsdecode`).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` as a terminal should show it: control characters escaped (`\\x1b`, `\\x07`).

    Recorded text (argv, file names, env and config values, metric names, a child's log line)
    is data: shown raw, an escape sequence could set the title, move the cursor or write the
    clipboard. Newlines and tabs stay; a surrogate shows as the byte it stands for (`\\xff`).
    """
    return _UNPRINTABLE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def format_bytes(size: float) -> str:
    """Decimal units, as `ls -h --si` and disk vendors count: 412.0 MB."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 file`, `3,201 files`; `count(2, "dependency", "dependencies")`."""
    return f"{n:,} " + (noun if n == 1 else plural or noun + "s")


def distinct_numbers(a: float, b: float, digits: int = 6) -> tuple[str, str]:
    """`a` and `b` to `digits` significant digits, or to as many more as it takes to tell them
    apart (`0.00422673 → 0.00451669`, `1976.788 → 1976.79`); the exact values are in the JSON."""
    for precision in range(digits, 18):
        shown = f"{a:.{precision}g}", f"{b:.{precision}g}"
        if shown[0] != shown[1] or a == b:
            return shown
    return repr(a), repr(b)
