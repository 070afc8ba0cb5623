"""A run's code for a bundle: a git pack of the recorded commit and its tree, without history.

Export packs the commit object and every tree and blob it reaches (its parents are named in
the commit but not included), single-threaded so the bytes are stable. Import writes those
objects into the importing repository with `git unpack-objects`, which checks each object's
hash; the commit then exists under its own SHA and `repro rerun` checks it out as usual.
See https://git-scm.com/docs/git-pack-objects and https://git-scm.com/docs/git-unpack-objects.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO

from repro_run.capture.gitexec import first_line, git_env, run_git
from repro_run.core.errors import BundleError, GitError


def pack_commit(root: Path, commit: str, dest: Path) -> None:
    """Write the pack of `commit` and everything in its tree (no parents, no history) to the
    new file `dest`."""
    listing = run_git(root, "rev-list", "--objects", f"{commit}^{{tree}}")
    names = [commit.encode()] + [line.split(b" ", 1)[0] for line in listing.splitlines()]
    command = ["-c", "pack.threads=1", "pack-objects", "--stdout", "-q"]
    with open(dest, "xb") as out:
        _git_io(root, command, out, data=b"\n".join(names) + b"\n")


def has_commit(root: Path, commit: str) -> bool:
    done = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"],
        cwd=root,
        env=git_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def unpack_commit(root: Path, pack: Path, commit: str) -> None:
    """Write the objects of the pack file `pack` into the repository at `root`; BundleError
    unless it then holds `commit` (git verifies every object's hash while unpacking)."""
    try:
        with open(pack, "rb") as source:
            _git_io(root, ["unpack-objects", "-q"], subprocess.DEVNULL, stdin=source)
    except GitError as exc:
        raise BundleError(f"the bundle's code cannot be unpacked: {exc}") from None
    if not has_commit(root, commit):
        raise BundleError(f"the bundle's code does not hold the recorded commit {commit}")


def _git_io(
    root: Path,
    argv: list[str],
    stdout: IO[bytes] | int,
    *,
    data: bytes | None = None,
    stdin: IO[bytes] | None = None,
) -> None:
    """Run git with `data` (or the file `stdin`) on its stdin and its stdout into `stdout`;
    GitError when it fails."""
    try:
        done = subprocess.run(
            ["git", *argv],
            cwd=root,
            env=git_env(),
            input=data,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            check=False,
        )
    except OSError as exc:
        raise GitError(f"cannot run git in {root}: {exc.strerror}") from exc
    if done.returncode != 0:
        raise GitError(f"git {' '.join(argv)} failed: {first_line(done.stderr)}")
