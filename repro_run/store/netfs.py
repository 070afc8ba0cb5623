"""Is the store on a network file system? statfs(2)'s f_type says so on Linux.

SQLite's WAL needs shared memory between processes, which NFS, SMB, GPFS and Lustre do not
give across hosts (https://www.sqlite.org/wal.html, "WAL does not work over a network
filesystem"), and their byte-range locks are only as good as the lock daemon. repro never
turns WAL on, switches an index found in WAL mode back to a rollback journal, and on such a
file system names it in any index error, with the fix (a local REPRO_HOME).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from pathlib import Path

# f_type magic numbers, from <linux/magic.h> and each file system's sources.
NETWORK_MAGIC = {
    0x6969: "nfs",
    0xFF534D42: "cifs",
    0xFE534D42: "smb2",
    0x517B: "smb",
    0x47504653: "gpfs",
    0x0BD00BD0: "lustre",
    0x00C36400: "ceph",
    0x01021997: "9p",
    0x5346414F: "afs",
    0x6B414653: "afs",
    0x65735546: "fuse",  # sshfs, s3fs, gcsfuse, glusterfs and other FUSE mounts
    0xAAD7AAEA: "panfs",
    0x19830326: "beegfs",
}


def statfs_type(path: Path) -> int | None:
    """statfs(2) f_type of the file system holding `path` (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    libc = _libc()
    if libc is None:
        return None
    buffer = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit Linux
    if libc.statfs(os.fsencode(path), buffer) != 0:
        return None
    return ctypes.c_long.from_buffer(buffer).value & 0xFFFFFFFF  # f_type: the first field


def network_filesystem(path: Path) -> str | None:
    """The name of the network file system holding `path` (its nearest existing ancestor)."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    magic = statfs_type(existing)
    return None if magic is None else NETWORK_MAGIC.get(magic)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.statfs  # noqa: B018 - probe: absent on some libcs
    except (OSError, AttributeError):
        return None
    return libc
