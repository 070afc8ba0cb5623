"""`repro list` at 10,000 runs: the default view and `--all`, against `repro --version`.

Run with `.venv/bin/python bench/list_scale.py [--runs N] [--repeats K] [--write]`. One real
`repro run` makes the first record; the others are copies of its directory under fresh run IDs
(a record names its own ID, so each copy's run.json is rewritten), which is what a store of N
finished runs holds. The first `list` indexes them all; the timings are of later, warm calls,
each command interleaved with the others so all see the same machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import GIT_ENV, REPRO, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from repro_run.store.ids import ALPHABET, encode_time


def _make_store(root: Path, runs: int, env: dict[str, str]) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True, env=env)
    (root / "train.py").write_text("print('loss: 0.5')\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=root, check=True, env=env)
    subprocess.run([REPRO, "run", "train.py"], cwd=root, check=True, env=env, capture_output=True)
    runs_dir = root / ".repro" / "runs"
    (template,) = runs_dir.iterdir()
    record = json.loads((template / "run.json").read_text())
    start = time.time() - runs
    for n in range(1, runs):
        run_id = encode_time(start + n) + "".join(
            ALPHABET[(n >> shift) % 32] for shift in (15, 10, 5, 0)
        )
        target = runs_dir / run_id
        shutil.copytree(template, target)
        record["id"] = run_id
        (target / "run.json").write_text(json.dumps(record))


def _time(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    begin = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    commands = {
        "repro --version": [REPRO, "--version"],
        "repro list": [REPRO, "list"],
        "repro list --all": [REPRO, "list", "--all"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, **GIT_ENV, "REPRO_CACHE_DIR": str(root / "cache")}
        env.pop("REPRO_HOME", None)
        _make_store(root, args.runs, env)
        first = _time(commands["repro list"], root, env)  # indexes every run
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, argv in commands.items():
                times[name].append(_time(argv, root, env))
    base = statistics.median(times["repro --version"])
    rows = [
        f"| `{name}` | {statistics.median(t) * 1000:.0f} ms | {statistics.median(t) / base:.1f}x |"
        for name, t in times.items()
    ]
    body = (
        f"`.venv/bin/python bench/list_scale.py --runs {args.runs} --repeats {args.repeats}`: "
        f"a store of {args.runs:,} finished runs, warm (the first `repro list`, which indexes "
        f"them all, took {first * 1000:.0f} ms); medians of {args.repeats} interleaved calls, "
        "output to a pipe. Goal: the default view at most 4x `repro --version`.\n\n"
        "| command | median | x `repro --version` |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    print(body)
    if args.write:
        write_section("list-scale", f"`repro list` at {args.runs:,} runs (issue 17)", body)


if __name__ == "__main__":
    main()
