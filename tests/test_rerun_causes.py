"""The causes a rerun's verdict ranks: only what differs between the records and could matter."""

from __future__ import annotations

from cli_helpers import record_of, repro
from conftest import MakeRepo

# The same curve for two steps, then an RNG nobody seeds: DIVERGED on every rerun.
UNSEEDED = """\
import random
import repro_run
rng = random.Random()
for step in range(1, 4):
    repro_run.log_metrics(step=step, value=float(step) if step < 2 else rng.random())
"""


def test_a_slurm_variable_the_rerun_does_not_replay_is_never_a_cause(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"noisy.py": UNSEEDED})
    env = {"SLURM_JOB_ID": "1001", "SLURM_NTASKS": "1"}
    assert repro(root, "run", "noisy.py", env=env).returncode == 0
    done = repro(root, "rerun", "@", env={"SLURM_JOB_ID": "2002"})
    assert done.returncode == 21, done.stderr
    assert record_of(root)["env"]["values"]["SLURM_JOB_ID"] == "2002"  # a real difference
    assert record_of(root)["verdict"]["causes"] == []
    assert "SLURM" not in done.stdout
