"""Log files compared with their wall-time columns and keys set aside (metrics/timeless.py)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from repro_run.metrics.crc32c import masked_crc32c
from repro_run.metrics.timeless import JSON_CAP, equal_but_for_timing

EVENTS = "events.out.tfevents.1700000000.host.1.0"


def _pair(tmp_path: Path, name: str, old: str, new: str) -> tuple[Path, Path]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / name).write_text(old)
    (tmp_path / "b" / name).write_text(new)
    return tmp_path / "a" / name, tmp_path / "b" / name


def test_csv_rows_that_differ_only_in_timing_columns_name_them(tmp_path: Path) -> None:
    old, new = _pair(
        tmp_path,
        "m.csv",
        "step,loss,time,epoch_duration\n1,0.5,1.0,3\n2,0.4,2.0,3\n",
        "step,loss,time,epoch_duration\n1,0.5,7.0,4\n2,0.4,8.0,3\n",
    )
    assert equal_but_for_timing("m.csv", old, new) == "its epoch_duration, time columns"


def test_a_csv_with_an_extra_row_or_another_header_differs(tmp_path: Path) -> None:
    old, new = _pair(tmp_path, "m.csv", "step,time\n1,1.0\n", "step,time\n1,2.0\n2,3.0\n")
    assert equal_but_for_timing("m.csv", old, new) is None
    (tmp_path / "b" / "m.csv").write_text("step,wall\n1,2.0\n")
    assert equal_but_for_timing("m.csv", old, new) is None


def test_nested_json_timing_keys_are_set_aside_and_nan_equals_nan(tmp_path: Path) -> None:
    old, new = _pair(
        tmp_path,
        "s.json",
        '{"best": {"acc": NaN, "runtime": 1.5}, "hist": [{"step": 1, "_timestamp": 1}]}',
        '{"best": {"acc": NaN, "runtime": 2.5}, "hist": [{"step": 1, "_timestamp": 1}]}',
    )
    assert equal_but_for_timing("s.json", old, new) == "its runtime key"


def test_a_json_document_over_the_cap_is_not_read(tmp_path: Path) -> None:
    rows = [{"acc": 0.5, "filler": "x" * 64}] * (JSON_CAP // 80)
    old, new = _pair(
        tmp_path,
        "big.json",
        json.dumps({"rows": rows, "time": 1}),
        json.dumps({"rows": rows, "time": 2}),
    )
    assert old.stat().st_size > JSON_CAP
    assert equal_but_for_timing("big.json", old, new) is None


def test_other_formats_are_not_compared_here(tmp_path: Path) -> None:
    old, new = _pair(tmp_path, "m.txt", "time 1\n", "time 2\n")
    assert equal_but_for_timing("m.txt", old, new) is None


def _event(wall_time: float, step: int, value: float) -> bytes:
    """One TFRecord of an `Event`: wall_time (1), step (2), summary (5) -> value (1) -> tag
    (1) "loss", simple_value (2)."""
    summary_value = b"\x0a\x04loss" + b"\x15" + struct.pack("<f", value)
    summary = b"\x0a" + bytes([len(summary_value)]) + summary_value
    data = b"\x09" + struct.pack("<d", wall_time) + b"\x10" + bytes([step])
    data += b"\x2a" + bytes([len(summary)]) + summary
    header = struct.pack("<Q", len(data))
    return (
        header
        + struct.pack("<I", masked_crc32c(header))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


def _events_pair(tmp_path: Path, old: bytes, new: bytes) -> tuple[Path, Path]:
    for side, content in (("a", old), ("b", new)):
        (tmp_path / side).mkdir()
        (tmp_path / side / EVENTS).write_bytes(content)
    return tmp_path / "a" / EVENTS, tmp_path / "b" / EVENTS


def test_tensorboard_events_that_differ_only_in_wall_times_are_equal(tmp_path: Path) -> None:
    old, new = _events_pair(
        tmp_path,
        _event(1.0, 1, 0.5) + _event(2.0, 2, 0.25),
        _event(7.0, 1, 0.5) + _event(9.0, 2, 0.25),
    )
    assert equal_but_for_timing(EVENTS, old, new) == "its wall times"


def test_tensorboard_events_with_another_scalar_differ(tmp_path: Path) -> None:
    old, new = _events_pair(tmp_path, _event(1.0, 1, 0.5), _event(7.0, 1, 0.75))
    assert equal_but_for_timing(EVENTS, old, new) is None


def test_tensorboard_events_failing_a_checksum_differ(tmp_path: Path) -> None:
    def broken(wall_time: float) -> bytes:
        record = bytearray(_event(wall_time, 2, 0.25))
        record[-1] ^= 0xFF  # the data checksum: the record is skipped, its scalar unknown
        return bytes(record)

    old, new = _events_pair(
        tmp_path, _event(1.0, 1, 0.5) + broken(2.0), _event(7.0, 1, 0.5) + broken(9.0)
    )
    assert equal_but_for_timing(EVENTS, old, new) is None
