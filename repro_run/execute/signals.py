"""Stop signals sent to repro, forwarded to the child's process group (SIGKILL after a grace)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopForwarder:
    """Turns repro's stop signals into signals to the child's process group.

    The child has its own session, so a terminal's Ctrl-C reaches only repro, and the child
    gets exactly one SIGINT: the one forwarded here.
    """

    def __init__(self, kill_grace: float) -> None:
        self._grace = kill_grace
        self._pgid: int | None = None
        self._early: list[int] = []  # arrived before the child existed
        self._previous: dict[int, Any] = {}
        self._kill_at: float | None = None
        self.exited = False  # the child is reaped: nothing left to forward to
        self.reason: str | None = None
        self._stopping = False
        self.stop_now = False  # asked to stop after the child exited: cut the drain short

    def install(self) -> None:
        self._previous = _take_stop_signals(self._on_signal)

    def restore(self) -> None:
        _give_back(self._previous)

    def attach(self, pgid: int) -> None:
        self._pgid = pgid
        for signum in self._early:
            self._forward(signum)

    def enforce_deadline(self) -> None:
        if self._kill_at is not None and time.monotonic() >= self._kill_at:
            self._kill_at = float("inf")
            signal_group(self._pgid, signal.SIGKILL)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.reason is None:
            self.reason = signal_name(signum)
        if self.exited:
            self.stop_now = True
        elif self._pgid is None:
            self._early.append(signum)
        else:
            self._forward(signum)

    def _forward(self, signum: int) -> None:
        if signum == signal.SIGINT:  # a second request means now, whatever the first was
            signal_group(self._pgid, signal.SIGKILL if self._stopping else signal.SIGINT)
        elif self._kill_at is None:
            signal_group(self._pgid, signal.SIGTERM)
            self._kill_at = time.monotonic() + self._grace
        self._stopping = True


class DeferredStops:
    """Stop signals held while repro finishes a run whose command has ended: the final record
    is written whatever arrives (scenario D40: also on a second Ctrl-C), then the first one
    held is raised again, as if it had come just after."""

    def __init__(self, on_first: Callable[[str], None]) -> None:
        self._on_first = on_first  # told the signal's name, once
        self._previous: dict[int, Any] = {}
        self.received: int | None = None

    def __enter__(self) -> DeferredStops:
        self._previous = _take_stop_signals(self._hold)
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        _give_back(self._previous)
        if self.received is not None and kind is None:
            signal.raise_signal(self.received)

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
            self._on_first(signal_name(signum))


def _take_stop_signals(handler: Callable[[int, FrameType | None], None]) -> dict[int, Any]:
    """`handler` for the stop signals; their previous handlers. Nothing outside the main thread
    (signal.signal works only there: the caller owns signals then), and a signal ignored stays
    ignored (nohup's SIGHUP)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {
        signum: signal.signal(signum, handler)
        for signum in _STOP_SIGNALS
        if signal.getsignal(signum) is not signal.SIG_IGN
    }


def _give_back(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    previous.clear()


def signal_group(pgid: int | None, sig: signal.Signals) -> None:
    if pgid is None:
        return
    with contextlib.suppress(OSError):  # the group is already gone
        os.killpg(pgid, sig)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIG{signum}"
