"""What a run wrote: the declared output paths and the metrics file stat'ed just before launch,
so that afterwards a file the run neither created nor modified is told apart from its own.

A stat walk, no reads: nothing is imported and nothing is stat'ed when the run declares no
outputs and no metrics file. A file is the run's unless its key (inode, size, mtime, ctime) is
the one it had before launch and its last change is clearly older than the snapshot: a write
in the same timestamp tick as an earlier one could leave the key as it was (git's "racy"
files), so a file changed just before the snapshot counts as written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from repro_run.core.errors import DataError
from repro_run.core.record import Record

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from repro_run.fingerprint.tree import ChangeKey

# Linux's file timestamps come from a clock that ticks every jiffy (1-10 ms): twice the
# coarsest tick. Whole-second timestamps (FAT, HFS+, a network file system) get a second more.
_RACY_NS = 20_000_000
_SECOND_NS = 1_000_000_000


class BeforeRun(Record):
    """The keys of the files under the output paths (and of the metrics file) before launch."""

    taken_ns: int  # the wall clock when the snapshot began
    keys: dict[str, ChangeKey]  # resolved absolute path -> key

    def untouched(self, path: str, key: ChangeKey) -> bool:
        """Whether the file at resolved `path`, now `key`, is as it was before the launch."""
        if self.keys.get(path) != key:
            return False
        changed = max(key[2], key[3])
        tick = _SECOND_NS if key[2] % _SECOND_NS == 0 else 0
        return changed + tick + _RACY_NS < self.taken_ns

    def untouched_file(self, path: Path) -> bool:
        """`untouched` for a file named by `path` (links followed), false when it is gone."""
        from repro_run.fingerprint.tree import change_key

        try:
            return self.untouched(os.path.realpath(path), change_key(os.stat(path)))
        except OSError:
            return False


NOTHING_BEFORE = BeforeRun(0, {})


def snapshot(outputs: Sequence[Path], files: Sequence[Path]) -> BeforeRun:
    """The keys of every entry under `outputs` and of each of `files`, as they are now."""
    present = [p for p in (*outputs, *files) if os.path.lexists(p)]
    if not present:
        return NOTHING_BEFORE  # nothing there yet: everything found after the run is its own
    from repro_run.fingerprint.tree import change_key, scan_tree

    taken = time.time_ns()
    keys: dict[str, ChangeKey] = {}
    for path in outputs:
        try:
            keys.update((f.abspath, f.key) for f in scan_tree(path).files)
        except DataError:
            continue  # missing or unreadable now: archiving the outputs says so after the run
    for path in files:
        try:
            keys[os.path.realpath(path)] = change_key(os.stat(path))
        except OSError:
            continue
    return BeforeRun(taken, keys)
