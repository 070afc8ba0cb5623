"""What `repro run` decides before the command starts: the options it was given, the plan
preflight builds from them (every refusal happens while building it), and the launch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from repro_run.app.datasets import DataSource
from repro_run.app.run.written import BeforeRun
from repro_run.capture import config as config_capture
from repro_run.capture import git
from repro_run.capture.cluster import Joined
from repro_run.core.record import Record
from repro_run.execute import ResolvedCommand
from repro_run.models import Determinism, TreeStatus

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:  # only `repro rerun` builds one
    from repro_run.app.rerun.replay import Replay


class RunOptions(Record):
    command: tuple[str, ...]
    cwd: Path
    seed: int | None = None
    data: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    allow_dirty: bool = False
    pty: bool | None = None  # None: a pseudo-terminal when repro's own output is a terminal
    metrics_file: str | None = None  # a metrics file the command writes (relative to cwd)
    replay: Replay | None = None  # set by `repro rerun`: what the replayed run must reuse
    deterministic: bool = True  # --deterministic / --no-deterministic
    threads: int | None = None  # --threads N
    auto_seed: bool = True  # the seeding hook (--no-auto-seed turns it off)
    auto_data: bool = True  # also fingerprint untracked paths the arguments and configs name
    skip_unreadable: bool = False  # record unreadable data files instead of refusing
    group: str | None = None  # `repro run --repeat`: the group the run belongs to (issue 8)
    join: str | None = None  # `--join NAME`: record one run with the others given NAME
    # The run's git calls, already started (by cli/main.py); None: preflight starts them.
    git_query: git.WorkTreeQuery | None = None


class Plan(Record):
    """Everything decided before anything is written: each refusal happens while building it."""

    joined: Joined | None  # one of several supervisors recording one run: its group and part
    options: RunOptions
    root: Path
    cwd: Path
    status: TreeStatus
    command: ResolvedCommand
    configs: tuple[config_capture.ParsedConfig, ...]
    data_paths: tuple[DataSource, ...]
    output_paths: tuple[Path, ...]
    seed: int
    seed_source: str
    interpreter: str
    secrets: tuple[str, ...]  # values that must never reach disk: masked in argv and the log
    source_date_epoch: str | None  # the commit's committer time (a rerun: the recorded value)
    environ: Mapping[str, str]  # the environment the child's is built from
    git_query: git.WorkTreeQuery  # describe and remotes, asked with the dirty check
    store_dir: Path  # REPRO_HOME, <root>/.repro, or the rerun's store


class Launch(Record):
    """What is fixed before the child starts."""

    run_id: str
    env: dict[str, str]
    determinism: Determinism
    patch_object: str | None
    started: str
    before: BeforeRun  # the output paths' and metrics file's stat keys, just before launch
