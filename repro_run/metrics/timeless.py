"""Whether two log files a program wrote (CSV, JSON lines, JSON, TensorBoard events) hold the
same values once the columns or keys that are wall times or durations are set aside: the ones the
metrics reader drops (`series.is_timing_key`), so a verdict and the metrics decide alike.
TensorBoard's files are equal when their records are but for their wall times, on their bytes
(`metrics.tfcompare`: any size, every checksum checked), or else when their scalars are, by tag
and step, from the first record that may differ (`metrics.tensorboard` reads no wall time), and
neither fails a checksum.

Bounded: CSV and JSON lines are streamed a line at a time from files of at most
`MAX_METRICS_FILE_BYTES`; a JSON document is parsed whole, so only up to `JSON_CAP`; events are
decoded (a few MB/s) only where the rest of the files from that record is at most as big.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path

from repro_run.metrics.read import (
    MAX_METRICS_FILE_BYTES,
    TENSORBOARD,
    TRAINER_STATE,
    metrics_format,
    read_lines,
)
from repro_run.metrics.series import is_timing_key

JSON_CAP = 16 << 20  # one document parsed whole (two at once): ~10x this in memory

WALL_TIMES = "its wall times"
_Removed = dict[str, list[str]]  # timing key -> its values (as JSON text), in order


def equal_but_for_timing(name: str, old: Path, new: Path) -> str | None:
    """What had to be set aside for the two files to be equal ("its time column"), or None:
    their values differ, the format is not one of these, or a file is too big to read."""
    fmt = metrics_format(name)
    if fmt == TENSORBOARD:
        return _tensorboard_equal(old, new)
    if fmt not in ("csv", "jsonl", "json", TRAINER_STATE):
        return None
    cap = MAX_METRICS_FILE_BYTES if fmt in ("csv", "jsonl") else JSON_CAP
    try:
        if max(os.path.getsize(old), os.path.getsize(new)) > cap:
            return None
        with open(old, "rb") as a, open(new, "rb") as b:
            left, right = read_lines(a, cap), read_lines(b, cap)
            if fmt == "csv":
                differed = _csv_timing_differences(left, right)
                noun = "column"
            else:
                differed = (
                    _jsonl_timing_differences(left, right)
                    if fmt == "jsonl"
                    else _json_timing_differences("".join(left), "".join(right))
                )
                noun = "key"
    except OSError:
        return None
    if not differed:  # the bytes differ elsewhere (or only in layout): not equal here
        return None
    return f"its {', '.join(differed)} {noun}{'s' if len(differed) > 1 else ''}"


def _tensorboard_equal(old: Path, new: Path) -> str | None:
    # Only for a differing events file: not on every run's path.
    from repro_run.metrics.tensorboard import read_tensorboard
    from repro_run.metrics.tfcompare import first_parting

    try:
        sizes = os.path.getsize(old), os.path.getsize(new)
        with open(old, "rb") as a, open(new, "rb") as b:
            # Records equal but for their wall times first, on their bytes (any size: C speed);
            # from the first that may differ on, the scalars decoded (Python speed: capped).
            parting = first_parting(a, b) if sizes[0] == sizes[1] else 0
            if parting is None:
                return WALL_TIMES
            if max(sizes) - parting > MAX_METRICS_FILE_BYTES:
                return None
            a.seek(parting)
            b.seek(parting)
            (left, left_problems), (right, right_problems) = (
                read_tensorboard(a, str(old)),
                read_tensorboard(b, str(new)),
            )
    except OSError:
        return None
    if left_problems or right_problems or left != right:
        return None
    return WALL_TIMES


def _csv_timing_differences(left: Iterator[str], right: Iterator[str]) -> list[str] | None:
    import csv  # only for a CSV output that differs: not on every run's path

    rows = zip_longest(csv.reader(left), csv.reader(right))
    header = next(rows, (None, None))
    if header[0] is None or header[0] != header[1]:
        return None
    timing = {i: key for i, key in enumerate(header[0]) if is_timing_key(key)}
    differed: set[str] = set()
    for a, b in rows:
        if a is None or b is None or len(a) != len(b):
            return None
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                if i not in timing:
                    return None
                differed.add(timing[i])
    return sorted(differed)


def _jsonl_timing_differences(left: Iterator[str], right: Iterator[str]) -> list[str] | None:
    differed: set[str] = set()
    for a, b in zip_longest(left, right):
        if a is None or b is None:
            return None
        found = _json_timing_differences(a, b) if a != b else []
        if found is None:
            return None
        differed.update(found)
    return sorted(differed)


def _json_timing_differences(a: str, b: str) -> list[str] | None:
    removed_old: _Removed = {}
    removed_new: _Removed = {}
    try:
        old, new = _strip(json.loads(a), removed_old), _strip(json.loads(b), removed_new)
        if _dumped(old) != _dumped(new):
            return None
    except (ValueError, RecursionError):  # not JSON, or nested past Python's limit
        return None
    keys = removed_old.keys() | removed_new.keys()
    return sorted(k for k in keys if removed_old.get(k) != removed_new.get(k))


def _strip(node: object, removed: _Removed) -> object:
    """`node` without its timing keys (at any depth); their values go into `removed`."""
    if isinstance(node, list):
        return [_strip(item, removed) for item in node]
    if isinstance(node, dict):
        kept = {}
        for key, value in node.items():
            if is_timing_key(str(key)):
                removed.setdefault(str(key), []).append(_dumped(value))
            else:
                kept[key] = _strip(value, removed)
        return kept
    return node


def _dumped(node: object) -> str:
    return json.dumps(node, sort_keys=False)  # NaN == NaN as text; key order kept
