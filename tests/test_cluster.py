"""Runs on a cluster: a real one-host Slurm (tests/helpers/slurm.py) and multi-node torchrun."""

from __future__ import annotations

import pytest
from helpers.slurm import SlurmCluster

pytestmark = pytest.mark.slow  # a Slurm job step takes a second or more to start and end


def test_slurm_cluster_runs_a_two_task_step(slurm: SlurmCluster) -> None:
    done = slurm.run("srun", "-n", "2", "hostname")
    assert done.stdout.split() == [slurm.node, slurm.node]
