"""Building blocks of every section: one field's change, a mapping's changes, a section's summary."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from repro_run.core.humanize import format_bytes
from repro_run.models.comparison import (
    ADDED,
    CHANGED,
    DIFFERS,
    EQUAL,
    NOT_COMPARED,
    REMOVED,
    SAME,
    FieldChange,
    SectionDiff,
    rank_of,
    section_info,
)

_HEX_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # a git commit or a BLAKE3 digest
SHORT_ID = 12
_SUMMARY_ITEMS = 3
_SUMMARY_VALUE = 28


def format_seconds(seconds: float) -> str:
    return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"


def text(value: Any, unit: str | None = None) -> str:
    """How a field's value reads: digests shortened, sizes and times with units."""
    if value is None:
        return ""
    if unit == "bytes" and isinstance(value, (int, float)):
        return format_bytes(value)
    if unit == "seconds" and isinstance(value, (int, float)):
        return format_seconds(value)
    if isinstance(value, str):
        return value[:SHORT_ID] if _HEX_ID.fullmatch(value) else value
    return json.dumps(value, ensure_ascii=False)


def change(
    key: str,
    old: Any,
    new: Any,
    *,
    unit: str | None = None,
    same: Callable[[Any, Any], bool] | None = None,
    details: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
    kind: str | None = None,
    none_text: str = "",
) -> FieldChange:
    """One field: added (only in B), removed (only in A), changed or equal; None is absence."""
    if kind is None:
        if old is None and new is None:
            kind = EQUAL
        elif old is None:
            kind = ADDED
        elif new is None:
            kind = REMOVED
        else:
            kind = EQUAL if (same(old, new) if same else _same_json(old, new)) else CHANGED
    return FieldChange(
        key=key,
        change=kind,
        old=old,
        new=new,
        unit=unit,
        old_text=text(old, unit) if old is not None else none_text,
        new_text=text(new, unit) if new is not None else none_text,
        details=tuple(details),
        extra=dict(extra or {}),
    )


def _same_json(old: Any, new: Any) -> bool:
    # 1 == 1.0 == True in Python; a config that turns `1` into `true` did change.
    return type(old) is type(new) and bool(old == new)


def mapping_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], *, prefix: str = ""
) -> list[FieldChange]:
    """Every key of either mapping, sorted: added, removed, changed or equal."""
    return [change(f"{prefix}{key}", old.get(key), new.get(key)) for key in sorted({*old, *new})]


def section(
    name: str,
    fields: Iterable[FieldChange],
    *,
    notes: Iterable[str] = (),
    summary: str | None = None,
) -> SectionDiff:
    """A compared section; it differs when any field does."""
    items = tuple(fields)
    differs = any(f.differs for f in items)
    info = section_info(name)
    return SectionDiff(
        name=name,
        title=info.title,
        rank=rank_of(name),
        role=info.role,
        status=DIFFERS if differs else SAME,
        summary=summary or (summarize(items) if differs else "equal"),
        fields=items,
        notes=tuple(notes),
    )


def not_compared(name: str, reason: str) -> SectionDiff:
    info = section_info(name)
    return SectionDiff(name, info.title, rank_of(name), info.role, NOT_COMPARED, reason, (), ())


def summarize(fields: Iterable[FieldChange]) -> str:
    """ "optim.lr 0.1 → 0.05; +model.depth 4; and 2 more": the first differences, shortly."""
    differences = [f for f in fields if f.differs]
    parts = [describe(f) for f in differences[:_SUMMARY_ITEMS]]
    if len(differences) > _SUMMARY_ITEMS:
        parts.append(f"and {len(differences) - _SUMMARY_ITEMS} more")
    return "; ".join(parts)


def describe(f: FieldChange) -> str:
    if f.change == ADDED:
        return f"+{f.key} {_clip(f.new_text)}".rstrip()
    if f.change == REMOVED:
        return f"-{f.key} {_clip(f.old_text)}".rstrip()
    if f.change == EQUAL:
        return f"{f.key} {_clip(f.old_text)}"
    word = "" if f.change == CHANGED else f" ({f.change})"
    return f"{f.key} {_clip(f.old_text)} → {_clip(f.new_text)}{word}"


def _clip(value: str) -> str:
    return value if len(value) <= _SUMMARY_VALUE else value[: _SUMMARY_VALUE - 1] + "…"
