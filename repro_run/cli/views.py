"""Commands that read runs: `list`, `show`, `log`, `diff`, `stats`, `report`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from repro_run.cli.group import cli, workspace

# models.LISTED_STATUSES, kept in step by a test: `repro --help` does not import the models.
STATUS_CHOICES = (
    "running",
    "succeeded",
    "failed",
    "interrupted",
    "terminated",
    "archive_failed",
    "failed_to_start",
    "crashed",
    "unknown (remote)",
    "presumed dead",
)
LIST_DEFAULT_LIMIT = 20
# models.requirements.FORMATS (the pip list's), and `conda` (the conda list's), kept in step
# by a test: `show --packages --format`.
PACKAGE_FORMATS = ("freeze", "requirements", "uv", "conda")


@cli.command("list")
@click.option("--status", type=click.Choice(STATUS_CHOICES), help="Only runs with this status.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=LIST_DEFAULT_LIMIT,
    show_default=True,
    help="At most this many runs (newest first).",
)
@click.option("--all", "show_all", is_flag=True, help="Every run, however many.")
@click.option("--group", metavar="GROUP", help="Only the runs of this --repeat group (grp-…).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--remote", is_flag=True, help="The team remote's runs (REPRO_REMOTE or [tool.repro] remote)."
)
def list_command(
    status: str | None,
    limit: int,
    show_all: bool,
    group: str | None,
    as_json: bool,
    remote: bool,
) -> None:
    """List runs, newest first (the newest 20 unless --limit N or --all)."""
    from repro_run.app.query import list_runs, short_ids
    from repro_run.ui import console as ui_console
    from repro_run.ui import runs as ui_runs

    here = workspace(warn=True)
    wanted = None if show_all else limit
    # One more than shown tells whether there are more, without counting them all.
    if remote:
        from repro_run.app.transfer.remote_runs import list_remote

        if group is not None:
            raise click.UsageError("--group lists runs of this store, not of --remote")
        runs = list_remote(here, None, status, wanted and wanted + 1)
        shown = None  # whole IDs: a prefix unique here may not be on the remote
    else:
        runs = list_runs(here, status=status, limit=wanted and wanted + 1, group=group)
        shown = short_ids(here)
    more = wanted is not None and len(runs) > wanted
    runs = runs[:wanted]
    if as_json:
        ui_console.print_json(runs)
        return
    filtered = status is not None or group is not None
    ui_runs.render_list(runs, ui_console.make_console(), filtered, shown)
    if more:
        ui_console.echo(f"(the newest {wanted} shown: --limit N or --all for more)", err=True)


@cli.command()
@click.argument("run_id", metavar="ID")
@click.option(
    "--packages",
    is_flag=True,
    help="Print the run's installed packages as `pip freeze` does (with --json: the records).",
)
@click.option(
    "--format",
    "package_format",
    type=click.Choice(PACKAGE_FORMATS),
    default="freeze",
    show_default=True,
    help="With --packages: `requirements` (a requirements.txt with the recorded indexes), "
    "`uv` (those requirements with the uv commands that rebuild them), `conda` (the conda "
    "packages, an explicit list for `conda create --file`).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole run record as JSON.")
@click.option(
    "--remote", is_flag=True, help="The run as the team remote has it, without pulling it."
)
def show(run_id: str, packages: bool, package_format: str, as_json: bool, remote: bool) -> None:
    """Show a run: any unique prefix of its ID, `latest` or `@` (newest), `@~N`.

    `--packages` prints one requirement a line, as `pip freeze` writes them, for
    `pip install -r`; `--format requirements|uv` adds the recorded package indexes and lists
    what cannot be rebuilt as comments saying why; `--format conda` writes the conda packages
    recorded in a conda environment as a conda explicit list. A run whose package list (or
    conda package list) was not captured exits 35, saying why.
    """
    from repro_run.app.query import reruns_of, show
    from repro_run.ui import console as ui_console
    from repro_run.ui import runs as ui_runs

    here = workspace(warn=True)
    if packages and package_format == "conda":
        from repro_run.app.query import conda_packages
        from repro_run.models.conda_explicit import explicit_lines

        conda_list = conda_packages(here, run_id)
        if as_json:
            ui_console.print_json(conda_list)
        else:
            ui_console.echo("\n".join(explicit_lines(conda_list)))
        return
    if packages:
        from repro_run.app.query import packages as package_list
        from repro_run.models.requirements import FORMATS

        listed = package_list(here, run_id)
        if as_json:
            ui_console.print_json(listed)
        elif listed.packages:
            ui_console.echo("\n".join(FORMATS[package_format](listed)))
        return

    if remote:
        from repro_run.app.transfer.remote_runs import show_remote

        record = show_remote(here, None, run_id)
        status, reruns = record.status, []
    else:
        record, status = show(here, run_id)
        reruns = reruns_of(here, record.id)
    if as_json:
        ui_console.print_json(ui_runs.show_json(record, status, reruns))
    else:
        # Off a terminal no line is wrapped: a path or command cut mid-word breaks grep and copy.
        console = ui_console.make_console(plain_width=ui_console.UNWRAPPED)
        ui_runs.render_show(record, status, console, reruns)


# Kept in step with comparison.SECTIONS by a test; not imported here so `repro run` stays fast.


@cli.command()
@click.argument("run_id", metavar="ID")
@click.option("--plain", is_flag=True, help="Final state of each line: replay \\r, drop escapes.")
def log(run_id: str, plain: bool) -> None:
    """Print a run's stored output as the command wrote it (secret values masked).

    The bytes are the command's own, escape sequences included, as `cat` would show the file;
    `--plain` gives the text a terminal was left with, no escape sequences.
    """
    from repro_run.app import logview

    data = logview.read_log(workspace(), run_id)
    sys.stdout.buffer.write(logview.plain(data) if plain else data)
    sys.stdout.buffer.flush()


DIFF_SECTIONS_HELP = (
    "Only these sections, comma-separated (repeatable), from: data, code, config, command, "
    "seed, packages, conda, container, framework, gpu, nodes, determinism, env, system, "
    "metrics, outputs, resources, parts."
)


@cli.command("diff")
@click.argument("ref_a", metavar="A")
@click.argument("ref_b", metavar="[B]", required=False)
@click.option("--all", "show_all", is_flag=True, help="Show equal fields too.")
@click.option("--section", "sections", multiple=True, metavar="NAMES", help=DIFF_SECTIONS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema: docs/diff.md).")
def diff_command(
    ref_a: str, ref_b: str | None, show_all: bool, sections: tuple[str, ...], as_json: bool
) -> None:
    """Show what differs between runs A and B, the most likely causes first.

    A and B are run IDs, unique prefixes, `@` (newest) or `@~N`. With A alone, run A is
    compared with the current environment and working tree. Exits 0 when the compared
    sections are equal and 1 when they differ, like diff(1).
    """
    from repro_run.app.diff import diff
    from repro_run.core.errors import UsageError
    from repro_run.models.comparison import SECTION_NAMES
    from repro_run.ui import console as ui_console
    from repro_run.ui import diff as ui_diff

    wanted = [name.strip() for value in sections for name in value.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in SECTION_NAMES]
    if unknown:
        raise UsageError(
            f"unknown section {', '.join(map(repr, unknown))}: choose from {', '.join(SECTION_NAMES)}"
        )
    comparison = diff(workspace(), ref_a, ref_b, sections=tuple(wanted) or None)
    if as_json:
        ui_console.print_json(ui_diff.diff_json(comparison, show_all))
    else:
        ui_diff.render_diff(comparison, ui_console.make_console(plain_width=None), show_all)
    sys.exit(1 if comparison.differs else 0)


@cli.command("stats")
@click.argument("refs", nargs=-1, required=True, metavar="GROUP|ID...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def stats_command(refs: tuple[str, ...], as_json: bool) -> None:
    """Per final metric over a group of runs (or the runs given): n, mean, std, min, max, 95% CI."""
    from repro_run.app.stats import stats
    from repro_run.ui import console as ui_console
    from repro_run.ui import stats as ui_stats

    result = stats(workspace(warn=True), refs)
    parts = (result.group, result.runs, result.seeds, result.metrics)
    if as_json:
        ui_console.print_json(ui_stats.stats_json(*parts))
    else:
        ui_console.echo("\n".join(ui_stats.stats_lines(*parts)))


@cli.command("report")
@click.argument("refs", nargs=-1, required=True, metavar="GROUP|ID...")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file to write.",
)
def report_command(refs: tuple[str, ...], output: Path) -> None:
    """Write one static, self-contained HTML report of a group of runs (or the runs given).

    The page needs no network to view. Reruns are not pooled with the runs they replay in the
    variance of the final metrics.
    """
    from repro_run.app.report import build_report
    from repro_run.core.errors import UsageError
    from repro_run.ui import console as ui_console
    from repro_run.ui import report_html

    data = build_report(workspace(warn=True), refs)
    page = report_html.render_report(
        data.records,
        data.statuses,
        data.reruns,
        data.comparisons,
        data.curves,
        data.stats,
        data.not_pooled,
    )
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write the report to {output}: {exc.strerror}; choose another -o FILE"
        ) from None
    ui_console.echo(f"repro: wrote {output} ({len(data.records)} run(s))")
