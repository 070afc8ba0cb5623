"""The workspace every verb but `repro run` works in: the repository and its store, found once.

`cli` builds one per command (`Workspace.find`) and hands it to the verb, which opens the store
through it (once, however many steps read it), as DVC's `Repo` and hatch's `Application` are
built once and passed around. `repro run` keeps its own discovery: its git calls start before
anything is imported (`cli/main.py`), and it finds the store with the same `store_dir_of`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from repro_run.capture import git
from repro_run.capture.gitexec import NOT_A_REPOSITORY
from repro_run.core.errors import NotAGitRepositoryError
from repro_run.core.record import Record, field
from repro_run.store import Store, repro_home, store_dir_of

Warn = Callable[[str], None]  # told of each record a listing skips (it names the run)

# With these set, git finds the repository by them, not by walking up from the cwd (git(1)).
_DISCOVERY_VARS = ("GIT_DIR", "GIT_WORK_TREE")


class _Opened:
    """What a workspace has opened: it is frozen, so the store it opens is kept here."""

    __slots__ = ("store",)

    def __init__(self) -> None:
        self.store: Store | None = None


class Workspace(Record):
    cwd: Path  # resolved
    root: Path | None  # the work tree's root; None outside a git repository
    store_dir: Path | None  # REPRO_HOME, else <root>/.repro; None when neither exists
    warn: Warn | None = None  # given to the store: each record a listing skips
    opened: _Opened = field(default_factory=_Opened)

    @classmethod
    def find(
        cls, cwd: Path, environ: Mapping[str, str] | None = None, warn: Warn | None = None
    ) -> Workspace:
        """The workspace of `cwd`. Outside a repository it still opens a `REPRO_HOME` store;
        what needs the work tree raises `NotAGitRepositoryError` when asked (`work_tree`)."""
        env = os.environ if environ is None else environ
        here = cwd.resolve()
        root = _find_root(here, env)
        store_dir = store_dir_of(root, env) if root is not None else repro_home(env)
        return cls(here, root, store_dir, warn)

    def work_tree(self) -> Path:
        """The root of the work tree; outside one, the "not a git repository" error."""
        if self.root is None:
            raise self._outside()
        return self.root

    def store(self) -> Store:
        """The run store, opened on first use and then shared by every step of the verb."""
        if self.opened.store is None:
            if self.store_dir is None:  # no repository, and no REPRO_HOME
                raise self._outside()
            self.opened.store = Store.open(self.store_dir, warn=self.warn)
        return self.opened.store

    def _outside(self) -> NotAGitRepositoryError:
        return NotAGitRepositoryError(NOT_A_REPOSITORY.format(self.cwd))


def _find_root(cwd: Path, environ: Mapping[str, str]) -> Path | None:
    """The first ancestor of `cwd` holding `.git` (a directory, or a worktree's or submodule's
    file): a few stats, where asking git costs ~4 ms of `repro list`'s start. git is asked when
    the environment names the repository (`GIT_DIR`, `GIT_WORK_TREE`) or no `.git` is found."""
    if not any(environ.get(name) for name in _DISCOVERY_VARS):
        for directory in (cwd, *cwd.parents):
            if (directory / ".git").exists():
                return directory
    try:
        return git.find_work_tree(cwd, environ)
    except NotAGitRepositoryError:
        return None
