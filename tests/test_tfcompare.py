"""TensorBoard event files compared on their bytes, wall times and the checksums that cover them
set aside (metrics/tfcompare.py), on files torch's real SummaryWriter wrote."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repro_run.metrics.crc32c import masked_crc32c
from repro_run.metrics.read import MAX_METRICS_FILE_BYTES
from repro_run.metrics.tfcompare import CHUNK, first_parting
from repro_run.metrics.timeless import WALL_TIMES, equal_but_for_timing

EVENTS = "events.out.tfevents.1765000000.host.1.0"

# The same three curves written twice (each with its own wall times), and once more with one
# value of "acc" changed at step 250 of 300: deep in the file, past the steps (128) where
# the step's varint grows a byte and the records' layout changes.
WRITER = """\
import sys
from torch.utils.tensorboard import SummaryWriter
for side, changed in (("first", None), ("again", None), ("changed", 250)):
    w = SummaryWriter(f"{sys.argv[1]}/{side}")
    for step in range(300):
        w.add_scalar("loss", 1.0 / (step + 1), step)
        w.add_scalar("acc", 0.5 if step == changed else step / 1000, step)
        w.add_scalar("lr", 0.5 ** (step % 10), step, new_style=True)
    w.close()
"""


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("events")
    subprocess.run([sys.executable, "-c", WRITER, str(base)], check=True)
    return base


def _file(events: Path, side: str) -> Path:
    (found,) = (events / side).glob("events.out.tfevents.*")
    return found


def _parting(old: Path, new: Path) -> int | None:
    with old.open("rb") as a, new.open("rb") as b:
        return first_parting(a, b)


@pytest.mark.slow  # torch's import and the writer: ~5 s
def test_files_written_twice_are_equal_but_for_their_wall_times_on_their_bytes(
    events: Path,
) -> None:
    first, again = _file(events, "first"), _file(events, "again")
    assert first.read_bytes() != again.read_bytes()
    assert _parting(first, again) is None  # decided without decoding a record
    assert equal_but_for_timing(first.name, first, again) == WALL_TIMES


@pytest.mark.slow  # torch's import and the writer: ~5 s
def test_a_scalar_changed_deep_in_the_file_differs(events: Path) -> None:
    first, changed = _file(events, "first"), _file(events, "changed")
    parting = _parting(first, changed)
    assert parting is not None and parting > first.stat().st_size // 2
    assert equal_but_for_timing(first.name, first, changed) is None


def _record_after(data: bytearray, offset: int) -> int:
    """Where the first record at or after `offset` starts (its framing walked)."""
    at = 0
    while at < offset:
        (length,) = struct.unpack_from("<Q", data, at)
        at += 16 + length
    return at


@pytest.mark.slow  # torch's import and the writer: ~5 s
def test_a_record_corrupted_in_its_wall_time_is_detected(tmp_path: Path, events: Path) -> None:
    # The wall time is not compared; the data checksum that covers it is still checked.
    first, again = _file(events, "first"), _file(events, "again")
    data = bytearray(again.read_bytes())
    record = _record_after(data, len(data) // 2)
    assert data[record + 12] == 0x09  # the data starts with its wall time
    data[record + 12 + 3] ^= 0x01
    corrupt = tmp_path / again.name
    corrupt.write_bytes(bytes(data))
    assert _parting(first, corrupt) is not None
    assert equal_but_for_timing(first.name, first, corrupt) is None


def _event(wall_time: float, step: int, tag: bytes, value: float) -> bytes:
    item = b"\x0a" + bytes([len(tag)]) + tag + b"\x15" + struct.pack("<f", value)
    summary = b"\x0a" + bytes([len(item)]) + item
    data = b"\x09" + struct.pack("<d", wall_time) + b"\x10" + bytes([step])
    data += b"\x2a" + bytes([len(summary)]) + summary
    length = struct.pack("<Q", len(data))
    return b"".join(
        (
            length,
            struct.pack("<I", masked_crc32c(length)),
            data,
            struct.pack("<I", masked_crc32c(data)),
        )
    )


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(width=32, allow_nan=False), min_size=4, max_size=60),
    shift=st.floats(min_value=1.0, max_value=1e6),
    broken=st.integers(min_value=0),
)
def test_every_data_checksum_of_a_stretch_is_checked(
    tmp_path_factory: pytest.TempPathFactory, values: list[float], shift: float, broken: int
) -> None:
    # Two tags a step: stretches of a repeating pair of records, their checksums masked in bulk.
    def events(start: float) -> list[bytes]:
        return [
            _event(start + i, i // 2, (b"loss", b"accuracy")[i % 2], value)
            for i, value in enumerate(values)
        ]

    folder = tmp_path_factory.mktemp("stretch")
    old, new = folder / "old", folder / "new"
    old.write_bytes(b"".join(events(1.7e9)))
    records = events(1.7e9 + shift)
    new.write_bytes(b"".join(records))
    assert _parting(old, new) is None
    index = broken % len(records)
    record = bytearray(records[index])
    record[-1 - broken % 4] ^= 1 << broken % 8  # one bit of its data checksum
    records[index] = bytes(record)
    new.write_bytes(b"".join(records))
    parting = _parting(old, new)  # the start of the broken record's step (a period: 2 records)
    assert parting is not None and parting <= sum(len(r) for r in records[:index])


def _large(wall_time: float, size: int, fill: int = 0) -> bytes:
    """A record of `size` bytes of data (what images write) starting with its wall time."""
    data = b"\x09" + struct.pack("<d", wall_time) + b"\x10\x01" + bytes([fill]) * size
    length = struct.pack("<Q", len(data))
    crcs = struct.pack("<I", masked_crc32c(length)), struct.pack("<I", masked_crc32c(data))
    return length + crcs[0] + data + crcs[1]


def test_a_file_over_the_decoders_cap_is_compared_on_its_bytes(tmp_path: Path) -> None:
    # More than the decoder reads (MAX_METRICS_FILE_BYTES), which used to make any such differ.
    old, new = tmp_path / "old", tmp_path / "new"
    old.write_bytes(_large(1.7e9, 1 << 20) * 101)
    new.write_bytes(_large(1.7e9 + 60, 1 << 20) * 101)
    assert old.stat().st_size > MAX_METRICS_FILE_BYTES
    assert equal_but_for_timing(EVENTS, old, new) == WALL_TIMES


def test_records_larger_than_a_read_are_compared_whole(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.write_bytes(_large(1.0, CHUNK + 5) + _large(2.0, CHUNK + 5))
    new.write_bytes(_large(8.0, CHUNK + 5) + _large(9.0, CHUNK + 5))
    assert _parting(old, new) is None
    new.write_bytes(_large(8.0, CHUNK + 5) + _large(9.0, CHUNK + 5, fill=1))
    assert _parting(old, new) == 16 + 11 + CHUNK + 5  # the second record
