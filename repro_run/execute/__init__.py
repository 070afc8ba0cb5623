"""Running the user's command: resolve what it executes, launch it, tee it, reap it, measure it."""

from __future__ import annotations

from repro_run.execute.process import run_process
from repro_run.execute.resolve import ResolvedCommand, resolve_command, which

__all__ = ["ResolvedCommand", "resolve_command", "run_process", "which"]
