"""`repro log --plain` and the verdict read a log as a terminal leaves it (verdict/screen.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers.cli import repro
from helpers.repos import MakeRepo

from repro_run.app.logview import plain
from repro_run.verdict.logs import normalize_log
from repro_run.verdict.screen import WINDOW_ROWS, screen_lines

# A real rich live display (what Lightning's RichProgressBar draws): two task lines redrawn by
# moving the cursor up and erasing, each frame shorter than the one before.
RICH_PROGRESS = """
from rich.progress import Progress, TextColumn
with Progress(TextColumn("{task.description}"), auto_refresh=False) as progress:
    a = progress.add_task("stage one: loading a very long description of the dataset", total=2)
    b = progress.add_task("stage two: waiting for the first stage to finish first", total=2)
    progress.refresh()
    progress.update(a, description="load", advance=2)
    progress.update(b, description="train", advance=2)
    progress.refresh()
print("done")
"""


def test_a_rich_progress_display_leaves_only_its_last_frame(make_repo: MakeRepo) -> None:
    root = make_repo({"bar.py": RICH_PROGRESS})
    done = repro(root, "run", "--pty", "--", sys.executable, "bar.py")
    assert done.returncode == 0, done.stderr
    shown = repro(root, "log", "--plain", "@").stdout.splitlines()
    assert [line.rstrip() for line in shown] == ["load", "train", "done"]


def test_an_erased_line_leaves_no_residue_of_a_longer_frame() -> None:
    assert list(screen_lines("epoch 1 loss 0.53 v_num 3\r\x1b[2Kepoch 2\n")) == ["epoch 2", ""]
    assert list(screen_lines("abcdef\r\x1b[Kxy\n")) == ["xy", ""]
    assert list(screen_lines("abcdef\x1b[3D\x1b[K!\n")) == ["abc!", ""]


def test_carriage_returns_and_backspaces_overwrite_as_on_a_terminal() -> None:
    assert list(screen_lines("12345\rab")) == ["ab345"]
    assert list(screen_lines("abc\b\bX")) == ["aXc"]
    assert list(screen_lines("a\tb")) == ["a       b"]


def test_a_redraw_far_down_a_long_log_keeps_every_line() -> None:
    lines = [f"line {i}" for i in range(3 * WINDOW_ROWS)]
    text = "\n".join(lines) + "\n\x1b[1A\x1b[2Klast\n"  # redraw the final line
    assert list(screen_lines(text)) == [*lines[:-1], "last", ""]


def test_log_plain_and_the_verdict_read_a_log_the_same_way(tmp_path: Path) -> None:
    log = b"\x1b[?25l\r\x1b[2Klong first frame\r\n\x1b[1A\x1b[2Kshort\r\ndone\r\n"
    assert plain(log).decode().splitlines() == normalize_log(log)
    assert normalize_log(log) == ["short", "done"]
