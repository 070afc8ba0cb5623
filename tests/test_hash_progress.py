"""Hashing progress: a rich bar on a terminal after a second; never off a terminal or in --json."""

from __future__ import annotations

import io
import os
import pty
import select
import threading
from collections.abc import Iterator
from typing import TextIO

import pytest

from repro_run.ui import data as ui_data


@pytest.fixture
def terminal() -> Iterator[tuple[TextIO, int]]:
    """A real pseudo-terminal: (the stream repro writes to, the fd the test reads from)."""
    controller, device = pty.openpty()
    stream = os.fdopen(device, "w")
    try:
        yield stream, controller
    finally:
        stream.close()
        os.close(controller)


def _drain(fd: int) -> bytes:
    out = b""
    while select.select([fd], [], [], 0.2)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        out += chunk
    return out


def _hash(progress: ui_data.HashProgress) -> None:
    progress.estimate(10, 4000)
    progress.advance(4, 1000)
    progress.advance(1, 500)
    progress.close()


def test_a_bar_is_drawn_on_a_terminal_once_hashing_is_slow(
    terminal: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream, controller = terminal
    monkeypatch.setattr(ui_data, "PROGRESS_AFTER_S", 0.0)  # as if a second had passed
    _hash(ui_data.HashProgress(stream, "hashing data/train"))
    drawn = _drain(controller).decode(errors="replace")
    assert "hashing data/train" in drawn
    assert "5/10 files" in drawn and "1.5/4.0 kB" in drawn


def test_a_data_path_holding_markup_and_escapes_is_drawn_as_text(
    terminal: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream, controller = terminal
    monkeypatch.setattr(ui_data, "PROGRESS_AFTER_S", 0.0)
    _hash(ui_data.HashProgress(stream, "hashing data/[/]x [bold]:smile:\x1b]0;t\x07"))
    drawn = _drain(controller).decode(errors="replace")
    assert "data/[/]x [bold]:smile:\\x1b]0;t\\x07" in drawn
    assert "\x1b]" not in drawn and "\x07" not in drawn


def test_a_fast_fingerprint_draws_nothing(terminal: tuple[TextIO, int]) -> None:
    stream, controller = terminal
    _hash(ui_data.HashProgress(stream, "hashing data/train"))  # well under a second
    assert _drain(controller) == b""


def test_nothing_is_drawn_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui_data, "PROGRESS_AFTER_S", 0.0)
    pipe = io.StringIO()
    _hash(ui_data.HashProgress(pipe, "hashing data/train"))
    assert pipe.getvalue() == ""


def test_json_output_asks_for_no_progress(
    terminal: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream, controller = terminal
    monkeypatch.setattr(ui_data, "PROGRESS_AFTER_S", 0.0)
    reporter = ui_data.DataReporter(stream, progress=False)
    display = reporter.progress("hashing data/train")
    assert isinstance(display, ui_data.HashProgress)
    _hash(display)
    assert _drain(controller) == b""


def test_the_bar_starts_no_thread(
    terminal: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fingerprint engine forks its workers while the bar is up: no thread may run then."""
    stream, controller = terminal
    monkeypatch.setattr(ui_data, "PROGRESS_AFTER_S", 0.0)
    progress = ui_data.HashProgress(stream, "hashing data/train")
    before = threading.active_count()
    progress.estimate(10, 4000)
    progress.advance(4, 1000)
    assert threading.active_count() == before
    progress.close()  # draws the last state
    assert "4/10 files" in _drain(controller).decode(errors="replace")
