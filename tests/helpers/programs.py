"""The run-then-rerun the program tests share: `repro run` of a real program, `repro rerun` of
it, and what a true verdict says (tests/programs/: programs written as their users write them)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import NamedTuple

from helpers.cli import repro

# What a verdict says when it blames something: a ranked cause, or the program itself.
BLAME = ("likely causes", "nondeterministic")
NONDETERMINISTIC = "Nothing differs between the two records: the program is nondeterministic"


class Rerun(NamedTuple):
    out: str  # the rerun's stdout and stderr: the program's own output, then the verdict
    code: int


def run_then_rerun(root: Path, *run_args: str, exit: int = 0, pause: float = 0) -> Rerun:
    """`repro run RUN_ARGS` in `root` (it must exit `exit`), then `repro rerun @`. `pause`:
    seconds between them, for writers that name folders or stamp dates to the second."""
    done = repro(root, "run", *run_args, timeout=240)
    assert done.returncode == exit, done.stdout + done.stderr
    time.sleep(pause)
    rerun = repro(root, "rerun", "@", timeout=240)
    return Rerun(rerun.stdout + rerun.stderr, rerun.returncode)


def verdict_of(rerun: Rerun) -> str:
    """The verdict's screen: from its first line (after the program's own output) on."""
    found = re.search(r"^(IDENTICAL|WITHIN TOLERANCE|DIVERGED|FAILED): ", rerun.out, re.M)
    assert found is not None, rerun.out
    return rerun.out[found.start() :]


def assert_identical(rerun: Rerun) -> str:
    """The rerun reproduced the run, and the verdict blames nothing; returns the verdict."""
    verdict = verdict_of(rerun)
    assert rerun.code == 0 and verdict.startswith("IDENTICAL: "), rerun.out
    assert not any(word in verdict for word in BLAME), verdict
    return verdict


def assert_diverged(rerun: Rerun) -> str:
    """The rerun did not reproduce the run, and the verdict blames the program (the records
    of run and rerun are the same: only the program's own nondeterminism differs); returns
    the verdict."""
    verdict = verdict_of(rerun)
    assert rerun.code == 21 and verdict.startswith("DIVERGED: "), rerun.out
    assert NONDETERMINISTIC in verdict and "likely causes" not in verdict, verdict
    return verdict


# Seeds itself from REPRO_SEED (what repro injects), so a rerun of it is bitwise identical.
SEEDED_TRAIN = """\
import os, random
import repro_run
rng = random.Random(int(os.environ["REPRO_SEED"]))
os.makedirs("out", exist_ok=True)
weights = [rng.random() for _ in range(8)]
with open("out/model.txt", "w") as f:
    f.write(repr(weights))
for step in range(5):
    repro_run.log_metrics(step=step, loss=sum(weights) / (step + 1))
print("trained", round(sum(weights), 6))
"""
