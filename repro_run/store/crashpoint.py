"""A test hook for crash consistency: `REPRO_CRASH_AT=k` ends this process at its k-th durable step.

Every fsync, rename and index commit of the store is a durable step. Crashing right after one,
with `os._exit` (no cleanup, no finally), is what a power cut or a `kill -9` looks like to the
store; the crash-point tests (reliability scenario C23) run a whole `repro run` once per k.
`REPRO_CRASH_AT=k:stop` stops the process there instead (SIGSTOP, after a line on stderr), so
a test can look at it alive mid-way and then deliver a real SIGKILL (scenario G72).
`REPRO_CRASH_AT=k:raise` raises an unexpected exception there instead: an internal error of
repro (exit 70 and the crash log), which no real input is left to provoke.
Unset (always, outside tests), a step costs one cached environment lookup.
"""

from __future__ import annotations

import functools
import itertools
import os
import signal
import threading

from repro_run.core.constants import CRASH_AT_EXIT_CODE, ENV_CRASH_AT

_counter = itertools.count(1)
_lock = threading.Lock()


@functools.cache
def _target() -> tuple[int, str] | None:
    """(k, what to do there: "" to exit, "stop" or "raise"), or None."""
    value = os.environ.get(ENV_CRASH_AT, "")
    step, _, mode = value.partition(":")
    if not step.isdigit() or mode not in ("", "stop", "raise"):
        return None
    return int(step), mode


def durable_step(what: str) -> None:
    """Mark one durable step done; at the chosen one, die as a crash would (or stop)."""
    target = _target()
    if target is None:
        return
    with _lock:
        step = next(_counter)
    if step != target[0]:
        return
    if target[1] == "raise":
        raise RuntimeError(f"{ENV_CRASH_AT}={step}:raise: a simulated bug after {what}")
    if target[1] == "stop":
        os.write(2, f"repro: {ENV_CRASH_AT}={step}:stop: stopped after {what}\n".encode())
        os.kill(os.getpid(), signal.SIGSTOP)
        return
    os.write(2, f"repro: {ENV_CRASH_AT}={step}: crashing after {what}\n".encode())
    os._exit(CRASH_AT_EXIT_CODE)
