"""The `repro` console script (and `python -m repro_run`): dispatch, errors, exit.

`repro run [--] COMMAND [ARGS]...` with no option of repro's before the command (the common
form; `[tool.repro]` holds the defaults) starts the run without importing click or any other
command's code: ~25 ms of the wrapper's 60 ms budget on a 2-core VM. Every other command line
goes through click (`cli/`). Either way every error becomes one line and a documented exit
code, and the process ends without the interpreter's teardown.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from repro_run import __version__
from repro_run.core.constants import ENV_DEBUG
from repro_run.core.errors import INTERNAL_ERROR_EXIT_CODE, ReproError

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import NoReturn


ABORTED_EXIT_CODE = 130  # Ctrl-C outside the command (the command's own passes through)


def main() -> NoReturn:
    """Run the command line, then end without the interpreter's teardown.

    Freeing every module costs ~10 ms; by then everything repro writes is closed (records are
    written atomically and fsynced), so only stdio needs a flush.
    """
    code = exit_code_of(lambda: dispatch(sys.argv[1:]))
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe (`repro list | head`) is no error
            stream.flush()
    os._exit(code)


def dispatch(args: Sequence[str]) -> None:
    command = plain_run_command(args)
    if command is None:
        from repro_run.cli.commands import run_click

        run_click(args)
        return
    from repro_run.capture.git import WorkTreeQuery  # the fast path: see the layer test

    cwd = Path.cwd()
    git_query = WorkTreeQuery(cwd)  # git works while the rest of `repro run` is imported
    from repro_run.app.run.plan import RunOptions
    from repro_run.cli.launch import run_verb

    run_verb(RunOptions(command=command, cwd=cwd, git_query=git_query))


def plain_run_command(args: Sequence[str]) -> tuple[str, ...] | None:
    """The command of `repro run [--] COMMAND...` when no option of repro's precedes it."""
    if len(args) < 2 or args[0] != "run":
        return None
    if args[1] == "--":
        return tuple(args[2:]) or None
    return None if args[1].startswith("-") else tuple(args[1:])


def exit_code_of(action: Callable[[], None]) -> int:
    """Run `action`; its exit status, with a one-line message for every error."""
    try:
        action()
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)  # sys.exit("message"), as the interpreter does
        return 1
    except ReproError as exc:
        from repro_run.core.humanize import printable

        print(printable(f"repro: error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("repro: aborted", file=sys.stderr)
        return ABORTED_EXIT_CODE
    except Exception as exc:  # an unexpected crash of repro itself
        _report_crash(exc)
        return INTERNAL_ERROR_EXIT_CODE
    return 0


def _report_crash(exc: Exception) -> None:
    """pre-commit's habit: the traceback goes to a log file; the user gets its path."""
    import traceback

    if os.environ.get(ENV_DEBUG) == "1":
        traceback.print_exc()
        return
    from repro_run.core.paths import user_cache_dir
    from repro_run.core.redaction import argv_secret_values, mask_argv, mask_text, secret_values

    # Masked like the record: argv and env secrets, also where the traceback quotes them.
    env_secrets = secret_values(os.environ)
    known = (*env_secrets, *argv_secret_values(sys.argv, env_secrets))
    argv = list(mask_argv(sys.argv, known))
    log = user_cache_dir() / "crash.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", errors="backslashreplace") as f:
            f.write(mask_text(f"repro {__version__}: {argv!r}\n{traceback.format_exc()}\n", known))
        where = f"details in {log}"
    except OSError:
        where = f"set {ENV_DEBUG}=1 for the traceback"
    error = mask_text(f"{type(exc).__name__}: {exc}", known)
    print(f"repro: internal error: {error} ({where})", file=sys.stderr)
