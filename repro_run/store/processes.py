"""Which process is which: start times that survive pid reuse, and a run's surviving processes.

Linux reads /proc directly (cheap, no psutil import on the `repro list` path); elsewhere psutil.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from repro_run.core.constants import ENV_RUN_ID

_PROC = Path("/proc")
_LINUX = sys.platform.startswith("linux")
# psutil's create_time and ours agree to the tick; a stepped wall clock moves both by the same
# amount only when read at the same moment, so the epoch comparison allows some slack.
START_TIME_SLACK_S = 2.0


def start_ticks(pid: int) -> int | None:
    """Linux: the process's start time in clock ticks since boot (field 22 of /proc/pid/stat)."""
    if not _LINUX:
        return None
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except (OSError, UnicodeDecodeError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = text[text.rindex(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> float | None:
    """The process's start time in Unix seconds (psutil's create_time), or None if it is gone."""
    if _LINUX:
        ticks = start_ticks(pid)
        boot = _boot_time()
        if ticks is None or boot is None:
            return None
        return ticks / os.sysconf("SC_CLK_TCK") + boot
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _boot_time() -> float | None:
    try:
        for line in (_PROC / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def is_same_process(pid: int, when: float, ticks: int | None) -> bool:
    """Whether `pid` is alive (not a zombie) and is the process that started at `when`/`ticks`."""
    if pid <= 0 or _is_zombie(pid):
        return False
    if ticks is not None and _LINUX:
        return start_ticks(pid) == ticks
    current = start_time(pid)
    return current is not None and abs(current - when) <= START_TIME_SLACK_S


def _is_zombie(pid: int) -> bool:
    if not _LINUX:
        return False
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except (OSError, UnicodeDecodeError):
        return True  # gone
    return text[text.rindex(")") + 2 : text.rindex(")") + 3] in ("Z", "X")


def run_processes(run_id: str) -> list[int]:
    """Live processes whose environment carries REPRO_RUN_ID=<run_id>: what a dead supervisor
    left running (the child and its descendants all inherit the variable)."""
    needle = f"{ENV_RUN_ID}={run_id}".encode()
    found: list[int] = []
    if _LINUX:
        for entry in _PROC.iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                environ = (entry / "environ").read_bytes()
                if needle in environ.split(b"\0") and not _is_zombie(int(entry.name)):
                    found.append(int(entry.name))
        return sorted(found)
    import psutil

    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(ENV_RUN_ID) == run_id:
                found.append(proc.pid)
    return sorted(found)
