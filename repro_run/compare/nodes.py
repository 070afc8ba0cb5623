"""The Nodes section: the world size and, per column of the node table, whether the nodes of
each run agreed and on what.

A value is the one cell every node of the run shares, or "differs between nodes: ..." with
the distinct cells and how many nodes had each (no host names: the nodes of a rerun are
others). The summary says which: "GPU model/SM count differs between nodes (in B)",
"driver differs: 535.104 → 550.54", "world size differs: 2 → 4", "NCCL_ALGO differs: Ring →
Tree".
"""

from __future__ import annotations

from collections import Counter

from repro_run.compare.fields import change, section
from repro_run.models import NodeTable
from repro_run.models.comparison import FieldChange, SectionDiff
from repro_run.models.nodes import COLUMNS

HETEROGENEOUS = "differs between nodes: "
LABELS = {
    "gpus": "GPU model/SM count",
    "driver": "driver",
    "cuda": "CUDA",
    "nccl": "NCCL",
    "packages": "package set",
    "commit": "commit",
}
_SUMMARY_ITEMS = 8


def nodes_section(a: NodeTable | None, b: NodeTable | None) -> SectionDiff:
    """Equal when neither run recorded ranks (a one-process run has no nodes to compare)."""
    fields = [change("world size", _world_size(a), _world_size(b))]
    fields.append(change("shape", _shape(a), _shape(b)))
    for column in COLUMNS:
        if column in LABELS:
            fields.append(change(LABELS[column], _column(a, column), _column(b, column)))
    names = sorted({n for t in (a, b) if t for node in t.nodes for n in node.env})
    fields += [change(name, _env(a, name), _env(b, name)) for name in names]
    phrases = [_phrase(f) for f in fields if f.differs]
    more = len(phrases) - _SUMMARY_ITEMS
    summary = "; ".join(phrases[:_SUMMARY_ITEMS]) + (f"; and {more} more" if more > 0 else "")
    return section("nodes", fields, summary=summary or None)


def _world_size(t: NodeTable | None) -> str | None:
    return " / ".join(t.world_sizes) or None if t else None


def _shape(t: NodeTable | None) -> str | None:
    if t is None:
        return None
    sizes = sorted({len(n.ranks) for n in t.nodes})
    per_node = " or ".join(map(str, sizes))
    return f"{len(t.nodes)} node(s) x {per_node} rank(s)"


def _column(t: NodeTable | None, column: str) -> str | None:
    return _agreed([n.cells[column] for n in t.nodes]) if t else None


def _env(t: NodeTable | None, name: str) -> str | None:
    return _agreed([n.env.get(name, "unset") for n in t.nodes]) if t else None


def _agreed(cells: list[str]) -> str:
    counts = Counter(cells)
    if len(counts) == 1:
        return cells[0]
    return HETEROGENEOUS + "; ".join(f"{cell} on {n} node(s)" for cell, n in counts.items())


def _phrase(f: FieldChange) -> str:
    """How one differing field reads among the likely causes."""
    sides = [s for s, v in (("A", f.old), ("B", f.new)) if str(v).startswith(HETEROGENEOUS)]
    if sides:
        return f"{f.key} differs between nodes (in {' and '.join(sides)})"
    return f"{f.key} differs: {f.old_text or 'none'} → {f.new_text or 'none'}"
