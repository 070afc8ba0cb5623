"""`repro show`'s Nodes section: one row per node of a distributed run, differing cells marked,
then the ranks that left no (exit) facts, each with the reason.

Cells are recorded text (host names, GPU names, variable values): shown through `text`, never
as markup. A differing cell is marked with `!` as well as colour, so plain output shows it.
"""

from __future__ import annotations

from repro_run.models import NodeTable
from repro_run.models.nodes import COLUMNS, TITLES, rank_ranges
from repro_run.ui.console import text

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from rich.console import Console

MARK = "! "
_MISSING_SHOWN = 16
_NODES_SHOWN = 32  # more nodes than this: one row per kind of node


def render_nodes(table: NodeTable, console: Console) -> None:
    from rich.table import Table

    console.print(text("Nodes", "bold"))
    grid = Table(box=None, pad_edge=False, header_style="dim")
    names = ["node", "ranks", *(TITLES[c] for c in COLUMNS)]
    nccl = [n for n in table.differing if n not in COLUMNS]  # the NCCL_* that differ
    for name in [*names, *nccl]:
        grid.add_column(f"  {name}" if name == "node" else name, overflow="fold")
    for name, ranks, cells in _rows(table, nccl):
        marked = [
            text(MARK + value, "yellow") if key in table.differing else text(value)
            for key, value in zip([*COLUMNS, *nccl], cells, strict=True)
        ]
        grid.add_row(text(f"  {name}"), text(rank_ranges(ranks)), *marked)
    console.print(grid)
    for line in summary_lines(table):
        console.print(text(f"  {line}", "yellow" if line.startswith(MARK) else ""))


def _rows(table: NodeTable, nccl: list[str]) -> list[tuple[str, list[str], tuple[str, ...]]]:
    """One row per node; past _NODES_SHOWN nodes, one per set of equal cells, naming its
    first nodes (`--json` has every node)."""
    rows = [
        (n.node, list(n.ranks), (*(n.cells[c] for c in COLUMNS), *(n.env[e] for e in nccl)))
        for n in table.nodes
    ]
    if len(rows) <= _NODES_SHOWN:
        return rows
    groups: dict[tuple[str, ...], list[tuple[str, list[str]]]] = {}
    for name, ranks, cells in rows:
        groups.setdefault(cells, []).append((name, ranks))
    grouped = []
    for cells, members in groups.items():
        names = ", ".join(name for name, _ in members[:3])
        more = f" and {len(members) - 3} more" if len(members) > 3 else ""
        label = f"{len(members)} nodes: {names}{more}" if len(members) > 1 else names
        grouped.append((label, [r for _, ranks in members for r in ranks], cells))
    return grouped


def summary_lines(table: NodeTable) -> list[str]:
    """The lines under the table: the world size, what differs, the missing ranks."""
    lines = [
        f"{len(table.nodes)} node(s), {table.rank_count} rank(s) with facts; world size "
        + (" / ".join(table.world_sizes) or "not recorded")
    ]
    if len(table.world_sizes) > 1:
        lines.append(f"{MARK}world size differs between ranks: {', '.join(table.world_sizes)}")
    same = sorted({n for node in table.nodes for n in node.env} - set(table.differing))
    if same:
        node = table.nodes[0]
        lines.append("same on every node: " + ", ".join(f"{n}={node.env[n]}" for n in same))
    if table.differing:
        titles = [TITLES.get(key, key) for key in table.differing]
        lines.append(f"{MARK}differs between nodes: {', '.join(titles)}")
    for missing in table.missing[:_MISSING_SHOWN]:
        where = f" on {missing.node}" if missing.node else ""
        lines.append(f"{MARK}missing rank {missing.rank}{where}: {missing.reason}")
    if len(table.missing) > _MISSING_SHOWN:
        lines.append(f"{MARK}and {len(table.missing) - _MISSING_SHOWN} more missing ranks")
    return lines
