"""Real torchrun under one `repro run` (one supervisor): every rank's facts in the record and
the node table, for one node and for two torchrun agents meeting at a c10d rendezvous on this
host, with the gloo backend on CPU, as PyTorch's own launcher tests do.

There is no GPU here: each agent's ranks get their GPU from a fake NVML (FAKE_PYNVML, on their
PYTHONPATH), the one place a fake is allowed.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.ranks import FAKE_PYNVML
from helpers.repos import MakeRepo, git

pytestmark = pytest.mark.slow

TORCHRUN = str(Path(sys.executable).with_name("torchrun"))
DDP = """\
import os
import torch
import torch.distributed as dist
if os.environ.get("FAKE_NVML_GPU"):
    import pynvml  # a GPU monitor loads NVML (the fake one: no GPU here)
    pynvml.nvmlInit()
dist.init_process_group("gloo")
x = torch.ones(2)
dist.all_reduce(x)
dist.destroy_process_group()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_every_rank_of_a_single_node_torchrun_is_in_the_record_and_node_table(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"ddp.py": DDP})
    argv = ("--", TORCHRUN, "--standalone", "--nproc-per-node", "2", "ddp.py")
    done = repro(root, "run", *argv, env={"NCCL_ALGO": "Ring"}, timeout=300)
    assert done.returncode == 0, done.stderr
    record = record_of(root)
    ranks = {p["rank"]: p for p in record["facts"]["processes"] if p["rank"] is not None}
    assert set(ranks) == {"0", "1"}
    head = git(root, "rev-parse", "HEAD").strip()
    for p in ranks.values():
        assert p["hostname"] == os.uname().nodename and p["commit"] == head
        assert p["launch_env"]["NCCL_ALGO"] == "Ring" and p["launch_env"]["GROUP_RANK"] == "0"
        assert "TORCHELASTIC_RUN_ID" in p["launch_env"] and p["event"] == "exit"
    (node,) = record["nodes"]["nodes"]
    assert node["node"] == os.uname().nodename and node["ranks"] == ["0", "1"]
    assert node["cells"]["commit"] == head[:12] and record["nodes"]["missing"] == []
    shown = repro(root, "show", "@").stdout
    assert "1 node(s), 2 rank(s) with facts; world size 2" in shown


def test_torchruns_ranks_take_the_package_digest_repro_hands_them(make_repo: MakeRepo) -> None:
    """repro lists its site directories once; each rank of its Python checks their stamp and
    takes the digest (tests/test_hook.py shows it is taken, not listed again)."""
    root = make_repo({"ddp.py": DDP})
    argv = ("--", TORCHRUN, "--standalone", "--nproc-per-node", "2", "ddp.py")
    done = repro(root, "run", *argv, timeout=300)
    assert done.returncode == 0, done.stderr
    record = record_of(root)
    digest, _, stamp = record["determinism"]["injected"]["REPRO_PACKAGES_DIGEST"].partition(" ")
    assert len(digest) == 32 and "site-packages" in stamp
    ranks = [p for p in record["facts"]["processes"] if p["rank"] is not None]
    assert len(ranks) == 2 and {p["packages_digest"] for p in ranks} == {digest}


def test_two_torchrun_agents_with_other_gpus_are_two_nodes_and_the_cell_is_marked(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"ddp.py": DDP, "nvml/pynvml.py": FAKE_PYNVML})
    agent = (
        f"{TORCHRUN} --nnodes 2 --nproc-per-node 1 --rdzv-backend c10d "
        f"--rdzv-endpoint 127.0.0.1:{free_port()} --rdzv-id job --local-addr 127.0.0.1 ddp.py"
    )
    nvml = 'PYTHONPATH="$PYTHONPATH:$PWD/nvml"'
    script = (
        f"{nvml} FAKE_NVML_GPU='NVIDIA A100-SXM4-80GB' {agent} & "
        f"{nvml} FAKE_NVML_GPU='NVIDIA H100 80GB HBM3' FAKE_NVML_SMS=132 {agent}; wait"
    )
    done = repro(root, "run", "--", "bash", "-c", script, timeout=300)
    assert done.returncode == 0, done.stderr
    table = record_of(root)["nodes"]
    host = os.uname().nodename
    assert sorted(n["node"] for n in table["nodes"]) == [f"{host} (node 0)", f"{host} (node 1)"]
    assert table["world_sizes"] == ["2"] and table["differing"] == ["gpus"]
    shown = repro(root, "show", "@").stdout
    assert "! NVIDIA H100 80GB HBM3 (132 SMs)" in shown
    assert "! differs between nodes: GPUs" in shown
