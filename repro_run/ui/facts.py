"""`repro show`'s rows for the determinism settings and the facts recorded inside the child.

Part of the ui layer: plain (key, value) rows that `ui.runs.render_show` shows as text.
"""

from __future__ import annotations

import json
from typing import Any

from repro_run.models import Determinism, ProcessFacts, RunRecord

_PROCESSES_SHOWN = 16


def determinism_rows(d: Determinism) -> list[tuple[str, str]]:
    return [
        ("determinism", "on (framework switches set)" if d.deterministic else "off"),
        ("threads", str(d.threads) if d.threads else "not fixed (--threads N fixes them)"),
        ("hook", "on (seeds and observes Python processes)" if d.hook else "off"),
    ]


def facts_rows(record: RunRecord) -> list[tuple[str, str]]:
    child = record.facts
    if child is None:
        return []
    if not child.processes:
        return [
            ("recorded", "no Python process reported its facts")
            if not child.problems
            else ("recorded", "nothing readable"),
            *(("problem", p) for p in child.problems),
        ]
    first, others = child.processes[0], child.processes[1:]
    labels = [p.label for p in child.processes]
    shown = ", ".join(labels[:_PROCESSES_SHOWN])
    more = f" and {len(labels) - _PROCESSES_SHOWN} more" if len(labels) > _PROCESSES_SHOWN else ""
    rows = [("processes", f"{len(labels)}: {shown}{more}")]
    rows += [(f"! ranks disagree: {k}", _values(v)) for k, v in child.disagreements.items()]
    rows += _process_rows(first)
    for other in others[:_PROCESSES_SHOWN]:
        rows.append((other.label, _compared(other, first)))
    for process in child.processes:
        rows += [(f"error ({process.label})", error) for error in process.errors]
    rows += [("problem", p) for p in child.problems]
    return rows


def _process_rows(p: ProcessFacts) -> list[tuple[str, str]]:
    rows = [(p.label, f"ended by {p.event}" if p.event != "exit" else "exited")]
    rows.append(("seeded", ", ".join(p.seeded) or "nothing"))
    rows += [("switch", switch) for switch in p.switches]
    rows += [(key, _text(value)) for key, value in sorted(p.facts.items())]
    return rows


def _compared(p: ProcessFacts, first: ProcessFacts) -> str:
    keys = sorted(set(p.facts) | set(first.facts))
    differing = [k for k in keys if p.facts.get(k, _MISSING) != first.facts.get(k, _MISSING)]
    how = f"ended by {p.event}, " if p.event != "exit" else ""
    if not differing:
        return f"{how}same facts as {first.label}"
    listed = ", ".join(differing[:4]) + (f" (+{len(differing) - 4})" if len(differing) > 4 else "")
    return f"{how}differs from {first.label} in {listed}"


_MISSING = object()


def _values(values: dict[str, Any]) -> str:
    return "; ".join(f"{label}: {_text(v)}" for label, v in values.items())


def _text(value: Any) -> str:
    if value is None:
        return "-"  # unset, or absent in that process
    return value if isinstance(value, str) else json.dumps(value)
