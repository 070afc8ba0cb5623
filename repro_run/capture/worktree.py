"""The pristine, detached git worktree a rerun runs in: created, patched, pruned, removed.

Only `.git/worktrees/<name>` in the user's repository is written (git's own bookkeeping for a
linked worktree); the user's HEAD, index and files are never touched. Each rerun's worktree
lives in `<TMPDIR>/repro-rerun-<id>-XXXX/tree`, beside a `lock` file whose flock the rerun holds
for its lifetime: a worktree whose lock is free was left by a crashed rerun and is pruned by
the next one (`keep` marks one kept with --keep-worktree).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from repro_run.capture.gitexec import GIT_PATH_VARS, first_line, git_env, run_git, spawn
from repro_run.core.constants import (
    RERUN_KEEP_FILENAME,
    RERUN_LOCK_FILENAME,
    RERUN_TMP_PREFIX,
    RERUN_TREE_DIRNAME,
)
from repro_run.core.errors import CommitNotFoundError, GitError, PatchApplyError, WorktreeError
from repro_run.core.record import Record

# The user's hooks (post-checkout runs on `worktree add`) must not run on our checkout.
_NO_HOOKS = ("-c", f"core.hooksPath={os.devnull}")
_GITLINK = b"160000"


class Worktree(Record):
    base: Path  # the temporary directory: tree/, lock, keep
    tree: Path  # the worktree itself
    lock_fd: int


def check_commit(root: Path, commit: str, run_id: str) -> None:
    """CommitNotFoundError unless `commit` is a commit in the repository at `root`."""
    code, _, _ = _run(root, "cat-file", "-e", f"{commit}^{{commit}}")
    if code != 0:
        _, shallow, _ = _run(root, "rev-parse", "--is-shallow-repository")
        if shallow.strip() == b"true":  # scenario E59: history cut off by `clone --depth`
            raise CommitNotFoundError(
                f"run {run_id} was recorded at commit {commit}, which this shallow clone does "
                "not hold: fetch it (git fetch --unshallow, or git fetch --depth=1 origin "
                f"{commit}) and try again"
            )
        raise CommitNotFoundError(
            f"run {run_id} was recorded at commit {commit}, which is not in this repository "
            "(rebased or force-pushed away?): fetch it (git fetch origin " + commit + ") "
            "or restore the branch that held it"
        )


@contextlib.contextmanager
def found_from_the_worktree() -> Iterator[None]:
    """Within: git finds the repository from its cwd, as the replayed run's git calls and its
    command must in the worktree (its `.git` file), not by the user's `GIT_DIR`/`GIT_WORK_TREE`
    (and index), which name the user's checkout."""
    saved = {name: os.environ.pop(name) for name in GIT_PATH_VARS if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def create_worktree(root: Path, commit: str, run_id: str) -> Worktree:
    """A detached worktree of `commit` in a fresh temporary directory, its lock held."""
    prune_stale_worktrees(root)
    parent = os.environ.get("TMPDIR") or tempfile.gettempdir()
    try:
        base = Path(tempfile.mkdtemp(prefix=f"{RERUN_TMP_PREFIX}{run_id}-", dir=parent))
    except OSError as exc:
        raise WorktreeError(
            f"cannot create the rerun's temporary directory in {parent}: "
            f"{exc.strerror or exc}; set TMPDIR to a writable directory"
        ) from None
    lock_fd = -1
    try:
        lock_fd = os.open(base / RERUN_LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        tree = base / RERUN_TREE_DIRNAME
        code, _, err = _run(
            root, *_NO_HOOKS, "worktree", "add", "--detach", "--quiet", str(tree), commit
        )
        if code != 0:
            raise WorktreeError(f"git worktree add failed in {root}: {first_line(err)}")
        worktree = Worktree(base, tree, lock_fd)
        _checkout_submodules(root, tree)
    except BaseException:
        _discard(root, base, lock_fd)
        raise
    return worktree


def apply_patch(worktree: Worktree, patch: bytes, run_id: str) -> None:
    """Apply a run's --allow-dirty patch to the worktree's files (its index stays as checked out)."""
    patch_file = worktree.base / "patch.diff"
    patch_file.write_bytes(patch)
    for check in (("--check",), ()):  # all or nothing: nothing is applied unless all applies
        argv = ("apply", "--binary", "--whitespace=nowarn", *check, str(patch_file))
        code, _, err = _run(worktree.tree, *argv)
        if code != 0:
            raise PatchApplyError(
                f"the patch recorded with run {run_id} does not apply to its commit: "
                f"{first_line(err)}"
            )


def remove_worktree(root: Path, worktree: Worktree, *, keep: bool = False) -> None:
    """Remove the worktree and its directory; with `keep`, mark it kept and leave it."""
    if keep:
        (worktree.base / RERUN_KEEP_FILENAME).touch()
        os.close(worktree.lock_fd)
        return
    _discard(root, worktree.base, worktree.lock_fd)


def prune_stale_worktrees(root: Path) -> list[Path]:
    """Remove worktrees of reruns that died without cleaning up; returns their directories."""
    code, out, _ = _run(root, "worktree", "list", "--porcelain")
    if code != 0:
        return []
    removed: list[Path] = []
    vanished = False
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        if not line.startswith("worktree "):
            continue
        tree = Path(line[len("worktree ") :])
        base = tree.parent
        if tree.name != RERUN_TREE_DIRNAME or not base.name.startswith(RERUN_TMP_PREFIX):
            continue
        if not base.exists():
            vanished = True  # its temporary directory was cleaned: git keeps a dangling entry
        elif not (base / RERUN_KEEP_FILENAME).exists() and _lock_is_free(base):
            _discard(root, base, -1)
            removed.append(base)
    if vanished:
        _run(root, "worktree", "prune")
    return removed


def _discard(root: Path, base: Path, lock_fd: int) -> None:
    tree = base / RERUN_TREE_DIRNAME
    if tree.exists():
        # --force twice: also a worktree that is dirty (the patch) or locked.
        code, _, _ = _run(root, "worktree", "remove", "--force", "--force", str(tree))
        if code != 0:
            shutil.rmtree(tree, ignore_errors=True)
            _run(root, "worktree", "prune")
    shutil.rmtree(base, ignore_errors=True)
    if lock_fd >= 0:
        with contextlib.suppress(OSError):
            os.close(lock_fd)


def _lock_is_free(base: Path) -> bool:
    try:
        fd = os.open(base / RERUN_LOCK_FILENAME, os.O_RDWR)
    except FileNotFoundError:
        return True  # crashed before it took the lock
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live rerun holds it
    finally:
        os.close(fd)
    return True


def _checkout_submodules(source: Path, tree: Path) -> None:
    """Each submodule at its recorded SHA, cloned from the user's checkout of it when present
    (no network, nothing written to the user's repository config), else from its URL."""
    if not (tree / ".gitmodules").exists():
        return
    listing = run_git(tree, "ls-files", "--stage", "-z")
    for entry in filter(None, listing.split(b"\0")):
        meta, _, raw = entry.partition(b"\t")
        mode, sha, _ = meta.split(b" ")
        if mode != _GITLINK:
            continue
        path = os.fsdecode(raw)
        origin = source / path
        if not (origin / ".git").exists():
            origin = Path(_submodule_url(tree, path))
        target = tree / path
        code, _, err = _run(
            tree, *_NO_HOOKS, "clone", "-q", "--no-checkout", str(origin), str(target)
        )
        if code == 0:
            code, _, err = _run(target, *_NO_HOOKS, "checkout", "-q", "--detach", sha.decode())
        if code != 0:
            raise WorktreeError(
                f"submodule {path} cannot be checked out at {sha.decode()}: {first_line(err)}"
            )
        _checkout_submodules(origin if origin.is_dir() else target, target)


def _submodule_url(tree: Path, path: str) -> str:
    code, out, _ = _run(tree, "config", "-f", ".gitmodules", "-z", "--get-regexp", r"\.path$")
    for item in filter(None, out.split(b"\0")) if code == 0 else ():
        key, _, value = item.decode("utf-8", "surrogateescape").partition("\n")
        if value == path:
            name = key.removeprefix("submodule.").removesuffix(".path")
            url = run_git(tree, "config", "-f", ".gitmodules", f"submodule.{name}.url")
            return url.decode("utf-8", "surrogateescape").strip()
    raise WorktreeError(f"submodule {path} has no URL in .gitmodules")


def _run(cwd: Path, *argv: str) -> tuple[int, bytes, bytes]:
    try:
        proc = spawn(cwd, argv, git_env())
    except GitError as exc:
        raise WorktreeError(str(exc)) from None
    out, err = proc.communicate()
    return proc.returncode, out, err
