"""What `repro rerun` fixes for the run it launches through `app.run` (one launch path)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from repro_run.core.record import Record
from repro_run.models import RerunInfo, TreeRef


class Replay(Record):
    of: str  # the ID of the run being replayed: the new record's `rerun_of`
    store_dir: Path  # the user's store: the worktree has none of its own
    environ: Mapping[str, str]  # the child's base environment: recorded values replayed
    python: str  # the interpreter that runs a `.py` command
    data: tuple[TreeRef, ...]  # fingerprinted before launch, where the worktree links to
    info: RerunInfo
    secrets: tuple[str, ...] = ()  # values given with --secret-arg: never stored, as at first
    # The value the original run had, repro's or the user's (who set it is replayed with the
    # environment); None: it had none (a record of repro < 16), and the rerun sets none.
    source_date_epoch: str | None = None
