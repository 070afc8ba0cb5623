"""The `repro report` page: one static, self-contained HTML file (inline CSS and SVG).

No script, no network: no external stylesheet, font, image or CDN, so it opens anywhere and
can be attached to an email or a ticket. Every recorded string is HTML-escaped (a command line
is user input), its control characters shown as in the terminal views. Sections carry ids (`summaries`, `environment`, `curves`, `verdicts`,
`variance`) that tests and readers can jump to.
"""

from __future__ import annotations

import html
import math
import shlex
from collections.abc import Mapping, Sequence

from repro_run.core.humanize import printable
from repro_run.models import MetricStats, RunRecord, RunSummary
from repro_run.models.comparison import RunComparison

Curve = Sequence[tuple[int | None, float]]
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_W, _H, _PAD = 560, 220, 40
_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left;font-size:13px}th{background:#f3f3f3}code{font-size:12px}
.curve{border:1px solid #ddd;margin:0 1em 1em 0}.IDENTICAL{color:#2a7a2a}.DIVERGED,.FAILED{color:#b00}
"""


def escape(text: str) -> str:
    """Recorded text as HTML: `printable` (an ESC or a BEL is not HTML), then HTML-escaped."""
    return html.escape(printable(text))


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _summaries(records: Sequence[RunRecord], statuses: Sequence[str]) -> str:
    rows = []
    for index, (record, status) in enumerate(zip(records, statuses, strict=True)):
        color = _COLORS[index % len(_COLORS)]
        finals = record.metrics.final if record.metrics else {}
        rows.append(
            [
                f'<span style="color:{color}">&#9632;</span> <code>{escape(record.id)}</code>',
                escape(record.created),
                escape(status),
                escape(shlex.join(record.command.argv)),
                escape(", ".join(f"{p.name}={p.shown}" for p in record.command.params or ())),
                f"<code>{escape(record.code.commit[:12])}</code>"
                + (" dirty" if record.code.dirty else ""),
                str(record.determinism.seed),
                "-" if record.duration is None else f"{record.duration:.2f}s",
                escape(", ".join(f"{k}={_num(v)}" for k, v in sorted(finals.items()))),
            ]
        )
    header = (
        "run",
        "started",
        "status",
        "command",
        "parameters",
        "commit",
        "seed",
        "duration",
        "final metrics",
    )
    return _table(header, rows)


def _environment(comparisons: Sequence[RunComparison]) -> str:
    if not comparisons:
        return "<p>One run: nothing to compare.</p>"
    parts = []
    for comparison in comparisons:
        title = f"{escape(comparison.old.label)} → {escape(comparison.new.label)}"
        rows = [
            [escape(s.title), escape(f.key), escape(f.old_text), escape(f.new_text)]
            for s in comparison.sections
            if s.differs
            for f in s.differences
        ]
        body = _table(("section", "field", "old", "new"), rows) if rows else "<p>Identical.</p>"
        parts.append(f"<h3>{title}</h3>{body}")
    return "".join(parts)


def _svg(metric: str, curves: Sequence[Curve]) -> str:
    """One metric's curves. NaN and infinite values are not drawn (one `inf` would flatten every
    other point): each curve breaks there, and the chart says how many were left out."""
    points = [
        (i, float(s if s is not None else n), v)
        for i, c in enumerate(curves)
        for n, (s, v) in enumerate(c)
    ]
    finite = [(i, x, y) for i, x, y in points if math.isfinite(x) and math.isfinite(y)]
    if not finite:
        return f"<p>{escape(metric)}: no finite value to draw.</p>"
    xs, ys = [p[1] for p in finite], [p[2] for p in finite]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx = (_W - 2 * _PAD) / ((x1 - x0) or 1)
    sy = (_H - 2 * _PAD) / ((y1 - y0) or 1)
    lines = []
    for index in range(len(curves)):
        color = _COLORS[index % len(_COLORS)]
        for segment in _segments([(x, y) for i, x, y in points if i == index]):
            coords = " ".join(
                f"{_PAD + (x - x0) * sx:.1f},{_H - _PAD - (y - y0) * sy:.1f}" for x, y in segment
            )
            lines.append(
                f'<polyline data-run="{index}" fill="none" stroke="{color}" stroke-width="2" '
                f'points="{coords}"/>'
            )
    left_out = len(points) - len(finite)
    note = (
        f'<text x="{_W - _PAD - 160}" y="16" font-size="10">'
        f"{left_out} non-finite point{'s' * (left_out != 1)} not drawn</text>"
        if left_out
        else ""
    )
    labels = (
        f'<text x="{_PAD}" y="16" font-size="13">{escape(metric)}</text>'
        f'<text x="2" y="{_PAD}" font-size="10">{_num(y1)}</text>'
        f'<text x="2" y="{_H - _PAD}" font-size="10">{_num(y0)}</text>'
        f'<text x="{_PAD}" y="{_H - 10}" font-size="10">step {_num(x0)}</text>'
        f'<text x="{_W - _PAD - 40}" y="{_H - 10}" font-size="10">step {_num(x1)}</text>' + note
    )
    axes = (
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#999"/>'
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#999"/>'
    )
    return (
        f'<svg class="curve" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(metric)}">'
        f"{axes}{labels}{''.join(lines)}</svg>"
    )


def _segments(points: Sequence[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """The runs of finite points, split where a NaN or an infinity interrupts them."""
    segments: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if math.isfinite(x) and math.isfinite(y):
            segments[-1].append((x, y))
        elif segments[-1]:
            segments.append([])
    return [s for s in segments if s]


def _curves(curves: Sequence[Mapping[str, Curve]]) -> str:
    names = sorted({name for series in curves for name in series})
    if not names:
        return "<p>No run logged metrics.</p>"
    return "".join(_svg(name, [series.get(name, ()) for series in curves]) for name in names)


def _verdicts(records: Sequence[RunRecord], reruns: Sequence[Sequence[RunSummary]]) -> str:
    rows = []
    for record, summaries in zip(records, reruns, strict=True):
        if record.verdict is not None:
            rows.append(
                [
                    escape(record.id),
                    f"rerun of {escape(record.rerun_of or '?')}",
                    _verdict_cell(record.verdict.outcome),
                    escape(record.verdict.reason),
                ]
            )
        for summary in summaries:
            rows.append(
                [
                    escape(record.id),
                    f"rerun {escape(summary.id)}",
                    _verdict_cell(summary.verdict),
                    "",
                ]
            )
    if not rows:
        return "<p>No reruns yet: <code>repro rerun ID</code> judges one.</p>"
    return _table(("run", "rerun", "verdict", "reason"), rows)


def _verdict_cell(outcome: str | None) -> str:
    text = escape(outcome or "no verdict")
    return f'<span class="{escape((outcome or "").replace(" ", "_"))}">{text}</span>'


def _variance(stats: Sequence[MetricStats], not_pooled: Sequence[RunRecord]) -> str:
    note = ""
    if not_pooled:
        # Pooled with the run it replays, one sample would count twice and shrink the spread.
        reruns = ", ".join(
            f"{escape(r.id)} (rerun of {escape(r.rerun_of or '?')})" for r in not_pooled
        )
        note = f"<p>Reruns left out (each replays its run's seed and inputs): {reruns}.</p>"
    if not stats:
        return "<p>No final metrics.</p>" + note
    rows = [
        [escape(m.metric), str(m.n), _num(m.mean), _num(m.std), _num(m.minimum), _num(m.maximum),
         "-" if m.ci95_low is None else f"[{_num(m.ci95_low)}, {_num(m.ci95_high)}]"]
        for m in stats
    ]  # fmt: skip
    return _table(("metric", "n", "mean", "std", "min", "max", "95% CI"), rows) + note


def render_report(
    records: Sequence[RunRecord],
    statuses: Sequence[str],
    reruns: Sequence[Sequence[RunSummary]],
    comparisons: Sequence[RunComparison],
    curves: Sequence[Mapping[str, Curve]],
    stats: Sequence[MetricStats],
    not_pooled: Sequence[RunRecord],
) -> str:
    title = "repro report: " + ", ".join(r.id for r in records)
    sections = (
        ("summaries", "Runs", _summaries(records, statuses)),
        (
            "environment",
            "Environment and inputs: differences from the first run",
            _environment(comparisons),
        ),
        ("curves", "Metric curves", _curves(curves)),
        ("verdicts", "Rerun verdicts", _verdicts(records, reruns)),
        ("variance", "Variance of the final metrics", _variance(stats, not_pooled)),
    )
    body = "".join(
        f'<section id="{i}"><h2>{escape(t)}</h2>{html}</section>' for i, t, html in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )
