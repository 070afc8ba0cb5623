"""TensorBoard event files → curves, without TensorFlow or protobuf: TFRecord framing with its
checksums checked, and the few protobuf fields of `Event` that carry scalars.

TensorBoard's own loader imports its TensorFlow stub, protobuf, NumPy and grpc (a second or
more), and tbparse adds pandas: a reader of five message fields is smaller than either. The
record framing (https://www.tensorflow.org/tutorials/load_data/tfrecord#tfrecords_format_details):
uint64 length, masked CRC-32C of the length, the data, masked CRC-32C of the data. The data is an
`Event` (tensorflow/core/util/event.proto): step (2), summary (5) → value (1) → tag (1),
simple_value (2) or tensor (8: tensorflow/core/framework/tensor.proto). Wall times (field 1)
are not read: they differ between identical runs. Records are streamed: memory is one record.
"""

from __future__ import annotations

import struct

from repro_run.metrics.crc32c import masked_crc32c
from repro_run.metrics.series import Series, is_timing_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

# A scalar record is ~50 bytes; an image or a graph a few MB. A length beyond this is corrupt.
MAX_RECORD_BYTES = 256 << 20
_HEADER = struct.Struct("<QI")
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
# TensorProto: tensor_content (4) holds the elements raw, little-endian, by dtype (float,
# double, int32, int64, half); else float_val (5) and double_val (6) are packed fixed-width,
# int_val (7), int64_val (10) and half_val (13, a float16's bits) packed varints.
_CONTENT = {1: "<f", 2: "<d", 3: "<i", 9: "<q", 19: "<e"}
_FLOAT_FIELDS = {5: "<f", 6: "<d"}
_HALF_VAL = 13
_INT_FIELDS = (7, 10, _HALF_VAL)


class CorruptRecord(ValueError):
    """A record whose framing or protobuf does not hold."""


Field = tuple[int, int, "int | memoryview"]  # number, wire type, an int or the field's bytes


def read_tensorboard(f: BinaryIO, where: str) -> tuple[Series, list[str]]:
    """(series, problems): every scalar of every event; a record whose data checksum fails (or
    whose protobuf does not parse) is skipped and counted; a length whose checksum fails ends
    the reading, because the framing after it is lost."""
    series: Series = {}
    bad: list[int] = []
    try:
        for offset, data in _records(f):
            try:
                if data is None:
                    raise CorruptRecord("data checksum")
                _event(data, series)
            except CorruptRecord:
                bad.append(offset)
    except CorruptRecord as exc:
        return series, [f"{where}: {exc}; the rest of the file not read", *_skipped(where, bad)]
    return series, _skipped(where, bad)


def _skipped(where: str, bad: list[int]) -> list[str]:
    if not bad:
        return []
    return [f"{where}: {len(bad)} record(s) fail their checksum (first at byte {bad[0]}); skipped"]


def _records(f: BinaryIO) -> Iterator[tuple[int, memoryview | None]]:
    """(offset, data) per record; data None when its checksum fails."""
    offset = 0
    while True:
        header = f.read(12)
        if len(header) < 12:
            return  # the end, or a last record cut short by a killed writer (as JSON lines)
        length, length_crc = _HEADER.unpack(header)
        if masked_crc32c(header[:8]) != length_crc:
            raise CorruptRecord(f"the record at byte {offset} fails its length checksum")
        if length > MAX_RECORD_BYTES:
            raise CorruptRecord(f"the record at byte {offset} claims {length} bytes")
        body = f.read(length + 4)
        if len(body) < length + 4:
            return
        data = memoryview(body)[:length]
        good = masked_crc32c(data) == struct.unpack_from("<I", body, length)[0]
        yield offset, data if good else None
        offset += 16 + length


