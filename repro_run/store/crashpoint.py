"""A test hook for crash consistency: `REPRO_CRASH_AT=k` ends this process at its k-th durable step.

Every fsync, rename and index commit of the store is a durable step. Crashing right after one,
with `os._exit` (no cleanup, no finally), is what a power cut or a `kill -9` looks like to the
store; the crash-point tests (reliability scenario C23) run a whole `repro run` once per k.
Unset (always, outside tests), a step costs one cached environment lookup.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading

from repro_run.constants import CRASH_AT_EXIT_CODE, ENV_CRASH_AT

_counter = itertools.count(1)
_lock = threading.Lock()


@functools.cache
def _target() -> int | None:
    try:
        return int(os.environ[ENV_CRASH_AT])
    except (KeyError, ValueError):
        return None


def durable_step(what: str) -> None:
    """Mark one durable step done; at the chosen one, die as a crash would."""
    target = _target()
    if target is None:
        return
    with _lock:
        step = next(_counter)
    if step == target:
        os.write(2, f"repro: {ENV_CRASH_AT}={target}: crashing after {what}\n".encode())
        os._exit(CRASH_AT_EXIT_CODE)
