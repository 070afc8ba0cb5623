"""1,000 ranks' facts: the supervisor's aggregation into the record, and `repro show` of it.

Run with `.venv/bin/python bench/ranks.py [--ranks N] [--repeats K] [--write]`. One rank's
facts file is written by the real hook in a Python that imports torch and NumPy, with a
Slurm job's variables (60 SLURM_*, torchrun's, NCCL_ALGO); it is copied to N files, one per
rank, 8 ranks a node. Timed:
- aggregation: `capture_child_facts` (read and check every file, rank disagreements) and the
  record's encoding (`to_json_dict` + `json.dumps`), in this process, median of K;
- `repro show` of a run whose record holds those N processes, against `repro --version`
  (what any `repro` costs to start), both as subprocesses, interleaved, median of K.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import GIT_ENV, REPRO, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from repro_run import hook
from repro_run.capture.child_facts import capture_child_facts
from repro_run.core.record import replace
from repro_run.models import RunRecord, from_json_dict, nodes_of, to_json_dict

PER_NODE = 8


def _slurm_env() -> dict[str, str]:
    env = {f"SLURM_VAR_{i:02d}": f"value-{i}" for i in range(54)}
    env.update(
        SLURM_JOB_ID="4242",
        SLURM_STEP_ID="0",
        SLURM_NTASKS="1000",
        SLURM_JOB_NODELIST="node[000-124]",
        SLURM_CLUSTER_NAME="cluster",
        SLURM_JOB_PARTITION="gpu",
        NCCL_ALGO="Ring",
        MASTER_ADDR="node000",
        MASTER_PORT="29500",
        TORCHELASTIC_RUN_ID="4242",
    )
    return env


def _template(tmp: Path) -> dict[str, object]:
    """One rank's facts file, written by the real hook."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REPRO_", "PYTHON"))},
        **_slurm_env(),
        "PYTHONPATH": hook.BOOT_DIR,
        "REPRO_RUN_DIR": str(tmp / "template"),
        "REPRO_SEED": "1",
        "RANK": "0",
        "LOCAL_RANK": "0",
        "WORLD_SIZE": "1000",
        "GROUP_RANK": "0",
    }
    subprocess.run([sys.executable, "-c", "import torch, numpy"], env=env, check=True)
    (path,) = (tmp / "template" / "facts").iterdir()
    document: dict[str, object] = json.loads(path.read_text())
    return document


def _write_ranks(run_dir: Path, template: dict[str, object], ranks: int) -> None:
    facts = run_dir / "facts"
    facts.mkdir(parents=True)
    for rank in range(ranks):
        node, local = divmod(rank, PER_NODE)
        launch_env = dict(template["launch_env"])  # type: ignore[call-overload]
        launch_env.update(RANK=str(rank), LOCAL_RANK=str(local), GROUP_RANK=str(node))
        document = {
            **template,
            "pid": 100_000 + rank,
            "rank": str(rank),
            "local_rank": str(local),
            "hostname": f"node{node:03d}",
            "launch_env": launch_env,
        }
        (facts / f"rank{rank}-{100_000 + rank}.json").write_text(json.dumps(document))


def _aggregate(run_dir: Path, record: RunRecord, repeats: int) -> tuple[float, float, int]:
    capture, encode = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        child = capture_child_facts(run_dir)
        middle = time.perf_counter()
        text = json.dumps(to_json_dict(replace(record, facts=child)))
        capture.append(middle - start)
        encode.append(time.perf_counter() - middle)
    return statistics.median(capture), statistics.median(encode), len(text)


def _time(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(ranks: int, repeats: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        repo = tmp / "repo"
        repo.mkdir()
        env = {**os.environ, **GIT_ENV, "REPRO_CACHE_DIR": str(tmp / "cache")}
        for cmd in (["git", "init", "-q"], ["git", "commit", "-q", "--allow-empty", "-m", "x"]):
            subprocess.run(cmd, cwd=repo, env=env, check=True)
        subprocess.run([REPRO, "run", "--", "true"], cwd=repo, env=env, check=True)
        (run_dir,) = (repo / ".repro" / "runs").iterdir()
        record_path = run_dir / "run.json"
        record = from_json_dict(RunRecord, json.loads(record_path.read_text()))
        _write_ranks(run_dir, _template(tmp), ranks)
        capture, encode, size = _aggregate(run_dir, record, repeats)
        child = capture_child_facts(run_dir)
        start = time.perf_counter()
        table = nodes_of(child.processes)
        nodes = time.perf_counter() - start
        assert table is not None and len(table.nodes) == -(-ranks // PER_NODE)
        record_path.write_text(json.dumps(to_json_dict(replace(record, facts=child))))
        show, version = [], []
        for _ in range(repeats):
            show.append(_time([REPRO, "show", "@"], repo, env))
            version.append(_time([REPRO, "--version"], repo, env))
        return {
            "capture": capture,
            "encode": encode,
            "nodes": nodes,
            "size": size,
            "show": statistics.median(show),
            "version": statistics.median(version),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ranks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    m = measure(args.ranks, args.repeats)
    body = (
        f"`.venv/bin/python bench/ranks.py --ranks {args.ranks} --repeats {args.repeats}`: "
        f"{args.ranks} facts files (8 ranks a node), each written by the real hook in a Python "
        "that imported torch and NumPy, with 60 SLURM_* and torchrun's variables. Medians.\n\n"
        "| step | time |\n|---|---|\n"
        f"| read and check {args.ranks} facts files (`capture_child_facts`) "
        f"| {m['capture'] * 1000:.0f} ms |\n"
        f"| encode the record holding them ({m['size'] / 1e6:.1f} MB of JSON) "
        f"| {m['encode'] * 1000:.0f} ms |\n"
        f"| aggregation, both | {(m['capture'] + m['encode']) * 1000:.0f} ms (bound: 1 s) |\n"
        f"| the node table (`nodes_of`) | {m['nodes'] * 1000:.1f} ms |\n"
        f"| `repro show @` of that run | {m['show'] * 1000:.0f} ms (bound: 0.5 s) |\n"
        f"| `repro --version` (start-up alone) | {m['version'] * 1000:.0f} ms |\n\n"
        "At most 4,096 facts files are read (`child_facts._MAX_FILES`); beyond that the record "
        "says how many were left out.\n\n"
    )
    print(body)
    if args.write:
        write_section("ranks", "1,000 ranks' facts: aggregation and show (issue 20)", body)


if __name__ == "__main__":
    main()
