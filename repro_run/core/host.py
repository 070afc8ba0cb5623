"""This machine's identity: hostname and boot id, as every record and liveness check reads them."""

from __future__ import annotations

import functools
import os

BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"  # Linux: a random UUID drawn at each boot


def hostname() -> str:
    """platform.node(): what run records store and liveness compares, so a local run matches."""
    if hasattr(os, "uname"):
        return os.uname().nodename  # what platform.node() returns on POSIX, without its import
    import platform

    return platform.node()


@functools.cache  # fixed for the life of the process; `repro list` asks once per running row
def boot_id() -> str | None:
    """This boot's random id (Linux), or None: a pid from an earlier boot is not our process."""
    try:
        with open(BOOT_ID_PATH, encoding="ascii") as f:
            return f.read().strip() or None
    except (OSError, UnicodeDecodeError):
        return None
