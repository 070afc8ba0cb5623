"""Runs on a cluster: a real one-host Slurm (tests/helpers/slurm.py) and multi-node torchrun."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers.cli import REPRO, record_of, run_dirs
from helpers.repos import MakeRepo
from helpers.slurm import SlurmCluster

pytestmark = pytest.mark.slow  # a Slurm job step takes a second or more to start and end


def srun(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`srun ARGS...` in `cwd` (the tasks start there, with this environment)."""
    return subprocess.run(
        ["srun", *args], cwd=cwd, env=os.environ, capture_output=True, text=True, timeout=timeout
    )


def test_slurm_cluster_runs_a_two_task_step(slurm: SlurmCluster) -> None:
    done = slurm.run("srun", "-n", "2", "hostname")
    assert done.stdout.split() == [slurm.node, slurm.node]


def test_srun_two_tasks_record_one_run_with_two_parts(
    slurm: SlurmCluster, make_repo: MakeRepo
) -> None:
    root = make_repo({"train.py": "import os\nprint('task', os.environ['SLURM_PROCID'])\n"})
    done = srun(root, "-n", "2", REPRO, "run", "train.py")
    assert done.returncode == 0, done.stderr
    runs = run_dirs(root)
    assert len(runs) == 1
    record = record_of(root)
    assert record["status"] == "succeeded"
    assert [(p["name"], p["status"], p["task"]) for p in record["parts"]] == [
        (f"{slurm.node}-0", "succeeded", 0),
        (f"{slurm.node}-1", "succeeded", 1),
    ]
    for task in (0, 1):
        log = runs[0] / "parts" / f"{slurm.node}-{task}" / "output.log"
        assert log.read_text() == f"task {task}\n"
