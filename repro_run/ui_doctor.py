"""`repro doctor`'s report on the terminal: findings by severity, each with evidence and fix.

Part of the ui layer (renders records; imports the leaves only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from repro_run.models import DoctorReport

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {"high": "red", "medium": "yellow", "low": "cyan"}


def render_doctor(report: DoctorReport, console: Console) -> None:
    from rich.markup import escape

    console.print(f"[bold]repro doctor[/] {escape(report.root)}")
    for check in report.checks:
        console.print(f"  [dim]checked[/] {escape(check)}")
    if not report.findings:
        console.print("[green]No findings.[/]")
        return
    for finding in report.findings:
        style = _STYLE.get(finding.severity, "")
        console.print(
            f"\n[{style}]{finding.severity.upper()}[/] [bold]{escape(finding.code)}[/]"
            f" ({finding.factor}): {escape(finding.title)}"
        )
        for line in finding.evidence:
            console.print(f"    {escape(line)}", soft_wrap=True)
        console.print(f"  [dim]fix:[/] {escape(finding.fix)}", soft_wrap=True)
    counts = {s: sum(f.severity == s for f in report.findings) for s in _STYLE}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    console.print(f"\n{len(report.findings)} findings ({summary})")
