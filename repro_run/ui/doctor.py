"""`repro doctor`'s report on the terminal: findings by severity, each with evidence and fix.

Part of the ui layer (renders records; imports the leaves only). Findings quote the project
(file names, source lines): they go to the console as `Text`, through `printable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from repro_run.core.humanize import printable
from repro_run.models import DoctorReport

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {"high": "red", "medium": "yellow", "low": "cyan"}


def render_doctor(report: DoctorReport, console: Console) -> None:
    from rich.text import Text

    def line(*parts: tuple[str, str] | str) -> Text:  # (text, style) or text
        pairs = ((p, "") if isinstance(p, str) else p for p in parts)
        return Text.assemble(*((printable(part), style) for part, style in pairs))

    console.print(line(("repro doctor", "bold"), f" {report.root}"))
    for check in report.checks:
        console.print(line("  ", ("checked", "dim"), f" {check}"))
    if not report.findings:
        console.print(line(("No findings.", "green")))
        return
    for finding in report.findings:
        console.print(
            line(
                "\n",
                (finding.severity.upper(), _STYLE.get(finding.severity, "")),
                " ",
                (finding.code, "bold"),
                f" ({finding.factor}): {finding.title}",
            )
        )
        for evidence in finding.evidence:
            console.print(line(f"    {evidence}"), soft_wrap=True)
        console.print(line("  ", ("fix:", "dim"), f" {finding.fix}"), soft_wrap=True)
    counts = {s: sum(f.severity == s for f in report.findings) for s in _STYLE}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    console.print(f"\n{len(report.findings)} findings ({summary})")
