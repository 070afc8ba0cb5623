"""repro on a terminal: a real PTY harness around the real CLI (reliability scenarios D38, D47,
D48, D49). The test plays the user's terminal: it holds the master of a pseudo-terminal whose
slave is repro's controlling terminal, types keys into it and resizes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.children import SIGINT_CHILD
from helpers.cli import REPRO, record_of, repro, run_dirs
from helpers.repos import MakeRepo

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux PTYs")


class Terminal:
    """A user's terminal running `repro ARGS` in the foreground."""

    def __init__(self, cwd: Path, *args: str, rows: int = 30, cols: int = 100) -> None:
        self.master, slave = os.openpty()
        self.resize(rows, cols)

        def take_terminal() -> None:  # like a login shell: the PTY becomes our controlling tty
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [REPRO, *args],
            cwd=cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=take_terminal,
        )
        os.close(slave)
        self.seen = b""

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def read_until(self, marker: bytes, timeout: float = 15.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {marker!r} within {timeout} s; got {self.seen!r}"
            if select.select([self.master], [], [], remaining)[0]:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                assert chunk, f"terminal closed before {marker!r}: {self.seen!r}"
                self.seen += chunk
        return self.seen

    def wait(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, self.seen
            if select.select([self.master], [], [], 0.05)[0]:
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.master, 65536)
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"README.md": "x\n"})


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


def start(terminals: list[Terminal], project: Path, child: str, **size: int) -> Terminal:
    terminal = Terminal(project, "run", "--", sys.executable, "-c", child, **size)
    terminals.append(terminal)
    return terminal


PROGRESS = """
import os, sys
from tqdm import tqdm
print("tty", sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty(), flush=True)
for _ in tqdm(range(5), mininterval=0, miniters=1, ncols=60):
    pass
print("done")
"""


def test_on_a_terminal_the_child_gets_a_pty_and_progress_bars_redraw_in_place(
    project: Path, terminals: list[Terminal]
) -> None:
    """D47."""
    terminal = start(terminals, project, PROGRESS)
    assert terminal.wait() == 0, terminal.seen
    assert b"tty True True True" in terminal.seen
    log = (run_dirs(project)[0] / "output.log").read_bytes()
    assert log.count(b"\r") >= 5 and b"\r\n" not in log  # raw bytes, redrawn with \r
    plain = repro(project, "log", "--plain", "@").stdout.splitlines()
    bars = [line for line in plain if "/5" in line]
    assert len(bars) == 1 and "5/5" in bars[0] and "100%" in bars[0]  # the final state only
    assert plain[-1] == "done"


def test_off_a_terminal_no_pty_unless_asked(project: Path) -> None:
    """D47: CI gets pipes (line by line), or a PTY with --pty."""
    probe = "import sys; print('tty', sys.stdout.isatty(), sys.stderr.isatty())"
    piped = repro(project, "run", "--", sys.executable, "-c", probe)
    assert "tty False False" in piped.stdout
    forced = repro(project, "run", "--pty", "--", sys.executable, "-c", probe)
    assert "tty True True" in forced.stdout
    record = record_of(project)
    assert record["process"]["stdout_bytes"] == len("tty True True\n"), (
        record["id"],
        record["created"],
        repro(project, "list", "--json").stdout,
    )


WINDOW = """
import os, signal, sys, time
def show(*_):
    size = os.get_terminal_size()
    print(f"size {size.columns}x{size.lines}", flush=True)
signal.signal(signal.SIGWINCH, show)
show()
while True:
    time.sleep(0.05)
"""


def test_a_resized_terminal_reaches_the_child_as_sigwinch(
    project: Path, terminals: list[Terminal]
) -> None:
    """D48: window size."""
    terminal = start(terminals, project, WINDOW, rows=30, cols=100)
    terminal.read_until(b"size 100x30")
    terminal.resize(40, 132)  # the kernel sends SIGWINCH to repro, the foreground group
    terminal.read_until(b"size 132x40")
    terminal.type(b"\x03")
    terminal.wait()


COUNTER = """
import time
for i in range(1, 1000):
    print(f"tick {i}", flush=True)
    time.sleep(0.05)
"""


def state(pid: int) -> str:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2]


def test_ctrl_z_stops_repro_and_the_child_and_fg_resumes_both(
    project: Path, terminals: list[Terminal]
) -> None:
    """D48: job control, without losing output."""
    terminal = start(terminals, project, COUNTER)
    terminal.read_until(b"tick 3\r\n")
    child = int(
        subprocess.run(
            ["pgrep", "-P", str(terminal.proc.pid)], capture_output=True, text=True
        ).stdout.split()[0]
    )
    terminal.type(b"\x1a")  # Ctrl-Z
    deadline = time.monotonic() + 5
    while (state(terminal.proc.pid), state(child)) != ("T", "T"):
        assert time.monotonic() < deadline, (state(terminal.proc.pid), state(child))
        time.sleep(0.02)
    time.sleep(0.3)
    assert (state(terminal.proc.pid), state(child)) == ("T", "T")  # stays stopped
    os.killpg(terminal.proc.pid, signal.SIGCONT)  # what the shell's `fg` sends
    terminal.read_until(b"tick 12\r\n")
    terminal.type(b"\x03")
    terminal.wait()
    log = (run_dirs(project)[0] / "output.log").read_text().split("\n")
    ticks = [int(line.split()[1]) for line in log if line.startswith("tick ")]
    assert ticks == list(range(1, len(ticks) + 1))  # none lost, none repeated


def test_ctrl_c_on_the_terminal_reaches_the_child_once(
    project: Path, terminals: list[Terminal]
) -> None:
    """D38 in a PTY harness: the terminal signals its foreground group (repro)."""
    terminal = start(terminals, project, SIGINT_CHILD)
    terminal.read_until(b"\nready\r\n")  # the child's line, not the command repro echoes
    terminal.type(b"\x03")
    assert terminal.wait() == -signal.SIGINT
    assert b"stopping after 1 SIGINT" in (run_dirs(project)[0] / "output.log").read_bytes()
    record = record_of(project)
    assert (record["status"], record["process"]["exit_code"]) == ("interrupted", 130)


def test_interactive_pdb_works_on_a_terminal(project: Path, terminals: list[Terminal]) -> None:
    """D49."""
    terminal = start(terminals, project, "import pdb; x = 41; pdb.set_trace(); print('x is', x)")
    terminal.read_until(b"(Pdb)")
    terminal.type(b"p x + 1\n")
    terminal.read_until(b"\n42\r\n")
    terminal.type(b"c\n")
    assert terminal.wait() == 0, terminal.seen
    assert b"x is 41" in terminal.seen
