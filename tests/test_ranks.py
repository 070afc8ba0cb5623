"""Every rank of a distributed run recorded: where it ran, on which GPU, how it ended; the
nodes side by side in `repro show`, their differences among `repro diff`'s and the rerun's
likely causes and in `repro doctor`; ranks that left no facts listed with the reason.

Ranks are real processes with the real hook, started by a launcher as torchrun starts them
(tests/helpers/ranks.py); test_ranks_torchrun.py runs torchrun itself. There is no GPU here:
each node's GPU comes from a fake NVML (the one allowed fake, at the NVML boundary).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import record_of, repro, run_dirs
from helpers.ranks import FILES, spec
from helpers.repos import MakeRepo, git

from repro_run.app.rerun.causes import likely_causes
from repro_run.store import Store

A100 = {"FAKE_NVML_GPU": "NVIDIA A100-SXM4-80GB", "FAKE_NVML_SMS": "108"}
H100 = {"FAKE_NVML_GPU": "NVIDIA H100 80GB HBM3", "FAKE_NVML_SMS": "132"}


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo(FILES)


def launch(project: Path, argument: str, env: dict[str, str] | None = None) -> str:
    done = repro(project, "run", "--", "python", "launch.py", argument, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return str(record_of(project)["id"])


def ranks_of(project: Path) -> dict[str, dict[str, Any]]:
    processes = record_of(project)["facts"]["processes"]
    return {p["rank"]: p for p in processes if p["rank"] is not None}


def test_each_rank_records_its_host_commit_packages_and_launch_variables(project: Path) -> None:
    launch(project, spec([{"NCCL_ALGO": "Ring"}]))
    ranks = ranks_of(project)
    assert set(ranks) == {"0", "1"}
    head = git(project, "rev-parse", "HEAD").strip()
    for rank, p in ranks.items():
        assert p["hostname"] == os.uname().nodename and p["commit"] == head
        env = p["launch_env"]
        assert isinstance(env, dict)
        expected = {"NCCL_ALGO": "Ring", "RANK": rank, "LOCAL_RANK": rank, "WORLD_SIZE": "2"}
        assert expected.items() <= env.items() and env["GROUP_RANK"] == "0"
        assert p["event"] == "exit" and p["exit_code"] == 0
        assert isinstance(p["started"], float) and p["ended"] >= p["started"]
    assert ranks["0"]["packages_digest"] == ranks["1"]["packages_digest"] is not None


def test_a_command_that_launches_no_ranks_is_handed_no_package_digest(project: Path) -> None:
    """Listing the site directories costs repro ~0.4 ms at launch: only for a command that
    may start ranks (tests/test_ranks_torchrun.py has torchrun's)."""
    done = repro(project, "run", "--", sys.executable, "-c", "pass")
    assert done.returncode == 0, done.stderr
    assert "REPRO_PACKAGES_DIGEST" not in record_of(project)["determinism"]["injected"]


def test_a_rank_records_the_gpu_nvml_gives_and_its_exit_status(project: Path) -> None:
    launch(project, spec([A100], rank_env={1: {"RANK_EXIT": "3"}}))
    ranks = ranks_of(project)
    assert ranks["1"]["exit_code"] == 3 and ranks["0"]["exit_code"] == 0
    facts = ranks["0"]["facts"]
    assert isinstance(facts, dict)
    assert facts["gpu.name"] == "NVIDIA A100-SXM4-80GB" and facts["gpu.sm_count"] == 108
    assert facts["gpu.driver"] == "550.54.15" and facts["gpu.mig_mode"] == "disabled"


def test_show_has_a_row_per_node_with_its_ranks_gpu_and_exit(project: Path) -> None:
    launch(project, spec([A100, A100]))
    shown = repro(project, "show", "@").stdout
    host = os.uname().nodename
    rows = [line.split() for line in shown.splitlines() if line.strip().startswith(host)]
    assert [row[:4] for row in rows] == [[host, "(node", "0)", "0-1"], [host, "(node", "1)", "2-3"]]
    assert all("NVIDIA A100-SXM4-80GB (108 SMs)" in " ".join(row) for row in rows)
    assert "2 node(s), 4 rank(s) with facts; world size 4" in shown
    assert "differs between nodes" not in shown and "! " not in shown.split("Nodes")[1]


def test_a_node_with_another_gpu_is_marked_in_show(project: Path) -> None:
    launch(project, spec([A100, H100]))
    shown = repro(project, "show", "@").stdout
    assert "! NVIDIA H100 80GB HBM3 (132 SMs)" in shown
    assert "! NVIDIA A100-SXM4-80GB (108 SMs)" in shown
    assert "! differs between nodes: GPUs" in shown
    assert record_of(project)["nodes"]["differing"] == ["gpus"]


@pytest.mark.slow
def test_diff_names_the_gpu_model_that_differs_between_nodes(project: Path) -> None:
    same = launch(project, spec([A100, A100]))
    mixed = launch(project, spec([A100, H100]))
    done = repro(project, "diff", "--json", same, mixed)
    assert done.returncode == 1, done.stderr
    (nodes,) = [s for s in json.loads(done.stdout)["sections"] if s["name"] == "nodes"]
    assert nodes["summary"] == "GPU model/SM count differs between nodes (in B)"
    shown = repro(project, "diff", same, mixed).stdout
    assert "~ GPU model/SM count" in shown and "→ differs between nodes:" in shown


@pytest.mark.slow
def test_the_rerun_causes_rank_gpu_driver_world_size_and_nccl_algo(project: Path) -> None:
    first = launch(project, spec([A100, A100], 1), {"NCCL_ALGO": "Ring"})
    driver = {**H100, "FAKE_NVML_DRIVER": "535.104.05"}
    second = launch(project, spec([A100, driver, A100]), {"NCCL_ALGO": "Tree"})
    store = Store(project / ".repro")
    original, rerun = (store.load_record(i) for i in (first, second))
    causes = likely_causes(store, original, rerun, project)
    (nodes,) = [c for c in causes if c.startswith("nodes:")]
    assert "world size differs: 2 → 6" in nodes and "shape differs" in nodes
    assert "GPU model/SM count differs between nodes (in B)" in nodes
    assert "driver differs between nodes (in B)" in nodes
    assert "NCCL_ALGO differs: Ring → Tree" in nodes


def test_a_killed_rank_and_a_rank_without_facts_are_listed_missing(project: Path) -> None:
    launch(project, spec([{}], 2, world=3, rank_env={1: {"RANK_ACTION": "kill"}}))
    ranks = ranks_of(project)
    assert ranks["1"]["event"] == "started" and ranks["1"]["ended"] is None
    shown = repro(project, "show", "@").stdout
    host = os.uname().nodename
    assert f"! missing rank 1 on {host}: no exit facts: it started but never exited" in shown
    assert (
        "! missing rank 2: wrote no facts: the world size is 3, yet no file holds rank 2" in shown
    )
    missing = record_of(project)["nodes"]["missing"]
    assert [m["rank"] for m in missing] == ["1", "2"]


def test_doctor_reports_the_nodes_of_the_latest_distributed_run_that_differ(
    project: Path,
) -> None:
    run_id = launch(project, spec([A100, H100]))
    done = repro(project, "doctor")
    assert f"nodes of run {run_id}: 2 node(s), 4 rank(s)" in done.stdout
    assert f"the nodes of run {run_id} differ" in done.stdout
    assert "NVIDIA H100 80GB HBM3 (132 SMs)" in done.stdout


def test_a_launch_variable_holding_a_secret_never_reaches_the_disk(project: Path) -> None:
    secrets = {
        "SLURM_JOB_COMMENT": '{"api_key": "hunter2-but-longer"}',
        "NCCL_DEBUG_SUBSYS": "ghp_0123456789abcdefghijklmnopqrstuv",
        "SLURM_JOB_NAME": "xoxb-1234567890-abcdefghij",
    }
    launch(project, spec([secrets]))
    for p in ranks_of(project).values():
        env = p["launch_env"]
        assert isinstance(env, dict)
        assert all(env[name] is None for name in secrets)
    (run_dir,) = run_dirs(project)
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(value.encode() in data for value in secrets.values()), path
