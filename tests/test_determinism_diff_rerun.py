"""Issue 4's records in `repro diff` and `repro rerun`: facts and settings compared, replayed."""

from __future__ import annotations

import json
import sys
from typing import Any

from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

SCRIPT = "import numpy.random, repro_run\nrepro_run.log_metrics(step=1, value=float(numpy.random.rand()))\n"


def _section(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in document["sections"] if s["name"] == name]
    return found[0]


def test_diff_compares_facts_inside_the_child_and_determinism_flags(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": SCRIPT})
    assert repro(root, "run", "--seed", "1", "train.py").returncode == 0
    assert repro(root, "run", "--seed", "1", "--threads", "1", "train.py").returncode == 0
    done = repro(root, "diff", "--json", "@~1", "@")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    framework = {c["key"]: c for c in _section(document, "framework")["changes"]}
    assert framework["env.OMP_NUM_THREADS"]["new"] == "1"
    assert "numpy.version" not in framework or framework["numpy.version"]["change"] == "equal"
    determinism = {c["key"]: c for c in _section(document, "determinism")["changes"]}
    assert determinism["(thread count)"]["old"] == "not fixed"
    assert determinism["(thread count)"]["new"] == "1"
    assert "PYTHONPATH" not in determinism  # the hook's entry is said by "(seeding hook)"


def test_rerun_replays_the_recorded_determinism_settings(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": SCRIPT})
    argv = ("run", "--seed", "2", "--threads", "1", "--no-deterministic", "train.py")
    assert repro(root, *argv).returncode == 0
    done = repro(root, "rerun", "@")
    assert done.returncode == 0, done.stdout + done.stderr
    rerun = record_of(root)["determinism"]
    assert (rerun["threads"], rerun["deterministic"], rerun["hook"]) == (1, False, True)
    assert "IDENTICAL" in done.stdout


def test_rerun_of_a_run_without_the_hook_runs_without_it(make_repo: MakeRepo) -> None:
    probe = "import os; print(os.environ.get('PYTHONPATH'))"
    root = make_repo({"probe.py": probe})
    assert repro(root, "run", "--no-auto-seed", "--", sys.executable, "probe.py").returncode == 0
    repro(root, "rerun", "@")
    record = record_of(root)
    assert record["rerun_of"] and record["determinism"]["hook"] is False
    assert record["facts"] is None
