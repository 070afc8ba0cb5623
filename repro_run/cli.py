"""The click commands: each parses, calls one `app` function, renders with `ui`.

`entry.py` is the console script: it sends every command line here except a plain
`repro run COMMAND...`, and turns errors into messages and exit codes. `app` is imported
inside each command so `repro --help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from repro_run import __version__
from repro_run.constants import DEFAULT_ATOL, DEFAULT_RTOL, VERDICT_EXIT_CODES

STATUS_CHOICES = (
    "running",
    "succeeded",
    "failed",
    "interrupted",
    "terminated",
    "archive_failed",
    "crashed",
    "failed_to_start",
    "presumed dead",
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
    "--metrics-file",
    metavar="PATH",
    help="A metrics file the command writes (JSON, JSON lines or CSV), read after the run.",
)
@click.option(
    "--pty/--no-pty",
    "pty",
    default=None,
    help="Give the command a pseudo-terminal (default: when repro's output is a terminal).",
)
@click.option(
    "--deterministic/--no-deterministic",
    default=True,
    show_default=True,
    help="Set the frameworks' determinism switches (environment and hook).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    metavar="N",
    help="Fix every thread pool (OpenMP, MKL, OpenBLAS, torch, TF) at N threads.",
)
@click.option(
    "--no-auto-seed",
    "no_auto_seed",
    is_flag=True,
    help="Turn the seeding hook off: Python children are not seeded or observed.",
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
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    metavar="N",
    help="Start N runs as one group (seeds 0..N-1, or --seed S: S..S+N-1); see repro stats.",
)
@click.option("--seeds", metavar="LIST", help="Seeds of the repeated runs, e.g. 0-4 or 1,5,9.")
@click.option("--same-seed", is_flag=True, help="Repeat with one seed (implementation noise).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(
    seed: int | None,
    data: tuple[str, ...],
    outputs: tuple[str, ...],
    allow_dirty: bool,
    metrics_file: str | None,
    command: tuple[str, ...],
    pty: bool | None = None,
    deterministic: bool = True,
    threads: int | None = None,
    no_auto_seed: bool = False,
    no_auto_data: bool = False,
    skip_unreadable: bool = False,
    repeat: int | None = None,
    seeds: str | None = None,
    same_seed: bool = False,
) -> None:
    """Run COMMAND (a `.py` file runs under this Python) and record it under a run ID.

    Options before the command are repro's; everything from the command on is passed to it
    unchanged. `--` ends repro's options. repro exits with the command's exit status.
    """
    from repro_run import app, entry

    options = app.RunOptions(
        command=command,
        cwd=Path.cwd(),
        seed=seed,
        data=data,
        outputs=outputs,
        allow_dirty=allow_dirty,
        metrics_file=metrics_file,
        pty=pty,
        deterministic=deterministic,
        threads=threads,
        auto_seed=not no_auto_seed,
        auto_data=not no_auto_data,
        skip_unreadable=skip_unreadable,
    )
    entry.run_verb(options, repeat, seeds, same_seed)


@cli.command(short_help="Replay a run exactly, then say whether it reproduced and why not.")
@click.argument("run_id", metavar="ID")
@click.option(
    "--times",
    type=click.IntRange(min=1),
    default=1,
    metavar="N",
    help="Rerun N times under identical conditions; report the spread per metric.",
)
@click.option("--keep-worktree", is_flag=True, help="Keep the temporary worktree afterwards.")
@click.option(
    "--allow-data-drift", is_flag=True, help="Rerun even if recorded data changed (recorded)."
)
@click.option(
    "--data",
    "data_remap",
    multiple=True,
    metavar="OLD=NEW",
    help="Recorded data path OLD now lies at NEW (repeatable).",
)
@click.option("--strict", is_flag=True, help="Refuse if the environment differs from the record.")
@click.option(
    "--rtol",
    type=click.FloatRange(min=0),
    default=DEFAULT_RTOL,
    show_default=True,
    help="Relative tolerance for metrics.",
)
@click.option(
    "--atol",
    type=click.FloatRange(min=0),
    default=DEFAULT_ATOL,
    show_default=True,
    help="Absolute tolerance for metrics.",
)
@click.option(
    "--secret-arg",
    "secret_args",
    multiple=True,
    metavar="NAME=ENV_VAR",
    help="Take the masked argument NAME (e.g. hub_token) from ENV_VAR (repeatable).",
)
def rerun(
    run_id: str,
    times: int,
    keep_worktree: bool,
    allow_data_drift: bool,
    data_remap: tuple[str, ...],
    strict: bool,
    rtol: float,
    atol: float,
    secret_args: tuple[str, ...],
) -> None:
    """Replay run ID in a pristine worktree at its commit and judge the result.

    Exit codes: 0 IDENTICAL, 20 WITHIN TOLERANCE, 21 DIVERGED, 22 FAILED (with --times N, the
    worst of the N).
    """
    from repro_run import app, entry, ui, ui_data, ui_rerun

    options = app.RerunOptions(
        ref=run_id,
        cwd=Path.cwd(),
        times=times,
        keep_worktree=keep_worktree,
        allow_data_drift=allow_data_drift,
        data_remap=data_remap,
        strict=strict,
        rtol=rtol,
        atol=atol,
        secret_args=secret_args,
    )
    reporter = ui_data.DataReporter()
    result = app.rerun(options, reporter)
    for record in result.reruns:
        reporter.info(ui.run_summary_line(record))
    last = result.reruns[-1]
    lines = ui_rerun.verdict_lines(result.original, last)
    if times > 1:
        spreads = [(s.metric, s.runs, s.minimum, s.maximum) for s in result.spreads]
        lines = ui_rerun.times_lines(result.original, result.reruns, spreads)
    click.echo("\n".join(lines))
    process = last.process
    assert process is not None
    entry.die_like_an_interrupted_child(process.stop_reason)
    if last.verdict is None:  # terminated before a verdict: the child's own status
        sys.exit(process.exit_code)
    outcomes = [r.verdict.outcome for r in result.reruns if r.verdict is not None]
    sys.exit(max(VERDICT_EXIT_CODES[outcome] for outcome in outcomes))


@cli.command("list")
@click.option("--status", type=click.Choice(STATUS_CHOICES), help="Only runs with this status.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many runs (newest first).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(status: str | None, limit: int | None, as_json: bool) -> None:
    """List runs, newest first."""
    from repro_run import app, ui

    runs = app.list_runs(Path.cwd(), status=status, limit=limit)
    if as_json:
        ui.print_json(runs)
    else:
        ui.render_list(runs, ui.make_console())


@cli.command()
@click.argument("run_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the whole run record as JSON.")
def show(run_id: str, as_json: bool) -> None:
    """Show a run: any unique prefix of its ID, `latest` or `@` (newest), `@~N`."""
    from repro_run import app, ui

    record, status = app.show(Path.cwd(), run_id)
    reruns = app.reruns_of(Path.cwd(), record.id)
    if as_json:
        ui.print_json(ui.show_json(record, status, reruns))
    else:
        ui.render_show(record, status, ui.make_console(), reruns)


# Kept in step with comparison.SECTIONS by a test; not imported here so `repro run` stays fast.
DIFF_SECTIONS_HELP = (
    "Only these sections, comma-separated (repeatable), from: data, code, config, command, "
    "seed, packages, framework, gpu, determinism, env, system, metrics, outputs, resources."
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
    from repro_run import ui, ui_diff
    from repro_run.app.diff import diff
    from repro_run.comparison import SECTION_NAMES
    from repro_run.errors import UsageError

    wanted = [name.strip() for value in sections for name in value.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in SECTION_NAMES]
    if unknown:
        raise UsageError(
            f"unknown section {', '.join(map(repr, unknown))}: choose from {', '.join(SECTION_NAMES)}"
        )
    comparison = diff(Path.cwd(), ref_a, ref_b, sections=tuple(wanted) or None)
    if as_json:
        ui.print_json(ui_diff.diff_json(comparison, show_all))
    else:
        ui_diff.render_diff(comparison, ui_diff.make_console(), show_all)
    sys.exit(1 if comparison.differs else 0)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def fsck(as_json: bool) -> None:
    """Verify objects and records, remove temp files, rebuild the index (safe to repeat)."""
    from repro_run import ui
    from repro_run.app import maintenance
    from repro_run.errors import StoreDamagedError

    report = maintenance.fsck(Path.cwd())
    if as_json:
        ui.print_json(report)
    else:
        click.echo("\n".join(ui.fsck_lines(report)))
    if not report.ok:
        raise StoreDamagedError(
            f"the store has {len(report.damage)} problems fsck cannot repair (listed above)"
        )


@cli.command()
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Keep unreferenced objects younger than this (default 3600: a run may be archiving).",
)
def gc(dry_run: bool, grace: float | None) -> None:
    """Remove objects that no run references."""
    from repro_run import ui
    from repro_run.app import maintenance

    options = {} if grace is None else {"grace": grace}
    report = maintenance.gc(Path.cwd(), dry_run=dry_run, **options)
    click.echo("\n".join(ui.gc_lines(report)))


@cli.command()
@click.argument("run_id", metavar="ID")
@click.option("--plain", is_flag=True, help="Final state of each line: replay \\r, drop escapes.")
def log(run_id: str, plain: bool) -> None:
    """Print a run's stored output (secret values masked)."""
    from repro_run.app import logview

    data = logview.read_log(Path.cwd(), run_id)
    sys.stdout.buffer.write(logview.plain(data) if plain else data)
    sys.stdout.buffer.flush()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 when there is any finding.")
