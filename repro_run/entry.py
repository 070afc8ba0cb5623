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
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from repro_run import __version__
from repro_run.core.constants import ENV_DEBUG
from repro_run.core.errors import INTERNAL_ERROR_EXIT_CODE, ReproError

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import NoReturn

    from repro_run.app.reporting import Reporter
    from repro_run.app.run import RunOptions

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
        from repro_run.cli import run_click

        run_click(args)
        return
    from repro_run.app.prefetch import start_git_query

    cwd = Path.cwd()
    git_query = start_git_query(cwd)  # git works while the rest of `repro run` is imported
    from repro_run import app

    run_verb(app.RunOptions(command=command, cwd=cwd, git_query=git_query))


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


def run_verb(
    options: RunOptions,
    repeat: int | None = None,
    seeds: str | None = None,
    same_seed: bool = False,
) -> NoReturn:
    """`repro run`: exits with the command's status (the first failing one's, repeated)."""
    from repro_run import app, ui, ui_data

    reporter = ui_data.DataReporter()
    if repeat is not None or seeds is not None or same_seed:
        _run_repeated(options, repeat, seeds, same_seed, reporter)
    record = app.run(options, reporter)
    reporter.info(ui.run_summary_line(record))
    process = record.process
    assert process is not None
    die_like_an_interrupted_child(process.stop_reason)
    sys.exit(process.exit_code)


def _run_repeated(
    options: RunOptions,
    repeat: int | None,
    seeds: str | None,
    same_seed: bool,
    reporter: Reporter,
) -> NoReturn:
    from repro_run import ui
    from repro_run.app.repeat import plan_seeds, run_repeated

    planned = plan_seeds(repeat, seeds, same_seed, options.seed)
    result = run_repeated(
        options, planned, reporter, lambda record: reporter.info(ui.run_summary_line(record))
    )
    reporter.info(f"group {result.group}: {len(result.runs)} run(s) — repro stats {result.group}")
    codes = [r.process.exit_code for r in result.runs if r.process is not None]
    stops = [r.process.stop_reason for r in result.runs if r.process is not None]
    die_like_an_interrupted_child(stops[-1] if stops else None)
    sys.exit(next((code for code in codes if code != 0), 0))


def die_like_an_interrupted_child(stop_reason: str | None) -> None:
    if stop_reason == "SIGINT":
        # Die of SIGINT like the child did, so `while repro run ...; do :; done` stops.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)


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
