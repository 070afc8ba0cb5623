"""What a plain `repro run` starts before the rest of the verb is imported (see entry.py).

The dirty check's git calls run in their own processes while Python imports the ~70 modules of
`repro run` (~20 ms on a 2-core VM): their wall time is hidden instead of added.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from repro_run.capture import git
from repro_run.models import TreeStatus


def start_dirty_check(cwd: Path) -> Callable[[], TreeStatus]:
    """Start the dirty check of the work tree holding `cwd`; pass it as RunOptions.dirty_check."""
    return git.start_work_tree_status(cwd)
