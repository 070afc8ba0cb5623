"""`repro run` and `repro rerun`: start a run, replay one and judge it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from click.decorators import FC

from repro_run.cli.group import cli, workspace
from repro_run.core.constants import DEFAULT_ATOL, DEFAULT_RTOL, VERDICT_EXIT_CODES


@cli.command(
    context_settings={"allow_interspersed_args": False},
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
@click.option(
    "--join",
    metavar="NAME",
    help="Record one run with every other `repro run --join NAME` started meanwhile "
    "(one part each); Slurm steps and torchrun rendezvous join by themselves.",
)
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
    join: str | None = None,
) -> None:
    """Run COMMAND (a `.py` file runs under this Python) and record it under a run ID.

    Options before the command are repro's; everything from the command on is passed to it
    unchanged. `--` ends repro's options. repro exits with the command's exit status.
    """
    from repro_run.app.run.plan import RunOptions
    from repro_run.cli import launch

    options = RunOptions(
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
        join=join,
    )
    launch.run_verb(options, repeat, seeds, same_seed)


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    # NaN passes FloatRange(min=0) (every comparison with it is false), and would pass any check.
    if value != value or value == float("inf"):
        raise click.BadParameter(f"{value!r} is not a finite number", ctx, param)
    return value


def _tolerance(name: str, default: float, kind: str) -> Callable[[FC], FC]:
    return click.option(
        name,
        type=click.FloatRange(min=0),
        callback=_finite,
        default=default,
        show_default=True,
        help=f"{kind} tolerance for metrics.",
    )


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
@_tolerance("--rtol", DEFAULT_RTOL, "Relative")
@_tolerance("--atol", DEFAULT_ATOL, "Absolute")
@click.option(
    "--secret-arg",
    "secret_args",
    multiple=True,
    metavar="NAME=ENV_VAR",
    help="Take the masked argument NAME (e.g. hub_token) from ENV_VAR (repeatable).",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="PATTERN",
    help="Do not compare output files matching PATTERN (gitignore-like: *.log, wandb/**); "
    "they are still archived (repeatable; adds to [tool.repro] ignore).",
)
@click.option(
    "--recreate-env",
    is_flag=True,
    help="Run in the run's recorded environment, rebuilt with uv (its Python, exact pins, "
    "recorded indexes) and cached; your own environment is not touched.",
)
@click.option(
    "--allow-partial-env",
    is_flag=True,
    help="With --recreate-env: rebuild without the packages that cannot be rebuilt (a local "
    "directory or file), reported as differences.",
)
@click.option(
    "--remote",
    metavar="URL",
    help="Where to pull the run from when this store lacks it (default: REPRO_REMOTE, else "
    "[tool.repro] remote).",
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
    ignore: tuple[str, ...],
    recreate_env: bool,
    allow_partial_env: bool,
    remote: str | None,
) -> None:
    """Replay run ID in a pristine worktree at its commit and judge the result.

    Exit codes: 0 IDENTICAL, 20 WITHIN TOLERANCE, 21 DIVERGED, 22 FAILED (with --times N, the
    worst of the N).
    """
    from repro_run.app.rerun.rerun import RerunOptions, rerun
    from repro_run.app.transfer.pull import pull_if_remote_only
    from repro_run.cli import launch
    from repro_run.ui import console as ui_console
    from repro_run.ui import data as ui_data
    from repro_run.ui import rerun as ui_rerun

    options = RerunOptions(
        ref=run_id,
        workspace=workspace(),
        times=times,
        keep_worktree=keep_worktree,
        allow_data_drift=allow_data_drift,
        data_remap=data_remap,
        strict=strict,
        rtol=rtol,
        atol=atol,
        secret_args=secret_args,
        ignore=ignore,
        recreate_env=recreate_env,
        allow_partial_env=allow_partial_env,
    )
    if allow_partial_env and not recreate_env:
        from repro_run.core.errors import UsageError

        raise UsageError("--allow-partial-env goes with --recreate-env")
    reporter = ui_data.DataReporter()
    pull_if_remote_only(options.workspace, run_id, remote, reporter)
    result = rerun(options, reporter)
    for record in result.reruns:
        reporter.info(ui_console.run_summary_line(record))
    last = result.reruns[-1]
    lines = ui_rerun.verdict_lines(result.original, last)
    if times > 1:
        spreads = [(s.metric, s.runs, s.minimum, s.maximum) for s in result.spreads]
        lines = ui_rerun.times_lines(result.original, result.reruns, spreads)
    ui_console.echo("\n".join(lines))
    process = last.process
    assert process is not None
    launch.die_like_an_interrupted_child(process.stop_reason)
    if last.verdict is None:  # terminated before a verdict: the child's own status
        sys.exit(process.exit_code)
    outcomes = [r.verdict.outcome for r in result.reruns if r.verdict is not None]
    sys.exit(max(VERDICT_EXIT_CODES[outcome] for outcome in outcomes))
