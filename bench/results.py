"""What the benchmarks share: RESULTS.md, where each owns a marked section and replaces only
it; the `repro` beside this Python; a git identity (and no user config) for their repos."""

from __future__ import annotations

import os
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
REPRO = str(Path(sys.executable).with_name("repro"))
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def write_section(name: str, title: str, body: str) -> None:
    """Replace the section `name` of RESULTS.md (or append it), keeping the others."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{begin}\n## {title}\n\n{body}{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text)
