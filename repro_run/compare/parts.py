"""The Parts section: two runs several supervisors recorded, part against part.

Parts pair up by Slurm task when every part of both runs has one, else by their order in the
record (task, then name): host names and pids differ from run to run. The shape is the number
of parts (and their tasks); when the shapes differ the section says so and compares no part.
Otherwise each pair is one field, differing when the comparison of the two parts' records
does, its details naming the sections that differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from repro_run.compare.fields import change, section
from repro_run.models import PartSummary
from repro_run.models.comparison import CHANGED, EQUAL, FieldChange, RunComparison, SectionDiff

_SUMMARY_ITEMS = 4


def pair_parts(
    old: Sequence[PartSummary], new: Sequence[PartSummary]
) -> list[tuple[str, PartSummary, PartSummary]] | None:
    """(label, part of A, part of B) for each pair, in order; None when the shapes differ."""
    if shape(old) != shape(new) or not old:
        return None
    if _by_task(old) and _by_task(new):
        mine = {p.task: p for p in new}
        return [(f"task {p.task}", p, mine[p.task]) for p in old]
    return [(f"part {i}", a, b) for i, (a, b) in enumerate(zip(old, new, strict=True), 1)]


def shape(parts: Sequence[PartSummary]) -> str | None:
    """ "4 parts (tasks 0-3)", "2 parts"; None for a run one supervisor recorded."""
    if not parts:
        return None
    if not _by_task(parts):
        return f"{len(parts)} parts"
    tasks = sorted(p.task for p in parts if p.task is not None)
    listed = (
        f"{tasks[0]}-{tasks[-1]}"
        if tasks == list(range(tasks[0], tasks[-1] + 1))
        else (", ".join(map(str, tasks)))
    )
    return f"{len(parts)} parts (tasks {listed})"


def parts_section(
    old: Sequence[PartSummary],
    new: Sequence[PartSummary],
    compared: Mapping[tuple[str, str], RunComparison | str],
) -> SectionDiff:
    """Equal when neither run has parts. `compared`: by (part of A, part of B) names, the
    comparison of their records, or why there is none (a record that cannot be read)."""
    fields = [change("shape", shape(old), shape(new))]
    pairs = pair_parts(old, new)
    if pairs is None:
        if fields[0].differs:
            summary = f"shapes differ: {_text(fields[0].old_text)} → {_text(fields[0].new_text)}"
            return section("parts", fields, summary=f"{summary}; no part compared")
        return section("parts", fields)
    notes = []
    for label, a, b in pairs:
        result = compared.get((a.name, b.name), "not compared")
        if isinstance(result, str):
            notes.append(f"{label} ({a.name} → {b.name}): {result}")
        else:
            fields.append(_pair(label, a, b, result))
    differing = [f for f in fields if f.differs]
    phrases = [
        f"{f.key} ({f.old_text} → {f.new_text}) differs in {', '.join(f.extra['sections'])}"
        for f in differing
    ]
    more = len(phrases) - _SUMMARY_ITEMS
    summary = "; ".join(phrases[:_SUMMARY_ITEMS]) + (f"; and {more} more" if more > 0 else "")
    return section("parts", fields, notes=notes, summary=summary or None)


def _pair(label: str, a: PartSummary, b: PartSummary, comparison: RunComparison) -> FieldChange:
    differing = [s for s in comparison.sections if s.differs]
    return FieldChange(
        key=label,
        change=CHANGED if differing else EQUAL,
        old=a.name,
        new=b.name,
        old_text=a.name,
        new_text=b.name,
        details=tuple(f"{s.title}: {s.summary}" for s in differing),
        extra={"sections": [s.name for s in differing]},
    )


def _by_task(parts: Sequence[PartSummary]) -> bool:
    tasks = [p.task for p in parts]
    return None not in tasks and len(set(tasks)) == len(tasks)


def _text(value: str) -> str:
    return value or "one supervisor"
