"""The canonical form of a run's metrics: per metric, its (step, value) points in logged order.

One encoding is stored as an object for every run, whatever file the metrics came from, so a
verdict compares two runs' curves without knowing how either script wrote them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

# metric name -> [(step, value)]; step is None when the source gave none (then points are
# compared by position).
Series = dict[str, list[tuple[int | None, float]]]

_HEADER = {"format": "repro-metrics", "version": 1}

# Keys that index a point rather than measure something.
STEP_KEYS = ("step", "global_step", "_step", "iteration", "iter")
# Words that make a key a timing (wall-clock dependent, never equal across runs): such keys are
# not metrics. "epoch_time", "step_time_ms", "elapsed", "samples_per_sec", "_timestamp".
_TIMING_WORDS = frozenset(
    {"time", "timestamp", "elapsed", "duration", "runtime", "eta", "sec", "secs", "seconds"}
)
_KEY_WORDS = re.compile(r"[A-Za-z]+")


def is_timing_key(key: str) -> bool:
    words = {w.lower() for w in _KEY_WORDS.findall(key)}
    return bool(words & _TIMING_WORDS) or key.lower().endswith(("/s", "_per_second"))


def as_value(value: object) -> float | None:
    """A metric value: a real number (bools and strings are not metrics). An integer beyond a
    double's range (`1` and 400 zeros) is as large as a float gets: infinite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def as_step(value: object) -> int | None:
    number = as_value(value)
    if number is None or not math.isfinite(number) or not number.is_integer():
        return None
    return int(number)


def add_row(series: Series, row: Mapping[str, object], prefix: str = "") -> None:
    """One logged row ({"step": 3, "loss": 0.5, ...}): a point for each numeric, non-timing key."""
    step = next((as_step(row[k]) for k in STEP_KEYS if k in row), None)
    for key, raw in row.items():
        if key in STEP_KEYS or is_timing_key(key):
            continue
        value = as_value(raw)
        if value is not None:
            series.setdefault(prefix + key, []).append((step, value))


def encode_series(series: Series) -> bytes:
    body = {name: [[step, value] for step, value in points] for name, points in series.items()}
    return json.dumps({**_HEADER, "series": body}, sort_keys=True, separators=(",", ":")).encode()


def decode_series(data: bytes) -> Series:
    document = json.loads(data)
    if not isinstance(document, dict) or document.get("format") != _HEADER["format"]:
        raise ValueError("not a repro metrics object")
    return {
        str(name): [(None if s is None else int(s), float(v)) for s, v in points]
        for name, points in document["series"].items()
    }


def final_values(series: Series) -> dict[str, float]:
    return {name: points[-1][1] for name, points in sorted(series.items()) if points}


def point_count(series: Series) -> int:
    return sum(len(points) for points in series.values())