def doctor(as_json: bool, strict: bool) -> None:
    """Audit this project and machine for what makes runs irreproducible, with fixes."""
    from repro_run import app, ui, ui_doctor
    from repro_run.errors import FindingsError

    report = app.doctor(Path.cwd())
    if as_json:
        ui.print_json(report)
    else:
        ui_doctor.render_doctor(report, ui.make_console())
    if strict and report.findings:
        raise FindingsError(f"{len(report.findings)} findings (--strict)")


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
    from repro_run import app, ui_data

    reports = app.fingerprint_paths(
        paths,
        Path.cwd(),
        skip_unreadable=skip_unreadable,
        use_cache=not no_cache,
        with_entries=as_json,
        reporter=ui_data.DataReporter(progress=not as_json),
    )
    if as_json:
        ui_data.fingerprints_json(reports)
    else:
        ui_data.render_fingerprints(reports)


@cli.command("export")
@click.argument("run_id", metavar="ID")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Bundle file to write.")
@click.option("--with-outputs", is_flag=True, help="Include the archived output files.")
@click.option(
    "--with-data", is_flag=True, help="Include the run's data files (checked unchanged first)."
)
@click.option("--allow-secrets", is_flag=True, help="Export even if something looks secret.")
def export_command(
    run_id: str, output: Path | None, with_outputs: bool, with_data: bool, allow_secrets: bool
) -> None:
    """Write run ID, its code (no history) and its objects into one shareable bundle file."""
    from repro_run.app.export import export_run

    result = export_run(
        Path.cwd(),
        run_id,
        output,
        with_outputs=with_outputs,
        with_data=with_data,
        allow_secrets=allow_secrets,
    )
    for finding in result.findings:
        click.echo(f"repro: warning: exported despite a secret finding: {finding}", err=True)
    if result.unscanned:
        click.echo(
            f"repro: note: {result.unscanned} binary file(s) could not be scanned for secrets "
            "(a NUL byte in their first 8000 bytes)",
            err=True,
        )
    data = f", {result.data_files} data files" if with_data else ""
    click.echo(
        f"repro: exported run {result.run_id} to {result.path} "
        f"({result.size} bytes, {result.objects} objects{data})"
    )


