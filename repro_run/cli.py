"""Command-line entry point: parses, calls one `app` function, renders with `ui`.

The only place that turns a `ReproError` into a message and an exit code. `app` is imported
inside each command so `repro --help` stays fast.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path

import click

from repro_run import __version__
from repro_run.constants import ENV_DEBUG
from repro_run.errors import INTERNAL_ERROR_EXIT_CODE, ReproError
from repro_run.models import to_json_dict

STATUS_CHOICES = (
    "running",
    "succeeded",
    "failed",
    "interrupted",
    "terminated",
    "archive_failed",
    "crashed",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="repro")
def cli() -> None:
    """Make ML runs reproducible: prefix the command you already use with `repro run`."""


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    short_help="Run a command and record everything needed to reproduce it.",
)
@click.option("--seed", type=int, help="Seed to inject (default: [tool.repro] seed, else random).")
@click.option(
    "--data",
    "data",
    multiple=True,
    metavar="PATH",
    help="Dataset path to fingerprint (repeatable).",
)
@click.option(
    "--outputs",
    "outputs",
    multiple=True,
    metavar="PATH",
    help="Output path to archive after the run (repeatable).",
)
@click.option(
    "--allow-dirty",
    is_flag=True,
    help="Run from a dirty tree; the run is marked dirty and the patch stored.",
)
@click.option(
    "--no-auto-data",
    "no_auto_data",
    is_flag=True,
    help="Fingerprint only --data / [tool.repro] data, not paths the arguments and configs name.",
)
@click.option(
    "--skip-unreadable",
    is_flag=True,
    help="Record unreadable data files as unreadable instead of refusing to run.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(
    seed: int | None,
    data: tuple[str, ...],
    outputs: tuple[str, ...],
    allow_dirty: bool,
    command: tuple[str, ...],
    no_auto_data: bool,
    skip_unreadable: bool,
) -> None:
    """Run COMMAND (a `.py` file runs under this Python) and record it under a run ID.

    Options before the command are repro's; everything from the command on is passed to it
    unchanged. `--` ends repro's options. repro exits with the command's exit status.
    """
    from repro_run import app, ui, ui_data

    options = app.RunOptions(
        command=command,
        cwd=Path.cwd(),
        seed=seed,
        data=data,
        outputs=outputs,
        allow_dirty=allow_dirty,
        auto_data=not no_auto_data,
        skip_unreadable=skip_unreadable,
    )
    reporter = ui_data.DataReporter(ui.TerminalReporter())
    record = app.run(options, reporter)
    reporter.info(ui.run_summary_line(record))
    process = record.process
    assert process is not None
    if process.stop_reason == "SIGINT":
        # Die of SIGINT like the child did, so `while repro run ...; do :; done` stops.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    sys.exit(process.exit_code)


@cli.command("list")
@click.option("--status", type=click.Choice(STATUS_CHOICES), help="Only runs with this status.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many runs (newest first).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(status: str | None, limit: int | None, as_json: bool) -> None:
    """List runs, newest first."""
    from repro_run import app, ui

    runs = app.list_runs(Path.cwd(), status=status, limit=limit)
    if as_json:
        ui.print_json([to_json_dict(run) for run in runs])
    else:
        ui.render_list(runs, ui.make_console())


@cli.command()
@click.argument("run_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the whole run record as JSON.")
def show(run_id: str, as_json: bool) -> None:
    """Show a run: any unique prefix of its ID, `latest` or `@` (newest), `@~N`."""
    from repro_run import app, ui

    record, status = app.show(Path.cwd(), run_id)
    if as_json:
        ui.print_json(ui.show_json(record, status))
    else:
        ui.render_show(record, status, ui.make_console())


@cli.command("fingerprint")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--json", "as_json", is_flag=True, help="Print each path's manifest as JSON.")
@click.option("--skip-unreadable", is_flag=True, help="Record unreadable files instead of failing.")
@click.option(
    "--no-cache", is_flag=True, help="Hash every file; do not read or update the stat cache."
)
def fingerprint_command(
    paths: tuple[str, ...], as_json: bool, skip_unreadable: bool, no_cache: bool
) -> None:
    """Fingerprint datasets: BLAKE3 digest of each PATH's manifest, file count, bytes, time."""
    from repro_run import app, ui, ui_data

    reports = app.fingerprint_paths(
        paths,
        Path.cwd(),
        skip_unreadable=skip_unreadable,
        use_cache=not no_cache,
        with_entries=as_json,
        reporter=ui_data.DataReporter(ui.TerminalReporter(), progress=not as_json),
    )
    if as_json:
        ui_data.fingerprints_json(reports)
    else:
        ui_data.render_fingerprints(reports)


def main() -> None:
    """Console-script entry point: every error becomes one line and a documented exit code."""
    try:
        cli.main(prog_name="repro", standalone_mode=False)
    except ReproError as exc:
        click.echo(f"repro: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("repro: aborted", err=True)
        sys.exit(130)
    except Exception as exc:  # an unexpected crash of repro itself
        _report_crash(exc)
        sys.exit(INTERNAL_ERROR_EXIT_CODE)


def _report_crash(exc: Exception) -> None:
    """pre-commit's habit: the traceback goes to a log file; the user gets its path."""
    if os.environ.get(ENV_DEBUG) == "1":
        traceback.print_exc()
        return
    from repro_run.cachedir import user_cache_dir

    log = user_cache_dir() / "crash.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as f:
            f.write(f"repro {__version__}: {sys.argv!r}\n{traceback.format_exc()}\n")
        where = f"details in {log}"
    except OSError:
        where = f"set {ENV_DEBUG}=1 for the traceback"
    click.echo(f"repro: internal error: {type(exc).__name__}: {exc} ({where})", err=True)
