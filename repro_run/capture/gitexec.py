"""Running git: the environment it runs in, processes started together, errors as messages.

Every git call of repro goes through here (`capture.git`, `history`, `worktree`, `code_pack`),
so each one runs with the same pinned environment and fails with the same one-line message.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from repro_run.core.errors import GitError, NotAGitRepositoryError, ReproError

# Git resolves these relative to the cwd it starts in; a hook exports GIT_DIR=.git, so they are
# made absolute against our cwd to keep naming the same repository when git runs in the root.
GIT_PATH_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")

NOT_A_REPOSITORY = (
    "not inside a git repository ({}): repro records the commit it runs; "
    "run `git init` and commit your code first"
)


def git_env(
    extra: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`environ` (this process's by default) for git: its path variables absolute, its
    messages untranslated."""
    env = dict(os.environ if environ is None else environ)
    for name in GIT_PATH_VARS:
        value = env.get(name)
        if value and not os.path.isabs(value):
            env[name] = os.path.abspath(value)
    env["LC_ALL"] = "C"  # the stderr we match ("not a git repository") must not be translated
    env.update(extra or {})
    return env


def spawn(
    cwd: Path, argv: Sequence[str | bytes], env: Mapping[str, str], own_session: bool = False
) -> subprocess.Popen[bytes]:
    """`git ARGV` started in `cwd`, its output piped; GitError when git cannot be run.
    `own_session`: out of repro's process group, so the terminal's Ctrl-C does not reach it."""
    try:
        return subprocess.Popen(
            ["git", *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=own_session,
        )
    except OSError as exc:
        import shutil  # only on failure: keeps the import cost off the hot path

        if shutil.which("git", path=env.get("PATH")) is None:
            raise GitError("git was not found on PATH: install git, or add it to PATH") from exc
        raise GitError(f"cannot run git in {cwd}: {exc.strerror}") from exc


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, bytes, bytes]:
    """Exit status, stdout and stderr of a started git."""
    out, err = proc.communicate()
    return proc.returncode, out, err


Result = tuple[int, bytes, bytes] | GitError


def run_together(root: Path, commands: Mapping[str, Sequence[str]]) -> dict[str, Result]:
    """Start every command before waiting on any: several answers for the wall time of one."""
    return wait_all(start_all(root, commands))


def start_all(
    cwd: Path, commands: Mapping[str, Sequence[str]], own_session: bool = False
) -> dict[str, subprocess.Popen[bytes] | GitError]:
    env = git_env()
    running: dict[str, subprocess.Popen[bytes] | GitError] = {}
    for name, argv in commands.items():
        try:
            running[name] = spawn(cwd, argv, env, own_session)
        except GitError as exc:
            running[name] = exc
    return running


def wait_all(running: Mapping[str, subprocess.Popen[bytes] | GitError]) -> dict[str, Result]:
    return {
        name: proc if isinstance(proc, GitError) else finish(proc) for name, proc in running.items()
    }


def run_git(cwd: Path, *argv: str | bytes, env: Mapping[str, str] | None = None) -> bytes:
    """Run git and return its stdout; a failure becomes a repro error."""
    returncode, out, err = finish(spawn(cwd, argv, env or git_env()))
    if returncode != 0:
        raise failure(cwd, _subcommand(argv), err)
    return out


def _subcommand(argv: Sequence[str | bytes]) -> str:
    words = iter(argv)
    for word in words:
        if word == "-c":
            next(words, None)  # the config value that follows
        elif not str(word).startswith("-"):
            return str(word)
    return "git"


def first_line(err: bytes) -> str:
    for line in err.decode("utf-8", "replace").splitlines():
        if line.strip():
            return line.removeprefix("fatal: ").removeprefix("error: ").strip()
    return "no error message"


def failure(cwd: Path, command: str, err: bytes) -> ReproError:
    reason = first_line(err)
    if "not a git repository" in reason or "must be run in a work tree" in reason:
        return NotAGitRepositoryError(NOT_A_REPOSITORY.format(cwd))
    return GitError(
        f"git {command} failed in {cwd}: {reason} (run `git {command}` there to see why)"
    )
