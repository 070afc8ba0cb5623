"""Log files compared with their wall-time columns and keys set aside (metrics/timeless.py)."""

from __future__ import annotations

import json
from pathlib import Path

from repro_run.metrics.timeless import JSON_CAP, equal_but_for_timing


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
