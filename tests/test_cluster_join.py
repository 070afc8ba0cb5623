"""Which supervisors record one run together: the group key read from Slurm's environment and
torchrun's arguments (capture/cluster.py, pure)."""

from __future__ import annotations

import pytest

from repro_run.capture.cluster import joined_part, may_start_ranks

STEP = {"SLURM_JOB_ID": "12", "SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "4"}
AGENT = ["torchrun", "--nnodes=2", "--rdzv_id", "x", "--rdzv-endpoint", "h:29500", "train.py"]


def test_tasks_of_one_step_share_a_key_and_differ_by_task() -> None:
    first = joined_part(["train.py"], {**STEP, "SLURM_PROCID": "0"}, "n1")
    second = joined_part(["train.py"], {**STEP, "SLURM_PROCID": "3"}, "n2")
    assert first is not None and second is not None
    assert first.key == second.key
    assert (first.part.name, second.part.name) == ("n1-0", "n2-3")
    assert first.part.expected == 4


def test_a_one_task_step_records_a_run_alone() -> None:
    assert joined_part(["train.py"], {**STEP, "SLURM_STEP_NUM_TASKS": "1"}, "n1") is None


def test_torchrun_agents_of_one_rendezvous_share_a_key() -> None:
    joined = joined_part(AGENT, {}, "n1")
    assert joined is not None
    assert joined.key == "torchrun:x@h:29500"
    assert (joined.part.nodes, joined.part.expected) == (2, 2)


def test_a_one_node_torchrun_records_a_run_alone() -> None:
    assert joined_part(["torchrun", "--nnodes", "1", "train.py"], {}, "n1") is None


def test_the_scripts_own_arguments_are_not_read_as_torchruns() -> None:
    argv = ["torchrun", "--nproc-per-node", "2", "train.py", "--nnodes", "2"]
    assert joined_part(argv, {}, "n1") is None


@pytest.mark.parametrize(
    ("argv", "environ", "starts"),
    [
        (["/v/bin/torchrun", "--nproc-per-node", "4", "train.py"], {}, True),
        (["python", "-m", "torch.distributed.run", "train.py"], {}, True),
        (["srun", "python", "train.py"], {}, True),
        (["deepspeed", "train.py"], {}, True),
        (["python", "train.py"], {"SLURM_JOB_ID": "12"}, True),  # inside an allocation
        (["python", "train.py"], {"RANK": "3"}, True),  # repro in a rank
        (["python", "train.py"], {}, False),
        (["python", "train.py", "--out", "srun.log"], {}, False),
    ],
)
def test_a_command_may_start_ranks_by_its_launcher_or_its_slurm_job(
    argv: list[str], environ: dict[str, str], starts: bool
) -> None:
    assert may_start_ranks(argv, environ) is starts
