"""run.json: encoding a RunRecord, and reading one back with errors that say what to do."""

from __future__ import annotations

import json
import os
from pathlib import Path

from repro_run.core.errors import SchemaVersionError, StoreError
from repro_run.models import DecodeError, RunRecord, from_json_dict, to_json_dict
from repro_run.models.migrations import SchemaError, upgrade

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


def encode_record(record: RunRecord) -> bytes:
    """The bytes of run.json: one line per field of the record, its value on that line.

    A field is still found on its own line (a reader, grep, a diff of two records), and
    each value is written by json's C encoder: `indent` makes json use its pure-Python one,
    ~90 ms for the facts of 1,000 ranks (bench/ranks.py), the supervisor's to spend at exit.

    `ensure_ascii=True`: argv and paths from non-UTF-8 file names hold lone surrogates
    ("\\udcff"), which UTF-8 cannot encode; escaped as \\udcff they round-trip exactly.
    (A high+low surrogate pair would come back as one character; os.fsdecode makes only low
    ones.)
    """
    lines = ",\n".join(
        f" {json.dumps(name)}: {json.dumps(value, ensure_ascii=True)}"
        for name, value in to_json_dict(record).items()
    )
    return ("{\n" + lines + "\n}\n").encode("ascii")


def decode_record(data: bytes, run_id: str) -> RunRecord:
    """Parse run.json of `run_id`; StoreError when unreadable, SchemaVersionError when newer."""
    try:
        document: Any = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, nesting
        raise _unreadable(run_id, f"invalid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise _unreadable(run_id, "not a JSON object")
    try:
        document = upgrade(document)
    except SchemaError as exc:
        if exc.newer:
            raise SchemaVersionError(f"run {run_id} was {exc}") from exc
        raise _unreadable(run_id, str(exc)) from exc
    try:
        record = from_json_dict(RunRecord, document)
    except (DecodeError, TypeError) as exc:
        raise _unreadable(run_id, str(exc)) from exc
    if record.id != run_id:
        raise _unreadable(run_id, f"it holds run {record.id!r}")
    return record


def read_record(path: Path, run_id: str) -> tuple[RunRecord, int]:
    """Read and decode one run.json; returns the record and the file's mtime_ns.

    FileNotFoundError propagates: a run directory without run.json is still being created.
    """
    with open(path, "rb") as file:
        mtime_ns = os.fstat(file.fileno()).st_mtime_ns
        data = file.read()
    return decode_record(data, run_id), mtime_ns


def peek_record(path: Path) -> dict[str, Any] | None:
    """The raw JSON of a run.json, without decoding; None when absent, {} when unreadable."""
    try:
        document: Any = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _unreadable(run_id: str, reason: str) -> StoreError:
    # `repro fsck` (a later issue) will list and repair these; until then the path is the lead.
    return StoreError(f"run {run_id}: the record cannot be read: {reason}")
