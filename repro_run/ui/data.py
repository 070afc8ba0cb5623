"""Terminal output about datasets: hashing progress, fingerprints, what changed in a dataset.

Built on `ui.console` (its reporter and Console) and the leaves. The progress bar is rich's,
drawn on a terminal only, and only once hashing has taken a second: short fingerprints print
nothing but their result line, and output that is not a terminal never carries progress.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence

from repro_run.core.humanize import count, format_bytes, printable
from repro_run.models import FingerprintReport, TreeRef, to_json_dict
from repro_run.models.comparison import file_change_lines
from repro_run.ui.console import TerminalReporter, make_console

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, TextIO

    from rich.progress import Progress, TaskID

    from repro_run.models.comparison import FileChanges

PROGRESS_AFTER_S = 1.0
REDRAW_EVERY_S = 0.1


class HashProgress:
    """Files, bytes, rate and ETA of a fingerprint, on `stream` when it is a terminal."""

    def __init__(self, stream: TextIO, label: str, enabled: bool = True) -> None:
        self._stream = stream
        self._label = label
        self._enabled = enabled and stream.isatty()
        self._started = time.monotonic()
        self._files = self._bytes = 0
        self._total_files = self._total_bytes = 0
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._drawn = 0.0

    def estimate(self, files: int, size: int) -> None:
        self._total_files, self._total_bytes = files, size
        self._draw()

    def advance(self, files: int, size: int) -> None:
        self._files += files
        self._bytes += size
        self._draw()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _draw(self) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            if time.monotonic() - self._started < PROGRESS_AFTER_S:
                return
            self._start()
        assert self._bar is not None and self._task is not None
        known = self._total_bytes >= self._bytes and self._total_files >= self._files
        files = (
            f"{self._files:,}/{count(self._total_files, 'file')}"
            if known
            else count(self._files, "file")
        )
        self._bar.update(
            self._task,
            completed=self._bytes,
            total=self._total_bytes if known else None,  # unknown: a pulsing bar, no ETA
            files=files,
        )
        now = time.monotonic()
        if now - self._drawn >= REDRAW_EVERY_S:  # stop() draws the last state
            self._drawn = now
            self._bar.refresh()

    def _start(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            TextColumn("repro: {task.description}", markup=False),  # a path: text, not markup
            BarColumn(bar_width=24),
            TextColumn("{task.fields[files]}", markup=False),
            DownloadColumn(binary_units=False),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=make_console(self._stream),
            transient=True,  # the result line replaces it
            # Redrawn on progress, not by rich's refresh thread: the engine forks its workers
            # while the bar is up, and a thread holding the stream's lock at a fork leaves
            # that lock held in the workers.
            auto_refresh=False,
        )
        self._task = self._bar.add_task(printable(self._label), total=None, files="")
        self._bar.start()


class DataReporter(TerminalReporter):
    """`app.Reporter` for the terminal: `ui.console.TerminalReporter`'s lines, plus dataset output."""

    def __init__(self, stream: TextIO | None = None, progress: bool = True) -> None:
        super().__init__(stream)
        self._progress = progress

    def progress(self, label: str) -> HashProgress:
        return HashProgress(self._stream, label, self._progress)

    def dataset(self, ref: TreeRef, seconds: float, cached_files: int) -> None:
        self.info(dataset_line(ref, seconds, cached_files))

    def data_changed(self, ref: TreeRef, since_run: str, changes: FileChanges) -> None:
        total = changes.added + changes.removed + changes.modified
        self.warn(
            f"data {ref.path} changed since run {since_run}: {count(total, 'file')} "
            + ("differs" if total == 1 else "differ")
            + "".join(f"\n    {line}" for line in file_change_lines(changes))
        )


def dataset_line(ref: TreeRef, seconds: float, cached_files: int) -> str:
    """`data data/train (argument --train-dir): 3,201 files, 412.0 MB, blake3 9f2c… in 0.84s`."""
    origin = f" ({ref.origin})" if ref.origin else ""
    cache = f", {cached_files:,} unchanged, not re-read" if cached_files else ""
    return (
        f"data {ref.path}{origin}: {count(ref.files, 'file')}, {format_bytes(ref.bytes)}, "
        f"blake3 {ref.digest[:16]} in {seconds:.2f}s{cache}"
    )


def render_fingerprints(reports: Sequence[FingerprintReport], stream: TextIO | None = None) -> None:
    """`<digest>  <path>  (3,201 files, 412.0 MB, 0.84s)`: one line per path, sha256sum-like."""
    out = stream or sys.stdout
    for r in reports:
        notes = [count(r.files, "file"), format_bytes(r.bytes), f"{r.seconds:.2f}s"]
        if r.cached_files:
            notes.append(f"{r.cached_files:,} unchanged, not re-read")
        if r.skipped:
            notes.append(f"{len(r.skipped)} skipped")
        if r.unreadable:
            notes.append(f"{len(r.unreadable)} unreadable")
        out.write(printable(f"{r.digest}  {r.path}  ({', '.join(notes)})") + "\n")


def fingerprints_json(reports: Sequence[FingerprintReport], stream: TextIO | None = None) -> None:
    """The reports with their manifests; ASCII-escaped, so any file name prints."""
    document: list[Any] = [to_json_dict(r) for r in reports]
    (stream or sys.stdout).write(json.dumps(document, indent=2, ensure_ascii=True) + "\n")
