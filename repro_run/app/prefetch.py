"""What a plain `repro run` starts before the rest of the verb is imported (see entry.py).

The run's git calls (the root, the dirty check, describe and remotes) run in their own processes
while Python imports the ~70 modules of `repro run` on one core (~20 ms on a 2-core VM): their
wall time is hidden instead of added, and they no longer compete with the command for a core.
"""

from __future__ import annotations

from pathlib import Path

from repro_run.capture import git


def start_git_query(cwd: Path) -> git.WorkTreeQuery:
    """Start the git calls of a run in the work tree holding `cwd` (RunOptions.git_query)."""
    return git.WorkTreeQuery(cwd)
