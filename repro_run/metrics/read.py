"""Read a metrics file a script writes: JSON lines, JSON or CSV, into the canonical series.

Never raises for the file's content: what cannot be read becomes a problem message, because
metrics are read after the run and a bad line must not lose the run's record.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path

from repro_run.metrics.series import Series, add_row, as_value

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}


def metrics_format(path: str) -> str | None:
    """ "jsonl" | "json" | "csv" from the file name; None when the suffix is not one of them."""
    return SUFFIXES.get(Path(path).suffix.lower())


def read_metrics(path: Path, fmt: str) -> tuple[Series, list[str]]:
    """(series, problems) of the metrics file at `path`; a missing file is a problem."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return {}, [f"metrics file not found after the run: {path}"]
    except OSError as exc:
        return {}, [f"metrics file cannot be read: {path}: {exc.strerror}"]
    if fmt == "jsonl":
        return parse_jsonl(text, str(path))
    if fmt == "csv":
        return parse_csv(text), []
    return parse_json(text, str(path))


def parse_jsonl(text: str, where: str) -> tuple[Series, list[str]]:
    series: Series = {}
    bad = 0
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            # A last line cut short by a killed process is expected; count the rest.
            bad += 0 if number == len(lines) and not text.endswith("\n") else 1
            continue
        if isinstance(row, dict):
            add_row(series, row)
        else:
            bad += 1
    problems = [f"{where}: {bad} line(s) are not JSON objects; skipped"] if bad else []
    return series, problems


def parse_csv(text: str) -> Series:
    series: Series = {}
    import csv  # only for a CSV metrics file: not on every run's path

    for row in csv.DictReader(io.StringIO(text)):
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
