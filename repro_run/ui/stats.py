"""The `repro stats` view: one row per final metric (plain text, stable for tests) and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from repro_run.core.humanize import printable
from repro_run.models import MetricStats, to_json_dict


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def stats_lines(
    group: str | None, runs: Sequence[str], seeds: Sequence[int], metrics: Sequence[MetricStats]
) -> list[str]:
    what = f"group {group}" if group else "runs"
    seed_set = sorted(set(seeds))
    seed_text = f"seed {seed_set[0]} for all" if len(seed_set) == 1 else f"seeds {_seeds(seeds)}"
    lines = [f"{what}: {len(runs)} run(s), {seed_text}"]
    if not metrics:
        return [*lines, "no run logged any metric"]
    header = ("metric", "n", "mean", "std", "min", "max", "95% CI")
    rows = [
        (
            printable(m.metric),  # escaped before the columns are measured
            str(m.n),
            _num(m.mean),
            _num(m.std),
            _num(m.minimum),
            _num(m.maximum),
            "-" if m.ci95_low is None else f"[{_num(m.ci95_low)}, {_num(m.ci95_high)}]",
        )
        for m in metrics
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return lines


def _seeds(seeds: Sequence[int]) -> str:
    return ", ".join(map(str, seeds))


def stats_json(
    group: str | None, runs: Sequence[str], seeds: Sequence[int], metrics: Sequence[MetricStats]
) -> dict[str, Any]:
    return {
        "group": group,
        "runs": list(runs),
        "seeds": list(seeds),
        "metrics": [to_json_dict(m) for m in metrics],
    }
