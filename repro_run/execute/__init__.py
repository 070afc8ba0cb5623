"""Running the user's command: resolve what it executes, launch it, tee it, reap it, measure it."""

from __future__ import annotations

from repro_run.execute.process import run_process
from repro_run.execute.resolve import (
    ResolvedCommand,
    UserPython,
    resolve_command,
    user_python,
    which,
)

__all__ = [
    "ResolvedCommand",
    "UserPython",
    "resolve_command",
    "run_process",
    "user_python",
    "which",
]
