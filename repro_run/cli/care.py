"""Commands that check and keep a project and its store: `doctor`, `fingerprint`, `fsck`, `gc`,
and moving runs between stores: `export`, `import`."""

from __future__ import annotations

from pathlib import Path

import click

from repro_run.cli.group import cli, workspace
from repro_run.core.humanize import count


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 when there is any finding.")
def doctor(as_json: bool, strict: bool) -> None:
    """Audit this project and machine for what makes runs irreproducible, with fixes."""
    from repro_run.app.doctor import doctor
    from repro_run.core.errors import FindingsError
    from repro_run.ui import console as ui_console
    from repro_run.ui import doctor as ui_doctor

    report = doctor(workspace(warn=True))
    if as_json:
        ui_console.print_json(report)
    else:
        ui_doctor.render_doctor(report, ui_console.make_console())
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
    from repro_run.app.datasets import fingerprint_paths
    from repro_run.ui import data as ui_data

    reports = fingerprint_paths(
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


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def fsck(as_json: bool) -> None:
    """Verify objects and records, remove temp files, rebuild the index (safe to repeat)."""
    from repro_run.app import maintenance
    from repro_run.core.errors import StoreDamagedError
    from repro_run.ui import console as ui_console
    from repro_run.ui import runs as ui_runs

    report = maintenance.fsck(workspace())
    if as_json:
        ui_console.print_json(report)
    else:
        ui_console.echo("\n".join(ui_runs.fsck_lines(report)))
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
    help="Keep unreferenced objects younger than this (default 3600: a run may be archiving); "
    "with --envs, environments a rerun used within this (default 604800: a week).",
)
@click.option(
    "--envs",
    is_flag=True,
    help="Instead: remove the environments `rerun --recreate-env` built (user cache) that no "
    "rerun is using or used within --grace; the next one rebuilds what it needs.",
)
def gc(dry_run: bool, grace: float | None, envs: bool) -> None:
    """Remove objects that no run references."""
    from repro_run.app import maintenance
    from repro_run.ui import console as ui_console
    from repro_run.ui import runs as ui_runs

    if envs:
        from repro_run.app.env.cache import remove_unused
        from repro_run.core.constants import GC_ENVS_GRACE_S

        keep = GC_ENVS_GRACE_S if grace is None else grace
        removed = remove_unused(grace=keep, dry_run=dry_run)
        ui_console.echo("\n".join(ui_runs.gc_envs_lines(removed)))
        return

    options = {} if grace is None else {"grace": grace}
    report = maintenance.gc(workspace(), dry_run=dry_run, **options)
    ui_console.echo("\n".join(ui_runs.gc_lines(report)))


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
    from repro_run.app.transfer.export import export_run
    from repro_run.ui import console as ui_console

    result = export_run(
        workspace(),
        run_id,
        output,
        with_outputs=with_outputs,
        with_data=with_data,
        allow_secrets=allow_secrets,
    )
    for finding in result.findings:
        ui_console.echo(f"repro: warning: exported despite a secret finding: {finding}", err=True)
    if result.unscanned:
        ui_console.echo(
            f"repro: note: {count(result.unscanned, 'binary file')} could not be scanned for secrets "
            "(a NUL byte in their first 8000 bytes)",
            err=True,
        )
    data = f", {count(result.data_files, 'data file')}" if with_data else ""
    ui_console.echo(
        f"repro: exported run {result.run_id} to {result.path} "
        f"({count(result.size, 'byte')}, {count(result.objects, 'object')}{data})"
    )


@cli.command("import")
@click.argument("bundle", type=click.Path(path_type=Path))
def import_command(bundle: Path) -> None:
    """Add the run in BUNDLE (from `repro export`) to this store; safe to repeat."""
    from repro_run.app.transfer.import_bundle import import_bundle
    from repro_run.ui import console as ui_console

    result = import_bundle(workspace(), bundle)
    if result.already_present:
        restored = "; its commit was restored in this repository" if result.code_added else ""
        ui_console.echo(
            f"repro: run {result.run_id} is already in this store{restored or ': nothing changed'}"
        )
        return
    code = "; its commit was added to this repository" if result.code_added else ""
    ui_console.echo(
        f"repro: imported run {result.run_id} ({result.objects} objects{code}) — "
        f"rerun it: repro rerun {result.run_id}"
    )
