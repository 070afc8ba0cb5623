"""`repro run --repeat N [--seeds 0-4] [--same-seed]`: N runs of one command as one group.

Different seeds show seed variance; `--same-seed` repeats one seed, so what still varies is
the implementation's own noise (nondeterministic kernels, thread races). Each run goes through
`app.run` (one launch path) and records the group's ID; `repro stats GROUP` summarises them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from repro_run.app.progress import NullReporter, Reporter
from repro_run.app.run.plan import RunOptions
from repro_run.app.run.run import run
from repro_run.core.constants import GROUP_PREFIX
from repro_run.core.errors import UsageError
from repro_run.core.record import Record, replace
from repro_run.models import RunRecord


class RepeatResult(Record):
    group: str
    runs: tuple[RunRecord, ...]  # in launch order; fewer than asked when one was interrupted


def parse_seeds(text: str) -> tuple[int, ...]:
    """`0-4` -> 0..4; `1,5,9` -> those; ranges and single seeds mix (`0-2,7`)."""
    seeds: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, sep, high = part.partition("-")
            if sep and low:
                if int(high) < int(low):
                    raise ValueError(part)
                seeds += range(int(low), int(high) + 1)
            else:
                seeds.append(int(part))
    except ValueError:
        raise UsageError(f"--seeds {text!r}: expected seeds like 0-4 or 1,5,9") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UsageError(f"--seeds {text!r}: expected non-negative seeds like 0-4 or 1,5,9")
    return tuple(seeds)


def plan_seeds(
    repeat: int | None, seeds: str | None, same_seed: bool, seed: int | None
) -> tuple[int | None, ...]:
    """The seed of each run; None lets `app.run` pick it as usual (first run of --same-seed)."""
    if same_seed and seeds is not None:
        raise UsageError("--same-seed and --seeds cannot be combined: give the seed with --seed")
    listed = parse_seeds(seeds) if seeds is not None else None
    count = repeat if repeat is not None else len(listed or ())
    if listed is not None and repeat is not None and len(listed) != repeat:
        raise UsageError(f"--repeat {repeat} but --seeds gives {len(listed)} seeds")
    if count < 1:
        raise UsageError("--repeat needs at least 1 run")
    if listed is not None:
        return listed
    if same_seed:
        return (seed,) * count
    base = seed if seed is not None else 0
    return tuple(range(base, base + count))


def run_repeated(
    options: RunOptions,
    seeds: tuple[int | None, ...],
    reporter: Reporter | None = None,
    finished: Callable[[RunRecord], None] | None = None,
) -> RepeatResult:
    """Run `options` once per seed as one group; stops early when a run is interrupted.
    `finished` is told of each run as it ends."""
    reporter = reporter or NullReporter()
    group = GROUP_PREFIX + secrets.token_hex(5)
    runs: list[RunRecord] = []
    first_seed: int | None = None
    for index, seed in enumerate(seeds):
        chosen = seed if seed is not None else first_seed
        reporter.info(f"group {group}: run {index + 1} of {len(seeds)}")
        record = run(replace(options, seed=chosen, group=group), reporter)
        first_seed = record.determinism.seed if first_seed is None else first_seed
        runs.append(record)
        if finished is not None:
            finished(record)
        if record.process is None or record.process.stop_reason is not None:
            break
    return RepeatResult(group, tuple(runs))
