"""bench/RESULTS.md: each benchmark owns one marked section and replaces only that one."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(name: str, title: str, body: str, results: Path = RESULTS) -> None:
    """Replace the section `<!-- name:begin -->`...`<!-- name:end -->`, keeping the others."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    block = f"{begin}\n## {title}\n\n{body}{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    results.write_text(text)
