"""Read a metrics file a program writes: JSON lines, JSON, CSV (Lightning's CSVLogger too),
Hugging Face Trainer's `trainer_state.json`, TensorBoard event files, into the canonical series.

Never raises for the file's content: what cannot be read becomes a problem message, because
metrics are read after the run and a bad line must not lose the run's record. Only a regular
file of at most `MAX_METRICS_FILE_BYTES` is read, line by line: a symlink to /dev/zero or a
FIFO would otherwise fill memory or block the end of the run forever. TensorBoard files are
streamed a record at a time; their bound is time (pure-Python checksums read a few MB/s).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from repro_run.core.humanize import format_bytes
from repro_run.metrics.series import Series, add_row, as_value

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import BinaryIO

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
# A million rows of five metrics is ~100 MB of JSON lines and ~1 GB once parsed (measured: a
# 240 MB file peaked at 2.2 GB RSS); a bigger file is reported and not read.
MAX_METRICS_FILE_BYTES = 100_000_000
TENSORBOARD = "tensorboard"  # events.out.tfevents.<time>.<host>.<pid>.<n> (and a suffix)
TRAINER_STATE = "trainer_state"  # Hugging Face Trainer: {"log_history": [rows], ...}
TRAINER_STATE_NAME = "trainer_state.json"


def metrics_format(path: str) -> str | None:
    """The format from the file name (a glob's last part too): "tensorboard", "trainer_state",
    "jsonl", "json" or "csv"; None when the name is none of them."""
    name = os.path.basename(path)  # strings, not pathlib: a verdict asks for every output file
    if name.startswith("events.out.tfevents"):
        return TENSORBOARD
    if name == TRAINER_STATE_NAME:
        return TRAINER_STATE
    return SUFFIXES.get(os.path.splitext(name)[1].lower())


def read_metrics(path: Path, fmt: str) -> tuple[Series, list[str]]:
    """(series, problems) of the metrics file at `path`; a missing file is a problem, and so is
    anything but a regular file (never opened, so a FIFO or a device cannot block or flood)."""
    try:
        refused = _refusal(os.stat(path), path)
        if refused:
            return {}, [refused]
        # O_NONBLOCK: if a FIFO replaced the file since the stat, the open does not wait on it.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as f:
            info = os.fstat(f.fileno())
            refused = _refusal(info, path)
            if refused:
                return {}, [refused]
            if fmt == TENSORBOARD:
                from repro_run.metrics.tensorboard import read_tensorboard

                return read_tensorboard(f, str(path))
            lines = read_lines(f, info.st_size)  # what the file held when looked at, no more
            if fmt == "jsonl":
                return parse_jsonl(lines, str(path))
            if fmt == "csv":
                return parse_csv(lines), []
            if fmt == TRAINER_STATE:
                return parse_trainer_state("".join(lines), str(path))
            return parse_json("".join(lines), str(path))
    except FileNotFoundError:
        return {}, [f"metrics file not found after the run: {path}"]
    except OSError as exc:
        return {}, [f"metrics file cannot be read: {path}: {exc.strerror}"]


def _refusal(info: os.stat_result, path: Path) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        return f"metrics file is not a regular file: {path}; not read"
    if info.st_size > MAX_METRICS_FILE_BYTES:
        return (
            f"metrics file {path} is {format_bytes(info.st_size)}, more than the "
            f"{format_bytes(MAX_METRICS_FILE_BYTES)} repro reads; not read"
        )
    return None


def read_lines(f: BinaryIO, size: int) -> Iterator[str]:
    """The first `size` bytes of `f`, line by line (each with its newline), decoded."""
    left = size
    while left > 0:
        line = f.readline(left)
        if not line:
            return
        left -= len(line)
        yield line.decode("utf-8", "replace")


def parse_jsonl(lines: Iterable[str], where: str) -> tuple[Series, list[str]]:
    """Rows of JSON lines, each line with its newline (a file's lines, `splitlines(True)`)."""
    series: Series = {}
    bad = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            # A last line cut short by a killed process is expected (only the last line can
            # lack its newline); count the rest.
            bad += 1 if line.endswith("\n") else 0
            continue
        if isinstance(row, dict):
            add_row(series, row)
        else:
            bad += 1
    problems = [f"{where}: {bad} line(s) are not JSON objects; skipped"] if bad else []
    return series, problems


def parse_csv(lines: Iterable[str]) -> Series:
    series: Series = {}
    import csv  # only for a CSV metrics file: not on every run's path

    for row in csv.DictReader(lines):
        add_row(series, {k: _number(v) for k, v in row.items() if k is not None})
    return series


def parse_json(text: str, where: str) -> tuple[Series, list[str]]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past Python's limit
        return {}, [f"{where}: not valid JSON ({exc}); no metrics read"]
    series: Series = {}
    _walk(document, "", series)
    return series, []


def parse_trainer_state(text: str, where: str) -> tuple[Series, list[str]]:
    """Hugging Face Trainer's state: its `log_history` rows (`{"step": 10, "loss": 0.5, ...}`)."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return {}, [f"{where}: not valid JSON ({exc}); no metrics read"]
    rows = document.get("log_history") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        return {}, [f"{where}: no log_history list; no metrics read"]
    series: Series = {}
    for row in rows:
        if isinstance(row, dict):
            add_row(series, row)
    return series, []


def _walk(node: object, prefix: str, series: Series) -> None:
    """Lists of rows, {name: [values]}, {name: value}, nested with dotted names."""
    if isinstance(node, list):
        if all(isinstance(item, dict) for item in node):
            for item in node:
                _row_or_nested(item, prefix, series)
        elif prefix and all(as_value(item) is not None for item in node):
            values = (as_value(v) for v in node)
            series.setdefault(prefix.rstrip("."), []).extend(
                (None, v) for v in values if v is not None
            )
    elif isinstance(node, Mapping):
        _row_or_nested(node, prefix, series)


def _row_or_nested(row: Mapping[str, object], prefix: str, series: Series) -> None:
    flat = {k: v for k, v in row.items() if not isinstance(v, (dict, list))}
    if flat:
        add_row(series, flat, prefix)
    for key, value in row.items():
        if isinstance(value, (dict, list)):
            _walk(value, f"{prefix}{key}.", series)


def _number(cell: str | None) -> object:
    if cell is None or not cell.strip():
        return None
    try:
        number = float(cell)
    except ValueError:
        return cell
    return int(number) if number.is_integer() and "." not in cell and "e" not in cell else number
