"""Whether two TensorBoard event files hold the same records but for their wall times, decided
on their bytes without decoding a record (pure but for reading).

Each record's framing is walked and its length checksum checked; the records are compared
byte for byte with two parts set aside: the wall time (the `Event`'s field 1, a fixed64 that
writers put first: data bytes 1-8 of a record whose data starts with its key, 0x09) and the
data checksum, which covers the wall time. Every data checksum of both files is checked.

Decoding ~40-byte scalar records in Python reads ~2 MB/s. Here the stretches of records that
scalar logging writes (one layout of record repeated, or a repeating sequence of layouts: one a
tag, each step) are handled by `struct` and `map` in C, a record at a time but without Python
code per record; a record that starts no such stretch is handled alone, in Python.
"""

from __future__ import annotations

import functools
import struct
import sys
from array import array
from itertools import chain, repeat
from operator import eq, indexOf

from google_crc32c import value as crc32c

from repro_run.metrics.crc32c import MASK_DELTA, masked_crc32c
from repro_run.metrics.tensorboard import MAX_RECORD_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import BinaryIO

CHUNK = 8 << 20  # read a side at a time; memory is two chunks, or two records if larger
_WALL_TIME_KEY = 0x09  # field 1, wire type 1 (fixed64)
_MAX_PERIOD = 8  # records in the repeating sequence of layouts looked for
_LOOKAHEAD = 2 * _MAX_PERIOD
_LENGTH = struct.Struct("<QI")

# One record's layout: its 13 first bytes (length, length checksum, 0x09) when its data starts
# with a wall time, else None; and its data's length.
Shape = tuple["bytes | None", int]


class _Stretch:
    """`struct` formats for a repeating sequence of records that all start with a wall time."""

    def __init__(self, shapes: tuple[tuple[bytes, int], ...]) -> None:
        self.heads = tuple(head for head, _ in shapes)
        self.size = sum(16 + length for _, length in shapes)

        def each(form: str) -> struct.Struct:
            return struct.Struct(
                "<" + "".join(form.format(n=n, w=n - 9, r=n + 3) for _, n in shapes)
            )

        self.head = each("13s{r}x")  # length, its checksum and 0x09 (then data[1:], checksum)
        self.compared = each("13s8x{w}s4x")  # all but the wall time and the data checksum
        self.data = each("12x{n}s4x")
        self.checksum = each("12x{n}xI")


def first_parting(old: BinaryIO, new: BinaryIO) -> int | None:
    """None when the two files hold the same records but for their wall times (and the data
    checksums that cover them), every checksum of both holding; else the offset of the first
    record from which they may differ (a caller decodes from there)."""
    base, a, b, size = 0, b"", b"", CHUNK
    while True:
        more_a, more_b = old.read(size), new.read(size)
        if len(more_a) != len(more_b):
            return base
        a, b = a + more_a, b + more_b
        done, parted = _compare(a, b)
        if parted:
            return base + done
        if not more_a:  # a last record cut short (a killed writer) is compared as it is
            return None if a[done:] == b[done:] else base + done
        a, b, base = a[done:], b[done:], base + done
        # A record bigger than a chunk is read whole at once, not grown a chunk at a time.
        length = _length(a[:12]) if len(a) >= 12 else None
        size = max(CHUNK, 16 + length - len(a)) if length is not None else CHUNK


