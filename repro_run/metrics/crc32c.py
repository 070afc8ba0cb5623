"""CRC-32C (Castagnoli), as TFRecord framing masks it: pure Python, table-driven, 4 bytes a step.

No installed dependency offers CRC-32C (zlib's CRC-32 has another polynomial), and a C
extension for one file format is not worth a dependency every user installs: this reads
~5 MB/s of record payload, and a TensorBoard file of scalars is mostly small records.
Reference: RFC 3720 appendix B.4; the mask is TensorFlow's `tensorflow/core/lib/hash/crc32c.h`.
"""

from __future__ import annotations

import sys

_POLY = 0x82F63B78  # reflected Castagnoli polynomial
_MASK_DELTA = 0xA282EAD8


def _tables() -> tuple[list[int], ...]:
    base = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        base.append(crc)
    tables = [base]
    for _ in range(3):  # slicing-by-4: table k is the CRC of a byte followed by k zero bytes
        prev = tables[-1]
        tables.append([(prev[i] >> 8) ^ base[prev[i] & 0xFF] for i in range(256)])
    return tuple(tables)


_T0, _T1, _T2, _T3 = _tables()


def crc32c(data: bytes | memoryview) -> int:
    crc = 0xFFFFFFFF
    # Words are read in native order: the 4-byte step is for little-endian hosts only.
    whole = len(data) // 4 * 4 if sys.byteorder == "little" else 0
    t0, t1, t2, t3 = _T0, _T1, _T2, _T3
    for word in memoryview(data)[:whole].cast("I"):
        crc ^= word
        crc = t3[crc & 0xFF] ^ t2[(crc >> 8) & 0xFF] ^ t1[(crc >> 16) & 0xFF] ^ t0[crc >> 24]
    for byte in data[whole:]:
        crc = t0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes | memoryview) -> int:
    """The checksum a TFRecord stores: the CRC rotated right by 15 bits plus a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF
