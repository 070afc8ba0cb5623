"""torch's TensorBoard SummaryWriter, run and rerun through repro: with its defaults it writes
`runs/<Mon><DD>_<HH-MM-SS>_<host>/`, its event file's name carries the time, host and pid, and
every record a wall time, so the names and bytes of two identical runs differ and only the
scalars (by tag and step) may be compared; a logged value that really changed must still fail
the rerun."""

from __future__ import annotations

import re
import sys

import pytest
from helpers.programs import Rerun, assert_diverged, assert_identical, run_then_rerun
from helpers.repos import MakeRepo

LOG = """\
import os, sys
from torch.utils.tensorboard import SummaryWriter
writer = SummaryWriter()
for step in range(5):
    writer.add_scalar("loss", 1.0 / (step + 1), step)
noise = int.from_bytes(os.urandom(8), "big") / 2**64  # unseeded
last = 0.25 if sys.argv[1] == "fixed" else noise
writer.add_scalar("accuracy", last, 5)
writer.close()
"""
pytestmark = pytest.mark.slow  # two torch imports and a rerun each: ~10 s
# The rerun's names: the start time and host; the time, host, pid and a counter.
EVENTS = r"runs/\w+_\d\d-\d\d-\d\d_[\w.-]+/events\.out\.tfevents\.[\w.-]+"


def run_and_rerun(make_repo: MakeRepo, variant: str) -> Rerun:
    root = make_repo({"log.py": LOG, ".gitignore": "runs/\n"})
    # The folder is named to the second: the rerun's must be another.
    command = ("--outputs", "runs", "--", sys.executable, "log.py", variant)
    return run_then_rerun(root, *command, pause=1.1)


def test_the_same_scalars_rerun_identical_but_for_their_wall_times(make_repo: MakeRepo) -> None:
    out = assert_identical(run_and_rerun(make_repo, "fixed"))
    assert re.search(f"{EVENTS}: equal but for its wall times\n", out), out
    assert re.search(f"{EVENTS} ↔ {EVENTS}\n", out), out  # folder and file paired
    assert "1 output file(s) and 6 metric value(s) equal" in out  # its scalars are the metrics


def test_a_logged_scalar_that_changes_diverges_naming_the_event_file(make_repo: MakeRepo) -> None:
    out = assert_diverged(run_and_rerun(make_repo, "random"))
    assert "the accuracy curves part at step 5" in out
    assert re.search(f"~ {EVENTS}\n", out), out
