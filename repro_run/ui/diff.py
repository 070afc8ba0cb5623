"""`repro diff` output: sections as +/-/~ tables that stay readable at 80 columns, and `--json`.

Like the other views, this imports the leaves only and imports rich inside the renderer; it
draws on the Console of `ui.console.make_console`. Recorded text (keys, values, paths,
commands) goes into `Text` cells through `printable`: never markup, control characters escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from repro_run.core.humanize import printable
from repro_run.models.comparison import (
    ADDED,
    EQUAL,
    NOT_COMPARED,
    REMOVED,
    FieldChange,
    RunComparison,
    SectionDiff,
    Side,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

JSON_FORMAT = "repro-diff"
JSON_VERSION = 1  # bump on any change that is not an added key (docs/diff.md)

_MARKS = {ADDED: ("+", "green"), REMOVED: ("-", "red"), EQUAL: ("=", "dim")}
_CHANGED_MARK = ("~", "yellow")
_KEY_WIDTH = 28  # the key column may always be this wide, and up to 40% of the screen
_INDENT = 2


# --- the terminal view ---------------------------------------------------------------------
def render_diff(comparison: RunComparison, console: Console, show_all: bool = False) -> None:
    from rich.text import Text

    with console.capture() as captured:
        for letter, side in (("A", comparison.old), ("B", comparison.new)):
            first, command = _side_lines(side)
            console.print(Text(printable(f"{letter}  {first}"), style="bold"), overflow="fold")
            if command:
                console.print(Text(printable(f"   {command}")), overflow="fold")
        for s in comparison.sections:
            if s.differs or (show_all and (s.fields or s.notes or s.status == NOT_COMPARED)):
                console.print()
                _render_section(s, console, show_all)
        console.print()
        for line in footer(comparison):
            console.print(Text(printable(line)), overflow="fold")
    # Table cells are padded to the column width: no line ends in blanks.
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    console.file.flush()


def _side_lines(side: Side) -> tuple[str, str]:
    if side.is_current:
        return "the current environment and working tree", ""
    created = (side.created or "").replace("T", " ")[:19]
    return "  ".join(p for p in (side.label, side.status or "", created) if p), side.command or ""


def _render_section(s: SectionDiff, console: Console, show_all: bool) -> None:
    from rich.text import Text

    heading = Text(s.title, style="bold")
    if s.status == NOT_COMPARED:
        heading.append(printable(f" — not compared: {s.summary}"))
    elif len(s.differences) > 1 or not s.differs:
        heading.append(
            printable(f" — {s.summary}")
        )  # an overview; one difference speaks for itself
    console.print(heading, overflow="fold")
    fields = s.fields if show_all else s.differences
    if fields:
        console.print(_table(fields, console.width))
    for note in s.notes:
        console.print(Text(printable(f"{' ' * _INDENT}note: {note}"), style="dim"), overflow="fold")


def _table(fields: tuple[FieldChange, ...], width: int) -> Table:
    from rich.table import Table
    from rich.text import Text

    key_width = min(max(_KEY_WIDTH, width * 2 // 5), max(len(printable(f.key)) for f in fields))
    value_width = max(width - (_INDENT + 1) - 2 - key_width, 20)  # 2: one blank between columns
    table = Table.grid(padding=(0, 1))
    table.add_column(width=_INDENT + 1, no_wrap=True)
    table.add_column(width=key_width, overflow="fold")
    table.add_column(overflow="fold")
    for f in fields:
        mark, style = _MARKS.get(f.change, _CHANGED_MARK)
        table.add_row(
            Text(f"{' ' * _INDENT}{mark}", style=style),
            Text(printable(f.key)),
            Text(value_text(f, value_width), style="dim" if f.change == EQUAL else ""),
        )
        for line in f.details if f.differs else ():
            table.add_row("", "", Text(printable(line), style="dim"))
    return table


def value_text(f: FieldChange, width: int = 1000) -> str:
    """`old → new` on one line when it fits, else on two; one value for +, - and =."""
    old, new = printable(f.old_text), printable(f.new_text)
    if f.change == ADDED:
        return new
    if f.change in (REMOVED, EQUAL):
        return old
    kind = "" if f.change == "changed" else f" ({f.change})"
    one_line = f"{old} → {new}{kind}"
    return one_line if len(one_line) <= width else f"{old}\n→ {new}{kind}"


def footer(comparison: RunComparison) -> list[str]:
    """The last lines: which sections differ (ranked), which are equal, which were not compared."""
    differ = [s.name for s in comparison.sections if s.differs]
    equal = [
        s.name for s in comparison.sections if s.status not in (NOT_COMPARED,) and not s.differs
    ]
    skipped = [s for s in comparison.sections if s.status == NOT_COMPARED]
    lines = [
        f"A and B differ in {len(differ)} section{'s' if len(differ) != 1 else ''}, "
        f"most likely cause first: {', '.join(differ)}"
        if differ
        else "No differences in the compared sections."
    ]
    if equal:
        lines.append(f"equal: {', '.join(equal)}")
    if skipped:
        lines.append(f"not compared: {', '.join(s.name for s in skipped)} ({skipped[0].summary})")
    return lines


# --- --json --------------------------------------------------------------------------------
def diff_json(comparison: RunComparison, show_all: bool = False) -> dict[str, Any]:
    """The documented `repro diff --json` document (docs/diff.md)."""
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "a": _side_json(comparison.old),
        "b": _side_json(comparison.new),
        "differs": comparison.differs,
        "sections": [
            {
                "name": s.name,
                "title": s.title,
                "rank": s.rank,
                "role": s.role,
                "status": s.status,
                "summary": s.summary,
                "notes": list(s.notes),
                "changes": [_field_json(f) for f in s.fields if show_all or f.differs],
            }
            for s in comparison.sections
        ],
    }


def _side_json(side: Side) -> dict[str, Any]:
    if side.is_current:
        return {"kind": "current"}
    return {
        "kind": "run",
        "id": side.label,
        "created": side.created,
        "status": side.status,
        "command": side.command,
    }


def _field_json(f: FieldChange) -> dict[str, Any]:
    return {
        "key": f.key,
        "change": f.change,
        "old": f.old,
        "new": f.new,
        "unit": f.unit,
        "details": list(f.details),
        "extra": f.extra,
    }
