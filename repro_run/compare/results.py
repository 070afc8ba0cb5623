"""Sections about trees (data in, outputs out) and what a run produced: metrics, resources,
framework facts recorded inside the child."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from repro_run.compare.fields import change, mapping_changes, section
from repro_run.compare.snapshot import PairFacts, pair_up
from repro_run.core.humanize import count, distinct_numbers, format_bytes
from repro_run.core.record import replace
from repro_run.models import ProcessResult, TreeRef
from repro_run.models.comparison import (
    CHANGED,
    EQUAL,
    FieldChange,
    FileChanges,
    SectionDiff,
    bitwise_equal,
    file_change_lines,
)

# Measurements vary from run to run: within max(absolute, relative) they count as equal.
RELATIVE_TOLERANCE = 0.10
SECONDS_TOLERANCE = 1.0
BYTES_TOLERANCE = 32 * 1000 * 1000


def trees_section(
    name: str, old: Sequence[TreeRef], new: Sequence[TreeRef], facts: PairFacts
) -> SectionDiff:
    """`data` or `outputs`: per tree, its digest, and the file-level changes when it differs."""
    fields: list[FieldChange] = []
    for key, a, b in pair_up(old, new):
        if a is not None and b is not None and a.digest != b.digest:
            details = [
                f"{a.files:,} → {b.files:,} files, {format_bytes(a.bytes)} → {format_bytes(b.bytes)}"
            ]
            extra: dict[str, Any] = {}
            found = facts.trees.get((a.digest, b.digest))
            if isinstance(found, FileChanges):
                details.append(
                    f"+{found.added:,} added, -{found.removed:,} removed, ~{found.modified:,} modified"
                )
                details += file_change_lines(found)
                extra["files"] = _files_json(found)
            elif found is not None:
                details.append(found)
            fields.append(
                change(key, a.digest, b.digest, kind=CHANGED, details=details, extra=extra)
            )
        else:
            only = a or b
            details = (
                [f"{count(only.files, 'file')}, {format_bytes(only.bytes)}"]
                if only and not (a and b)
                else []
            )
            fields.append(change(key, a and a.digest, b and b.digest, details=details))
    changed = [f for f in fields if f.differs]
    summary = None
    if changed:
        noun = "dataset" if name == "data" else "output"
        summary = f"{count(len(changed), noun)} changed: " + "; ".join(
            f.key + _headline(f) for f in changed[:3]
        )
    notes = (
        () if fields else (f"no {'data' if name == 'data' else 'outputs'} recorded on either side",)
    )
    return section(name, fields, summary=summary, notes=notes)


def _headline(f: FieldChange) -> str:
    files = f.extra.get("files")
    if isinstance(files, dict):
        return f" (+{files['added']:,} -{files['removed']:,} ~{files['modified']:,} files)"
    return f" ({f.change})" if f.change != CHANGED else ""


def _files_json(c: FileChanges) -> dict[str, Any]:
    return {
        "added": c.added,
        "removed": c.removed,
        "modified": c.modified,
        "bytes_added": c.bytes_added,
        "bytes_removed": c.bytes_removed,
        "by_directory": [
            {
                "directory": d.directory,
                "added": d.added,
                "removed": d.removed,
                "modified": d.modified,
                "bytes_added": d.bytes_added,
                "bytes_removed": d.bytes_removed,
            }
            for d in c.by_directory
        ],
        "first_paths": list(c.first_paths),
    }


def metrics_section(old: Mapping[str, float], new: Mapping[str, float]) -> SectionDiff:
    """Final values; a metric differs when its value is not bitwise equal. Shown to the digits
    that tell the two values apart (`distinct_numbers`); the JSON keeps every digit."""
    fields = []
    for key in sorted({*old, *new}):
        a, b = old.get(key), new.get(key)
        if a is None or b is None:
            only = change(key, a, b)
            fields.append(replace(only, old_text=_six(a), new_text=_six(b)))
            continue
        if bitwise_equal(a, b):
            f = change(key, a, b, kind=EQUAL)
        else:
            delta = b - a
            relative = f" ({delta / abs(a):+.2%})" if a else ""
            details = [f"Δ {delta:+.6g}{relative}"]
            f = change(key, a, b, kind=CHANGED, details=details, extra={"delta": delta})
        was, now = distinct_numbers(a, b)
        fields.append(replace(f, old_text=was, new_text=now))
    notes = () if fields else ("no metrics recorded on either side",)
    return section("metrics", fields, notes=notes)


def _six(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def framework_section(old: Mapping[str, str], new: Mapping[str, str]) -> SectionDiff:
    fields = mapping_changes(old, new)
    notes = () if fields else ("no framework facts recorded on either side",)
    return section("framework", fields, notes=notes)


def resources_section(
    status_a: str, status_b: str, a: ProcessResult | None, b: ProcessResult | None
) -> SectionDiff:
    fields = [change("status", status_a, status_b)]
    if a is not None or b is not None:
        fields.append(change("exit code", a and a.exit_code, b and b.exit_code, none_text="-"))
        for key, attr, unit in (
            ("duration", "wall_time", "seconds"),
            ("cpu time", "cpu_time", "seconds"),
            ("peak memory", "peak_rss", "bytes"),
            ("peak gpu memory", "peak_gpu_memory", "bytes"),
        ):
            x, y = getattr(a, attr, None), getattr(b, attr, None)
            # A measurement one side lacks (a child too short to sample) is unknown, not changed.
            kind = EQUAL if x is None or y is None else None
            fields.append(
                change(key, x, y, unit=unit, same=_within(unit), none_text="-", kind=kind)
            )
    return section("resources", fields)


def _within(unit: str) -> Callable[[Any, Any], bool]:
    absolute = SECONDS_TOLERANCE if unit == "seconds" else BYTES_TOLERANCE

    def same(x: float, y: float) -> bool:
        return math.isclose(x, y, rel_tol=RELATIVE_TOLERANCE, abs_tol=absolute)

    return same
