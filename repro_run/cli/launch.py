"""`repro run` from the command line: run the verb (once, or as a `--repeat` group), report
each run's outcome, and exit as the command did. Both the fast path (`main.py`) and click's
`run` command (`runs.py`) end here."""

from __future__ import annotations

import os
import signal
import sys

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import NoReturn

    from repro_run.app.progress import Reporter
    from repro_run.app.run.plan import RunOptions


def run_verb(
    options: RunOptions,
    repeat: int | None = None,
    seeds: str | None = None,
    same_seed: bool = False,
) -> NoReturn:
    """`repro run`: exits with the command's status (the first failing one's, repeated)."""
    from repro_run.app.run.run import run
    from repro_run.ui import console as ui_console
    from repro_run.ui import data as ui_data

    reporter = ui_data.DataReporter()
    if repeat is not None or seeds is not None or same_seed:
        _run_repeated(options, repeat, seeds, same_seed, reporter)
    record = run(options, reporter)
    reporter.info(ui_console.run_summary_line(record))
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
    from repro_run.app.run.repeat import plan_seeds, run_repeated
    from repro_run.ui import console as ui_console

    planned = plan_seeds(repeat, seeds, same_seed, options.seed)
    result = run_repeated(
        options,
        planned,
        reporter,
        lambda record: reporter.info(ui_console.run_summary_line(record)),
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
