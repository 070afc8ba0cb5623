"""Commits between two runs, through the same git CLI adapter as `capture.git`: whether each
commit still exists here, and `git diff --numstat` between them (or against the work tree)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from repro_run.capture.gitexec import run_git, run_together
from repro_run.models.comparison import FileStat

# Pinned like the --allow-dirty patch: no user config may change what is counted.
_NUMSTAT_ARGV = (
    "diff", "--numstat", "-z", "--no-renames", "--no-color", "--no-ext-diff", "--no-textconv",
    "--ignore-submodules=none",
)  # fmt: skip


def missing_commits(root: Path, commits: Sequence[str]) -> tuple[str, ...]:
    """Those of `commits` that this repository does not have (rebased away, never fetched)."""
    unique = list(dict.fromkeys(commits))
    results = run_together(
        root,
        {
            c: ("rev-parse", "--verify", "--quiet", "--end-of-options", f"{c}^{{commit}}")
            for c in unique
        },
    )
    missing = []
    for commit in unique:
        result = results[commit]
        if isinstance(result, Exception) or result[0] != 0:
            missing.append(commit)
    return tuple(missing)


def numstat(root: Path, old: str, new: str | None) -> tuple[FileStat, ...]:
    """Lines added and deleted per file from commit `old` to `new` (None: the work tree)."""
    out = run_git(root, *_NUMSTAT_ARGV, old, *((new,) if new else ()), "--")
    stats = []
    for record in filter(None, out.split(b"\0")):
        added, deleted, path = record.split(b"\t", 2)
        binary = added == b"-"
        stats.append(
            FileStat(
                path=os.fsdecode(path),
                added=None if binary else int(added),
                deleted=None if binary else int(deleted),
            )
        )
    return tuple(stats)
