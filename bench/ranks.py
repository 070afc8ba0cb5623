"""1,000 ranks' facts: the supervisor's aggregation into the record, and `repro show` of it.

Run with `.venv/bin/python bench/ranks.py [--ranks N] [--repeats K] [--against DIR] [--write]`.
One rank's facts file is written by the real hook in a Python that imports torch and NumPy,
with a Slurm job's variables (60 SLURM_*, torchrun's, NCCL_ALGO); it is copied to N files, one
per rank, 8 ranks a node. Timed, for this checkout and for `--against DIR` (an older checkout's
tree, say `git archive OLD repro_run | tar -x -C DIR`), interleaved, medians of K:
- aggregation: `capture_child_facts` (read and check every file, rank disagreements) and
  `encode_record` (run.json's bytes), in a Python of that checkout; CPU time;
- `repro show @` of a run whose record holds those N processes, against `repro --version`
  (what any `repro` costs to start): `python -m repro_run` of that checkout; wall and CPU time.
Bytecode is compiled first, as an install has it. CPU time (user + system) is reported beside
wall time: on a shared machine wall time grows with the load, CPU time much less.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from results import GIT_ENV, REPRO, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from repro_run import hook

HERE = Path(__file__).resolve().parent.parent
PER_NODE = 8
AGGREGATE = """\
import json, statistics, sys, time
from pathlib import Path
from repro_run.capture.child_facts import capture_child_facts
from repro_run.core.record import replace
from repro_run.models import RunRecord, from_json_dict
from repro_run.store.run_json import encode_record
run_dir, repeats = Path(sys.argv[1]), int(sys.argv[2])
record = from_json_dict(RunRecord, json.loads((run_dir / "run.json").read_text()))
capture, encode = [], []
for _ in range(repeats):
    start = time.process_time()
    child = capture_child_facts(run_dir)
    middle = time.process_time()
    data = encode_record(replace(record, facts=child))
    capture.append(middle - start)
    encode.append(time.process_time() - middle)
if sys.argv[3:] == ["--write"]:  # the record as the supervisor writes it
    (run_dir / "run.json").write_bytes(data)
print(json.dumps([statistics.median(capture), statistics.median(encode), len(data)]))
"""


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
        "PYTHONDONTWRITEBYTECODE": "1",
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


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU time (the child's user + system) of one command, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, done.stdout


def _measure_side(
    checkout: Path, run_dir: Path, repo: Path, env: dict[str, str]
) -> dict[str, list[float]]:
    side_env = {**env, "PYTHONPATH": str(checkout)}
    python = [sys.executable, "-m", "repro_run"]
    _, _, out = _run([sys.executable, "-c", AGGREGATE, str(run_dir), "1"], repo, side_env)
    capture, encode, size = json.loads(out)
    show_wall, show_cpu, _ = _run([*python, "show", "@"], repo, side_env)
    version_wall, version_cpu, _ = _run([*python, "--version"], repo, side_env)
    return {
        "capture": [capture],
        "encode": [encode],
        "size": [size],
        "show_wall": [show_wall],
        "show_cpu": [show_cpu],
        "version_wall": [version_wall],
        "version_cpu": [version_cpu],
    }


def measure(ranks: int, repeats: int, against: Path | None) -> dict[str, dict[str, float]]:
    sides = {"this checkout": HERE, **({str(against): against} if against else {})}
    for checkout in sides.values():
        compileall.compile_dir(checkout / "repro_run", quiet=1)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        repo = tmp / "repo"
        repo.mkdir()
        env = {**os.environ, **GIT_ENV, "REPRO_CACHE_DIR": str(tmp / "cache")}
        for cmd in (["git", "init", "-q"], ["git", "commit", "-q", "--allow-empty", "-m", "x"]):
            subprocess.run(cmd, cwd=repo, env=env, check=True)
        subprocess.run([REPRO, "run", "--", "true"], cwd=repo, env=env, check=True)
        (run_dir,) = (repo / ".repro" / "runs").iterdir()
        _write_ranks(run_dir, _template(tmp), ranks)
        write = [sys.executable, "-c", AGGREGATE, str(run_dir), "1", "--write"]
        subprocess.run(write, env=env, check=True, stdout=subprocess.DEVNULL)
        times: dict[str, dict[str, list[float]]] = {name: {} for name in sides}
        for i in range(repeats + 1):  # the first warms the page cache
            order = list(sides.items())[:: 1 if i % 2 else -1]  # each side goes first in turn
            for name, checkout in order:
                measured = _measure_side(checkout, run_dir, repo, env)
                for key, values in measured.items():
                    times[name].setdefault(key, []).extend(values if i else [])
    return {name: {k: statistics.median(v) for k, v in t.items()} for name, t in times.items()}


def _row(
    title: str, m: dict[str, dict[str, float]], cell: Callable[[dict[str, float]], str]
) -> str:
    return f"| {title} | " + " | ".join(cell(side) for side in m.values()) + " |"


def _table(m: dict[str, dict[str, float]], ranks: int) -> str:
    def ms(*keys: str) -> Callable[[dict[str, float]], str]:
        return lambda side: " / ".join(f"{side[k] * 1000:.0f}" for k in keys) + " ms"

    def beyond(side: dict[str, float]) -> str:
        wall, cpu = (side[f"show_{k}"] - side[f"version_{k}"] for k in ("wall", "cpu"))
        return f"{wall * 1000:.0f} / {cpu * 1000:.0f} ms"

    return (
        "\n".join(
            [
                f"| step | {' | '.join(m)} |",
                f"|---|{'---|' * len(m)}",
                _row(
                    f"read and check {ranks} facts files (`capture_child_facts`), CPU",
                    m,
                    ms("capture"),
                ),
                _row("encode the record holding them (`encode_record`), CPU", m, ms("encode")),
                _row(
                    "**aggregation**, both, CPU (bound: 1 s)",
                    m,
                    lambda side: f"**{(side['capture'] + side['encode']) * 1000:.0f} ms**",
                ),
                _row("run.json's size", m, lambda side: f"{side['size'] / 1e6:.1f} MB"),
                _row(
                    "**`repro show @`**, wall / CPU (bound: 0.5 s)", m, ms("show_wall", "show_cpu")
                ),
                _row("`repro --version`, wall / CPU", m, ms("version_wall", "version_cpu")),
                _row("show beyond start-up (show - version), wall / CPU", m, beyond),
            ]
        )
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ranks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--against", type=Path, help="an older checkout's tree, timed too")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    m = measure(args.ranks, args.repeats, args.against)
    against = f" --against {args.against}" if args.against else ""
    body = (
        f"`.venv/bin/python bench/ranks.py --ranks {args.ranks} --repeats {args.repeats}"
        f"{against}`: {args.ranks} facts files (8 ranks a node), each written by the real hook "
        "in a Python that imported torch and NumPy, with 60 SLURM_* and torchrun's variables; "
        "each checkout's code in its own Python, interleaved, bytecode compiled. Medians. "
        f"Load average at the start: {load:.1f} on {os.cpu_count()} CPUs.\n\n"
        f"{_table(m, args.ranks)}\n"
        "At most 4,096 facts files are read (`child_facts._MAX_FILES`); beyond that the record "
        "says how many were left out.\n\n"
    )
    print(body)
    if args.write:
        write_section("ranks", "1,000 ranks' facts: aggregation and show (issue 20)", body)


if __name__ == "__main__":
    main()
