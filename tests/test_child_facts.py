"""Facts from inside the child through the real CLI: recorded per process, shown by
`repro show`, disagreeing ranks flagged; the run options that shape the child's environment."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest
from helpers.cli import record_of, repro, start_long_run
from helpers.repos import MakeRepo

from repro_run.capture.child_facts import capture_child_facts

LAUNCHER = """\
import os, subprocess, sys
# Two "ranks" as torchrun would start them; rank 1 differs in thread count and imports NumPy.
code = "import os\\nif os.environ['RANK'] == '1':\\n    import numpy.random\\n"
ranks = []
for rank, extra in (("0", {}), ("1", {"OMP_NUM_THREADS": "3"})):
    env = {**os.environ, "RANK": rank, "LOCAL_RANK": rank, "WORLD_SIZE": "2", **extra}
    ranks.append(subprocess.Popen([sys.executable, "-c", code], env=env))
sys.exit(max(p.wait() for p in ranks))
"""


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo(
        {"launch.py": LAUNCHER, "uses_numpy.py": "import numpy.random\nprint('trained')\n"}
    )


def test_show_displays_the_facts_recorded_inside_the_child(project: Path) -> None:
    assert repro(project, "run", "--seed", "3", "uses_numpy.py").returncode == 0
    shown = repro(project, "show", "@").stdout
    assert "Inside the child" in shown and "random=3, numpy=3" in shown
    assert "numpy.version" in shown and "python.version" in shown
    (process,) = record_of(project)["facts"]["processes"]
    assert process["seed"] == 3 and process["event"] == "exit"


def test_every_rank_records_its_facts_and_disagreeing_ranks_are_flagged(project: Path) -> None:
    done = repro(project, "run", "launch.py")
    assert done.returncode == 0, done.stderr
    facts = record_of(project)["facts"]
    labels = [p["rank"] for p in facts["processes"]]
    assert labels == [None, "0", "1"]  # the launcher first, then the ranks
    assert {"env.OMP_NUM_THREADS", "numpy.version"} <= set(facts["disagreements"])
    assert "python.version" not in facts["disagreements"]
    shown = repro(project, "show", "@").stdout
    assert "! ranks disagree: env.OMP_NUM_THREADS" in shown
    assert "rank 1 (pid" in shown and ": 3" in shown


@pytest.mark.parametrize(
    ("sig", "event"), [("SIGTERM", "SIGTERM"), ("SIGINT", "KeyboardInterrupt")]
)
def test_facts_are_recorded_when_the_run_is_stopped(project: Path, sig: str, event: str) -> None:
    proc = start_long_run(project)
    proc.send_signal(getattr(signal, sig))
    proc.communicate(timeout=30)
    (process,) = record_of(project)["facts"]["processes"]
    assert process["event"] == event


def test_no_auto_seed_leaves_the_child_alone_and_show_says_so(project: Path) -> None:
    probe = "import os, sys; print(os.environ.get('PYTHONPATH'), '_repro_hook' in sys.modules)"
    hooked = repro(project, "run", "--", sys.executable, "-c", probe)
    assert hooked.stdout.split()[1] == "True"  # the probe tells the hook's presence
    done = repro(project, "run", "--no-auto-seed", "--", sys.executable, "-c", probe)
    assert done.stdout.split()[:2] == ["None", "False"]
    shown = repro(project, "show", "@").stdout
    assert "Inside the child" not in shown
    assert any(line.split()[:2] == ["hook", "off"] for line in shown.splitlines())


def test_no_deterministic_sets_only_the_seed_variables(project: Path) -> None:
    probe = "import os; print(os.environ.get('CUBLAS_WORKSPACE_CONFIG'), os.environ['REPRO_DETERMINISTIC'])"
    done = repro(project, "run", "--no-deterministic", "--", sys.executable, "-c", probe)
    assert done.stdout.split() == ["None", "0"]
    determinism = record_of(project)["determinism"]
    assert determinism["deterministic"] is False
    assert "CUBLAS_WORKSPACE_CONFIG" not in determinism["injected"]


def test_threads_reach_torch_through_the_hook(project: Path) -> None:
    code = "import torch; print(torch.get_num_threads(), torch.get_num_interop_threads())"
    done = repro(project, "run", "--threads", "1", "--", sys.executable, "-c", code, timeout=120)
    assert done.stdout.split() == ["1", "1"], done.stderr
    (process,) = record_of(project)["facts"]["processes"]
    assert process["facts"]["torch.num_threads"] == 1
    assert process["facts"]["env.OMP_NUM_THREADS"] == "1"
    assert "torch.set_num_threads(1)" in process["switches"]


def test_an_unreadable_facts_file_is_a_problem_not_a_failure(tmp_path: Path) -> None:
    facts = tmp_path / "facts"
    facts.mkdir()
    good = {"pid": 10, "ppid": 1, "rank": 0, "facts": {"a": 1}, "seeded": ["random=1"]}
    (facts / "rank0-10.json").write_text(json.dumps(good))
    (facts / "proc-11.json").write_text("{not json")
    (facts / "proc-12.json").write_text("[1, 2]")
    (facts / "proc-13.json").write_text(json.dumps({"pid": "x", "ppid": 1}))
    child = capture_child_facts(tmp_path)
    (process,) = child.processes
    assert process.rank == "0" and process.seeded == ("random=1",) and process.facts == {"a": 1}
    assert len(child.problems) == 3 and all("unreadable" in p for p in child.problems)


def test_no_facts_directory_means_no_processes(tmp_path: Path) -> None:
    child = capture_child_facts(tmp_path)
    assert child.processes == () and child.problems == ()


DDP = """\
import os, torch, torch.distributed as dist
dist.init_process_group("gloo")
x = torch.rand(2)
dist.all_reduce(x)
# One write per line: both ranks share the pipe, and print() writes the newline separately.
os.write(1, f"rank {dist.get_rank()} {x.tolist()}\\n".encode())
"""


def test_torchrun_workers_are_seeded_and_record_their_facts_per_rank(make_repo: MakeRepo) -> None:
    root = make_repo({"ddp.py": DDP})
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    argv = ("--", torchrun, "--standalone", "--nproc_per_node=2", "ddp.py")
    done = repro(root, "run", "--seed", "9", *argv, timeout=180)
    assert done.returncode == 0, done.stderr
    lines = sorted(line for line in done.stdout.splitlines() if line.startswith("rank"))
    assert len(lines) == 2 and lines[0].split(" ", 2)[2] == lines[1].split(" ", 2)[2]
    processes = record_of(root)["facts"]["processes"]
    ranks = {p["rank"]: p for p in processes if p["rank"] is not None}
    assert set(ranks) == {"0", "1"}
    for rank, process in ranks.items():
        assert process["world_size"] == "2" and "torch=9" in process["seeded"]
        assert process["facts"]["torch.distributed.backend"] == "gloo"
        assert process["facts"]["torch.distributed.rank"] == int(rank)
    assert record_of(root)["facts"]["disagreements"] == {}