def _compare(a: bytes, b: bytes) -> tuple[int, bool]:
    """(where the complete records compared end, whether they parted there)."""
    left, right = memoryview(a), memoryview(b)
    pos = 0
    while True:
        shapes = _shapes(a, pos)
        if not shapes:
            return pos, _corrupt(a, pos)
        stretch = _repeating(shapes)
        if stretch is None:
            for shape in shapes[: max(1, len(shapes) - _MAX_PERIOD)]:
                if not _one_equal(a, b, pos, shape):
                    return pos, True
                pos += 16 + shape[1]
            continue
        periods = _extent(left, pos, (len(a) - pos) // stretch.size, stretch)
        end = pos + periods * stretch.size
        unequal = _first_unequal(left[pos:end], right[pos:end], stretch)
        if unequal is not None:
            return pos + unequal * stretch.size, True
        pos = end


def _shapes(a: bytes, pos: int) -> list[Shape]:
    """The shapes of the complete records from `pos` (up to `_LOOKAHEAD`), as far as their
    length checksums hold."""
    shapes: list[Shape] = []
    while len(shapes) < _LOOKAHEAD and pos + 12 <= len(a):
        length = _length(a[pos : pos + 12])
        if length is None or pos + 16 + length > len(a):
            break
        wall_time = length >= 9 and a[pos + 12] == _WALL_TIME_KEY
        shapes.append((a[pos : pos + 13] if wall_time else None, length))
        pos += 16 + length
    return shapes


@functools.lru_cache(maxsize=1024)
def _length(header: bytes) -> int | None:
    """The data length a record header gives, None when its checksum fails or it is too long
    (cached: a file of scalars has a handful of distinct headers)."""
    length, checksum = _LENGTH.unpack(header)
    if masked_crc32c(header[:8]) != checksum or length > MAX_RECORD_BYTES:
        return None
    return int(length)


def _corrupt(a: bytes, pos: int) -> bool:
    """Whether the bytes at `pos` are a header that does not hold (not merely cut short)."""
    return pos + 12 <= len(a) and _length(a[pos : pos + 12]) is None


def _repeating(shapes: list[Shape]) -> _Stretch | None:
    """The shortest sequence of shapes that all the records seen repeat, at least twice."""
    for period in range(1, len(shapes) // 2 + 1):
        if all(shapes[i] == shapes[i - period] for i in range(period, len(shapes))):
            first = shapes[:period]
            if all(head is not None for head, _ in first):
                return _stretch(tuple((head, n) for head, n in first if head is not None))
            return None
    return None


@functools.lru_cache(maxsize=256)
def _stretch(shapes: tuple[tuple[bytes, int], ...]) -> _Stretch:
    return _Stretch(shapes)


def _extent(view: memoryview, pos: int, periods: int, stretch: _Stretch) -> int:
    """How many of the `periods` from `pos` have the stretch's headers (at least the two seen)."""
    heads = stretch.head.iter_unpack(view[pos : pos + periods * stretch.size])
    try:
        return indexOf(map(eq, heads, repeat(stretch.heads)), False)
    except ValueError:  # all of them
        return periods


def _first_unequal(left: memoryview, right: memoryview, stretch: _Stretch) -> int | None:
    """The first period whose compared bytes differ or whose data checksums fail, or None."""
    compared = stretch.compared.iter_unpack
    periods = [_first_false(map(eq, compared(left), compared(right)))]
    for view in (left, right):
        record = _first_failing(view, stretch)
        periods.append(None if record is None else record // len(stretch.heads))
    return min((period for period in periods if period is not None), default=None)


def _first_false(results: Iterable[bool]) -> int | None:
    try:
        return indexOf(results, False)
    except ValueError:
        return None


def _first_failing(view: memoryview, stretch: _Stretch) -> int | None:
    """The first record whose data checksum fails, or None: the checksums computed one call a
    record (by `map`, in C), then masked and compared all at once (`_masked`)."""
    computed = array("I", map(crc32c, chain.from_iterable(stretch.data.iter_unpack(view))))
    stored = array("I", chain.from_iterable(stretch.checksum.iter_unpack(view)))
    differ = _masked(_lanes(computed), len(computed)) ^ _lanes(stored)
    return None if not differ else ((differ & -differ).bit_length() - 1) // 32


def _lanes(values: array[int]) -> int:
    """The values as one integer, the first in its lowest 32 bits."""
    if sys.byteorder == "big":
        values.byteswap()
    return int.from_bytes(values.tobytes(), "little")


def _masked(crcs: int, lanes: int) -> int:
    """`masked_crc32c` of each 32-bit lane of `crcs` at once (SIMD within a register: a million
    masked in ~30 ms where `map` took ~500 ms): the rotation by shifts and lane masks, the
    addition of the offset without carries crossing lanes (low 31 bits added, the top bit
    XORed)."""
    ones = int.from_bytes(b"\x01\x00\x00\x00" * lanes, "little")  # 1 in every lane
    rotated = ((crcs >> 15) & ones * 0x1FFFF) | ((crcs << 17) & ones * 0xFFFE0000)
    low = ones * 0x7FFFFFFF
    carried = (rotated & low) + ones * (MASK_DELTA & 0x7FFFFFFF)
    return carried ^ ((rotated ^ ones * MASK_DELTA) & ones << 31)


def _one_equal(a: bytes, b: bytes, pos: int, shape: Shape) -> bool:
    head, length = shape
    end = pos + 12 + length
    if head is None:
        same = a[pos:end] == b[pos:end]
    else:
        same = a[pos : pos + 13] == b[pos : pos + 13] and a[pos + 21 : end] == b[pos + 21 : end]
    return same and all(
        masked_crc32c(side[pos + 12 : end]) == int.from_bytes(side[end : end + 4], "little")
        for side in (a, b)
    )