def _fields(buf: memoryview) -> Iterator[Field]:
    pos, end = 0, len(buf)
    while pos < end:
        key = buf[pos]  # one-byte keys and sizes, the common case, without a call
        key, pos = (key, pos + 1) if key < 0x80 else _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise CorruptRecord("field number 0")
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
            yield number, wire, value
            continue
        if wire == _LEN:
            size = buf[pos] if pos < end else 0x80
            size, pos = (size, pos + 1) if size < 0x80 else _varint(buf, pos)
        elif wire in (_I64, _I32):
            size = 8 if wire == _I64 else 4
        else:
            raise CorruptRecord(f"wire type {wire}")
        if pos + size > end:
            raise CorruptRecord("a field runs past its message")
        yield number, wire, buf[pos : pos + size]
        pos += size


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while pos < len(buf) and shift < 70:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise CorruptRecord("a varint runs past its message")


def _event(data: memoryview, series: Series) -> None:
    step = 0  # proto3 leaves a field at its default (0) out
    summaries: list[memoryview] = []
    for number, _, value in _fields(data):
        if number == 2 and isinstance(value, int):
            step = _signed(value)
        elif number == 5 and isinstance(value, memoryview):
            summaries.append(value)
    for summary in summaries:
        for number, _, value in _fields(summary):
            if number == 1 and isinstance(value, memoryview):
                _summary_value(value, step, series)


def _summary_value(buf: memoryview, step: int, series: Series) -> None:
    tag = None
    value: float | None = None
    plugin = ""
    for number, _, field in _fields(buf):
        if not isinstance(field, memoryview):
            continue
        if number == 1:
            tag = bytes(field).decode("utf-8", "replace")
        elif number == 2 and len(field) == 4:
            value = struct.unpack("<f", field)[0]
        elif number == 8:
            value = _tensor_scalar(field)
        elif number == 9:
            plugin = _plugin_name(field)
    # A one-element tensor of another plugin (hparams, text) is not a scalar curve.
    if tag is None or value is None or plugin not in ("", "scalars") or is_timing_key(tag):
        return
    series.setdefault(tag, []).append((step, value))


def _tensor_scalar(buf: memoryview) -> float | None:
    """The value of a one-element numeric tensor (what `tf.summary.scalar` writes); else None."""
    dtype = 0
    values: list[float] = []
    content: memoryview | None = None
    for number, _, field in _fields(buf):
        if isinstance(field, int):
            if number == 1:
                dtype = field
            elif number in _INT_FIELDS:
                values.append(_int_value(field, number))
        elif number == 4:
            content = field
        elif number in _FLOAT_FIELDS and len(field) % struct.calcsize(_FLOAT_FIELDS[number]) == 0:
            values += [v for (v,) in struct.iter_unpack(_FLOAT_FIELDS[number], field)]
        elif number in _INT_FIELDS:
            values += _packed_ints(field, number)
    layout = _CONTENT.get(dtype)
    if content is not None:
        if layout is None or len(content) != struct.calcsize(layout):
            return None
        return float(struct.unpack(layout, content)[0])
    return values[0] if len(values) == 1 else None


def _packed_ints(buf: memoryview, number: int) -> list[float]:
    out, pos = [], 0
    while pos < len(buf):
        raw, pos = _varint(buf, pos)
        out.append(_int_value(raw, number))
    return out


def _int_value(raw: int, number: int) -> float:
    if number == _HALF_VAL:  # the float16's bits in an int32
        return float(struct.unpack("<e", (raw & 0xFFFF).to_bytes(2, "little"))[0])
    return float(_signed(raw))


def _plugin_name(buf: memoryview) -> str:
    for number, _, field in _fields(buf):
        if number == 1 and isinstance(field, memoryview):  # plugin_data
            for inner, _, name in _fields(field):
                if inner == 1 and isinstance(name, memoryview):
                    return bytes(name).decode("utf-8", "replace")
    return ""


def _signed(raw: int) -> int:
    """A varint as the two's-complement int64 protobuf encodes negatives as."""
    raw &= (1 << 64) - 1
    return raw - (1 << 64) if raw >= 1 << 63 else raw
