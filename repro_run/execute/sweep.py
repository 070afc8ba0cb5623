"""What outlives the command: its session's processes, and the orphans repro adopts as the
child subreaper (Linux), ended at the end of the run (SIGTERM, then SIGKILL) and reaped."""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import signal
import sys
import time
from collections.abc import Callable

from repro_run.core.constants import ENV_RUN_ID

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

ORPHAN_GRACE_S = 0.5
_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


@functools.cache
def prctl() -> Callable[[int, int], int] | None:
    """prctl(2) (Linux; None elsewhere): ctypes is loaded once, for the launch's PDEATHSIG."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only Linux needs it, for prctl

    try:
        call: Callable[[int, int], int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return call


def adopt_orphans(on: bool) -> bool:
    """Be the child subreaper (or stop being one); whether this process is one now.

    While it is, a descendant of the command whose parent dies (one that left the command's
    session with setsid included) becomes repro's child instead of init's, so the sweep can
    find it and no pid of its can be reused before repro reaps it."""
    call = prctl()
    return call is not None and call(_PR_SET_CHILD_SUBREAPER, int(on)) == 0 and on


def has_children() -> bool:
    """Whether this process has any child, running or exited (one system call)."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def reap_group(pgid: int) -> tuple[int, resource.struct_rusage] | None:
    """Reap the exited children of process group `pgid`: its leader's wait status and resource
    usage once it has exited (None before). As the subreaper, repro also adopts the command's
    orphans that stay in its group (`(sleep 1 &)`): reaping them as they exit keeps them from
    piling up as zombies during a long run."""
    while True:
        try:
            reaped, status, usage = os.wait4(-pgid, os.WNOHANG)
        except ChildProcessError:  # none left in the group
            return None
        if reaped == 0:
            return None
        if reaped == pgid:
            return status, usage


def sweep(sid: int, run_id: str | None, grace: float, adopted: bool) -> int:
    """End what is left of the run: the processes of the command's session and, if repro may
    have adopted some (`adopted`), its orphans that carry the run's ID (REPRO_RUN_ID, as
    `repro show` finds a crashed run's processes) and their descendants. SIGTERM, then SIGKILL
    after `grace`; returns how many there were."""
    reap_group(sid)
    if not adopted and not _session_may_have_members(sid):
        return 0  # the usual case, decided without importing psutil (~15 ms)
    import psutil

    found: set[psutil.Process] = set()
    # Rescan each round: a survivor may have forked since the last one, and a process killed
    # in the session may leave an orphan that has just been adopted.
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, ORPHAN_GRACE_S)) * 2:
        alive = _session_members(sid) + _adopted(run_id)
        if not alive:
            break
        found.update(alive)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)  # checks the pid still names the same process
        deadline = time.monotonic() + wait
        while alive and time.monotonic() < deadline:
            time.sleep(0.01)
            alive = [p for p in alive if _alive(p)]
    for proc in found:  # those that were repro's children (adopted) are its zombies now
        with contextlib.suppress(ChildProcessError):
            os.waitpid(proc.pid, os.WNOHANG)
    return len(found)


def _adopted(run_id: str | None) -> list[Any]:
    """repro's children from the run (its own git calls carry no run ID), and their trees."""
    if run_id is None:
        return []
    import psutil

    members = []
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if child.environ().get(ENV_RUN_ID) == run_id:
                members += [child, *child.children(recursive=True)]
    return [proc for proc in members if _alive(proc)]


def _session_may_have_members(sid: int) -> bool:
    """Linux: whether any process (a zombie included) is still in the session; else True."""
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return True  # no /proc: psutil looks
    for pid in pids:
        with contextlib.suppress(OSError):
            if os.getsid(pid) == sid:
                return True
    return False


def _session_members(sid: int) -> list[Any]:
    import psutil

    members = []
    for pid in psutil.pids():
        with contextlib.suppress(OSError, psutil.Error):
            if pid and os.getsid(pid) == sid and _alive(proc := psutil.Process(pid)):
                members.append(proc)
    return members


def _alive(proc: Any) -> bool:
    """Running and not a zombie (orphans may stay zombies under a pid 1 that never reaps)."""
    import psutil

    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
