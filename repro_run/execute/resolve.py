"""What a command line will execute, found as execvp would, and which Python runs it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from repro_run.core.errors import CommandNotExecutableError, CommandNotFoundError, UsageError
from repro_run.core.record import Record

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import NoReturn

_PYTHON_NAME = re.compile(r"(?:python|pypy)(?:\d+(?:\.\d+)*)?[dmt]?", re.IGNORECASE)
# pip writes this sh/python polyglot instead of a shebang when the interpreter path is too long.
_SH_EXEC_PYTHON = re.compile(rb"#!/bin/sh\n'''exec' (?:\"([^\"]+)\"|(\S+)) \"\$0\"")
_SHEBANG_BYTES = 256
# What an isolated tool install leaves in its environment's root: pipx, `uv tool install`.
_TOOL_ENV_MARKERS = ("pipx_metadata.json", "uv-receipt.toml")


class ResolvedCommand(Record):
    exec_argv: tuple[str, ...]  # what will be executed
    executable: str  # absolute path of exec_argv[0]
    interpreter: str | None  # the Python interpreter that runs the command, if any
    # for a `.py` command, how the interpreter was chosen (UserPython.source, or "rerun")
    interpreter_source: str | None = None


def resolve_command(
    argv: Sequence[str], *, cwd: Path, path: str | None, python: str, python_source: str = "repro"
) -> ResolvedCommand:
    """Find what `argv` will execute, as execvp would, and which Python (if any) runs it."""
    if not argv:
        raise UsageError("no command to run")
    first = argv[0]
    search = path if path is not None else os.defpath
    if first.endswith(".py"):
        if not os.path.exists(cwd / first):  # never raises, unlike Path.exists (ENAMETOOLONG)
            raise CommandNotFoundError(f"script not found: {first} (looked in {cwd})")
        python = os.path.abspath(python)  # never resolved: a venv's python is a symlink
        return ResolvedCommand((python, *argv), python, python, python_source)
    if "/" in first:
        executable = str(cwd / first)
        _check_executable(first, executable, f"no such file relative to {cwd}")
    else:
        found = which(first, search)
        if found is None:
            _raise_not_on_path(first, search)
        executable = str(cwd / found)
    return ResolvedCommand(tuple(argv), executable, _interpreter_of(executable, search))


class UserPython(Record):
    path: str  # the interpreter that runs a `.py` command
    source: str  # how it was chosen: VIRTUAL_ENV, CONDA_PREFIX, PATH, or repro


def user_python(environ: Mapping[str, str], own: str) -> UserPython:
    """The Python the user is working in, which runs `repro run train.py`.

    An activated virtual environment, then an active conda environment; then repro's own
    interpreter, unless repro runs from an isolated tool environment (pipx, `uv tool install`),
    where the script's imports are not: then the `python3` (or `python`) first on PATH.
    """
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        prefix = environ.get(variable)
        if prefix:
            for name in ("python", "python3"):
                candidate = os.path.join(prefix, "bin", name)
                if os.access(candidate, os.X_OK):
                    return UserPython(candidate, variable)
    own = os.path.abspath(own)  # never resolved: a venv's python is a symlink
    own_env = os.path.dirname(os.path.dirname(own))
    if not any(os.path.exists(os.path.join(own_env, m)) for m in _TOOL_ENV_MARKERS):
        return UserPython(own, "repro")
    for name in ("python3", "python"):
        found = which(name, environ.get("PATH", os.defpath))
        if found is not None:
            return UserPython(os.path.abspath(found), "PATH")
    return UserPython(own, "repro")


def which(name: str, path: str | None) -> str | None:
    """`shutil.which(name, path=path)` for a name without a slash, on POSIX.

    Not shutil itself: importing it loads bz2 and lzma, ~2.5 ms of every `repro run` on a
    2-core VM (a test keeps the two in step). `path` None means this process's PATH.
    """
    if path is None:
        path = os.environ.get("PATH", os.defpath)
    seen: set[str] = set()
    for directory in path.split(os.pathsep) if path else ():
        if directory in seen:
            continue
        seen.add(directory)
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.F_OK | os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return None


def _check_executable(shown: str, executable: str, why_missing: str) -> None:
    if not os.path.exists(executable):
        raise CommandNotFoundError(f"command not found: {shown} ({why_missing})")
    if os.path.isdir(executable):
        raise CommandNotExecutableError(f"cannot execute {shown}: is a directory")
    if not os.access(executable, os.X_OK):
        raise CommandNotExecutableError(
            f"cannot execute {shown}: permission denied (chmod +x {shown})"
        )


def _raise_not_on_path(name: str, search: str) -> NoReturn:
    for directory in search.split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.path.exists(candidate):  # on PATH, but a directory or not executable
            _check_executable(candidate, candidate, "")
    raise CommandNotFoundError(f"command not found: {name} (not on the PATH; check PATH)")


def _interpreter_of(executable: str, search: str) -> str | None:
    if _PYTHON_NAME.fullmatch(os.path.basename(executable)):
        return executable
    try:
        with open(executable, "rb") as file:
            head = file.read(_SHEBANG_BYTES)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    polyglot = _SH_EXEC_PYTHON.match(head)
    if polyglot:
        return os.fsdecode(polyglot.group(1) or polyglot.group(2))
    words = os.fsdecode(head[2:].split(b"\n", 1)[0]).split()
    if words and os.path.basename(words[0]) == "env":  # `#!/usr/bin/env [-S] [VAR=x] python3`
        names = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        if names and _PYTHON_NAME.fullmatch(names[0]):
            return which(names[0], search)
        return None
    if words and _PYTHON_NAME.fullmatch(os.path.basename(words[0])):
        return words[0]
    return None
