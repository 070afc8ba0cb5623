"""The one Console factory and the output every view shares: plain lines, progress, `--json`.

rich is imported only inside `make_console` and `text`, so `repro run` (which prints plain
progress lines through `TerminalReporter`) starts fast. Colour only on a terminal without
NO_COLOR; off a terminal the width is fixed so output is stable for tests and pipes. Recorded
text is data, never markup: rich's markup and emoji codes are off, and every line reaches the
terminal through `printable` (control characters escaped).
"""

from __future__ import annotations

import json
import math
import os
import sys

from repro_run.core.humanize import printable
from repro_run.models import RunRecord, to_json_dict

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, TextIO

    from rich.console import Console
    from rich.text import Text


UNWRAPPED = 10_000  # a width no recorded line reaches: off a terminal, lines are not wrapped


def make_console(stream: TextIO | None = None, plain_width: int | None = 100) -> Console:
    """The Console of every view. Off a terminal: no colour, `plain_width` columns (None:
    COLUMNS, else 80); NO_COLOR: no escape codes at all. Markup, emoji and highlighting are
    off, so a recorded `[/]` or `:smile:` prints as itself."""
    from rich.console import Console

    out = stream or sys.stdout
    terminal = out.isatty()
    plain = bool(os.environ.get("NO_COLOR")) or not terminal
    return Console(
        file=out,
        width=None if terminal else plain_width,
        color_system=None if plain else "auto",
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
    )


def text(value: str, style: str = "") -> Text:
    """A cell or line for rich holding recorded text: shown as text, never as markup."""
    from rich.text import Text

    return Text(printable(value), style=style)


def echo(message: str, err: bool = False) -> None:
    """Print lines of plain output (stdout, or stderr with `err`), recorded text shown as text."""
    out = sys.stderr if err else sys.stdout
    out.write(printable(message) + "\n")
    out.flush()


class TerminalReporter:
    """Progress of `repro run`, on stderr so the child's stdout stays the child's."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr

    def info(self, message: str) -> None:
        self._stream.write(printable(f"repro: {message}") + "\n")
        self._stream.flush()

    def warn(self, message: str) -> None:
        self._stream.write(printable(f"repro: warning: {message}") + "\n")
        self._stream.flush()


def run_summary_line(record: RunRecord) -> str:
    """The progress line that ends `repro run` (and each run of a `--repeat` group)."""
    process = record.process
    if process is None:
        return f"run {record.id} {record.status}"
    how = f"signal {process.signal}" if process.signal else f"exit {process.exit_code}"
    problems = "".join(f"\n  problem: {p}" for p in record.problems)
    return (
        f"run {record.id} {record.status} ({how}) in {format_duration(process.wall_time)}"
        f" — details: repro show {record.id}{problems}"
    )


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"


def print_json(document: Any, stream: TextIO | None = None) -> None:
    """Print records (or plain JSON data) as indented JSON, valid for any JSON parser."""
    out = stream or sys.stdout
    data = _finite(to_json_dict(document))
    out.write(json.dumps(data, indent=2, ensure_ascii=False, default=str, allow_nan=False) + "\n")


def _finite(data: Any) -> Any:
    """NaN and the infinities, which JSON lacks (a diverged loss is NaN), as the strings
    "NaN", "Infinity" and "-Infinity", as protobuf's JSON mapping writes them."""
    if isinstance(data, float) and not math.isfinite(data):
        return "NaN" if data != data else "Infinity" if data > 0 else "-Infinity"
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(value) for value in data]
    return data
