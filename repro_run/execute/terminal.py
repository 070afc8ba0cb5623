"""The child's terminal: a pseudo-terminal when repro runs on one, its window size, job control.

With a PTY, the child sees `isatty()` on stdout (and stderr), so progress bars redraw in place
and libraries keep their interactive behaviour; its stdin stays repro's own terminal, which
the child may read without being its controlling terminal (so `pdb` works, line by line). The
PTY does not translate "\\n" to "\\r\\n" (the outer terminal does), so the log holds the child's
bytes as written. The PTY is the controlling terminal of the child's session, so a resize of
repro's terminal, copied onto it, reaches the child as SIGWINCH.

Job control: Ctrl-Z stops repro (its group is the terminal's foreground); the child lives in its
own session, so repro stops it first (SIGSTOP: its group is orphaned, where the kernel drops a
SIGTSTP), and `fg`'s SIGCONT is passed on. Nothing is lost while both are stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import struct
import sys
import termios
import threading
from collections.abc import Callable
from types import FrameType

from repro_run.execute.signals import signal_group

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

_DEFAULT_SIZE = struct.pack("HHHH", 24, 80, 0, 0)  # rows, columns, xpixel, ypixel


def want_pty(requested: bool | None) -> bool:
    """`--pty`/`--no-pty`, else a PTY exactly when repro's stdout is a terminal."""
    if requested is not None:
        return requested
    return _isatty(1)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


class Pty:
    """A pseudo-terminal for the child: the slave goes to the child, repro reads the master."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        attrs = termios.tcgetattr(self.slave)
        attrs[1] &= ~termios.ONLCR  # oflag: keep "\n" as written; the outer terminal maps it
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        self.merge_stderr = _isatty(2) or not _isatty(1)  # stderr redirected on purpose: apart
        self.copy_window_size()
        self._previous: Any = None

    def copy_window_size(self) -> None:
        """Give the PTY the size of repro's terminal (80x24 when it has none)."""
        size = _DEFAULT_SIZE
        for fd in (1, 2, 0):
            if _isatty(fd):
                with contextlib.suppress(OSError):
                    found = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
                    if all(struct.unpack("HHHH", found)[:2]):  # 0x0: a terminal with no size
                        size = found
                    break
        with contextlib.suppress(OSError):
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)

    def preexec(self) -> None:
        """In the child, after setsid: make the PTY (its fd 1) the session's controlling tty."""
        with contextlib.suppress(OSError):
            fcntl.ioctl(1, termios.TIOCSCTTY, 0)

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGWINCH"):
            self._previous = signal.signal(signal.SIGWINCH, self._on_winch)

    def _on_winch(self, signum: int, frame: FrameType | None) -> None:
        self.copy_window_size()  # the kernel sends SIGWINCH on to the child's foreground group

    def close_slave(self) -> None:
        # Once only: a second close could hit a descriptor another thread has opened since.
        slave, self.slave = self.slave, -1
        if slave >= 0:
            os.close(slave)

    def close(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGWINCH, self._previous)
            self._previous = None
        self.close_slave()
        master, self.master = self.master, -1
        if master >= 0:
            os.close(master)


class JobControl:
    """Ctrl-Z and `fg` for repro and the child's session together."""

    def __init__(self) -> None:
        self._pgid: int | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread() or sys.platform == "win32":
            return
        for signum, handler in ((signal.SIGTSTP, self._on_stop), (signal.SIGCONT, self._on_cont)):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                self._previous[signum] = signal.signal(signum, handler)

    def attach(self, pgid: int) -> None:
        self._pgid = pgid

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        signal_group(self._pgid, signal.SIGSTOP)
        os.kill(os.getpid(), signal.SIGSTOP)  # returns once `fg` or `bg` continues us

    def _on_cont(self, signum: int, frame: FrameType | None) -> None:
        signal_group(self._pgid, signal.SIGCONT)


def combine(*hooks: Callable[[], None] | None) -> Callable[[], None] | None:
    """One preexec hook that runs each given one in order."""
    chosen = [hook for hook in hooks if hook is not None]
    if not chosen:
        return None

    def run_all() -> None:
        for hook in chosen:
            hook()

    return run_all