@cli.command("import")
@click.argument("bundle", type=click.Path(path_type=Path))
def import_command(bundle: Path) -> None:
    """Add the run in BUNDLE (from `repro export`) to this store; safe to repeat."""
    from repro_run.app.bundle_import import import_bundle

    result = import_bundle(Path.cwd(), bundle)
    if result.already_present:
        restored = "; its commit was restored in this repository" if result.code_added else ""
        click.echo(
            f"repro: run {result.run_id} is already in this store{restored or ': nothing changed'}"
        )
        return
    code = "; its commit was added to this repository" if result.code_added else ""
    click.echo(
        f"repro: imported run {result.run_id} ({result.objects} objects{code}) — "
        f"rerun it: repro rerun {result.run_id}"
    )


@cli.command("stats")
@click.argument("refs", nargs=-1, required=True, metavar="GROUP|ID...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def stats_command(refs: tuple[str, ...], as_json: bool) -> None:
    """Per final metric over a group of runs (or the runs given): n, mean, std, min, max, 95% CI."""
    from repro_run import ui, ui_stats
    from repro_run.app.stats import stats

    result = stats(Path.cwd(), refs)
    parts = (result.group, result.runs, result.seeds, result.metrics)
    if as_json:
        ui.print_json(ui_stats.stats_json(*parts))
    else:
        click.echo("\n".join(ui_stats.stats_lines(*parts)))


@cli.command("report")
@click.argument("refs", nargs=-1, required=True, metavar="ID...")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file to write.",
)
def report_command(refs: tuple[str, ...], output: Path) -> None:
    """Write one static, self-contained HTML report of the runs (no network needed to view it)."""
    from repro_run import report_html
    from repro_run.app.report import build_report

    data = build_report(Path.cwd(), refs)
    page = report_html.render_report(
        data.records, data.statuses, data.reruns, data.comparisons, data.curves, data.stats
    )
    output.write_text(page, encoding="utf-8")
    click.echo(f"repro: wrote {output} ({len(data.records)} run(s))")


def run_click(args: Sequence[str]) -> None:
    """Parse `args` with click and run the command; click's errors become exit statuses."""
    try:
        cli.main(args=list(args), prog_name="repro", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        raise KeyboardInterrupt from exc  # one message for every Ctrl-C (entry.py)
