"""Dirty-check speed on a large repository: repro's check vs `git status` on the same tree.

Run with `make bench-git` (or `.venv/bin/python bench/gitcheck.py [--files N] [--write]`).
Builds a synthetic repository of N tracked files (default 100,000, in 1,000 directories) plus
10,000 ignored files in an ignored directory, commits it, then times, warm and interleaved:
- `git status --porcelain` (what a user would run; the baseline);
- repro's dirty check, `capture.git.tree_status` (one `git status --porcelain=v2
  --untracked-files=all --ignore-submodules=none` plus `git ls-files -v -s` in parallel, and
  the assume-unchanged/skip-worktree scan), in this process: the check, not Python's start-up.
The target (reliability scenario E62): at most 1.5 x the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from results import GIT_ENV, write_section

from repro_run.capture.git import tree_status

TARGET_RATIO = 1.5


def build_repo(root: Path, files: int, ignored: int) -> None:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    per_dir = 100
    for i in range(files):
        directory = root / "src" / f"d{i // per_dir:04d}"
        if i % per_dir == 0:
            directory.mkdir(parents=True)
        (directory / f"f{i}.py").write_text(f"x = {i}\n")
    (root / ".gitignore").write_text("build/\n")
    for i in range(ignored):
        directory = root / "build" / f"b{i // per_dir:03d}"
        if i % per_dir == 0:
            directory.mkdir(parents=True)
        (directory / f"o{i}.bin").write_bytes(b"o")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "synthetic"], cwd=root, check=True, env=env)


def _timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(root: Path, runs: int) -> dict[str, float]:
    env = {**os.environ, **GIT_ENV}

    def git_status() -> None:
        subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, env=env, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def repro_check() -> None:
        status = tree_status(root)
        assert not status.is_dirty, status.dirty[:3]  # ignored files never count

    for _ in range(3):  # warm: page cache, the index's stat data refreshed
        git_status()
        repro_check()
    base, ours = [], []
    for _ in range(runs):
        base.append(_timed(git_status))
        ours.append(_timed(repro_check))
    b, o = statistics.median(base), statistics.median(ours)
    return {"git_ms": b * 1000, "repro_ms": o * 1000, "ratio": o / b}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--ignored", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--write", action="store_true", help="record the figures in RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        started = time.perf_counter()
        build_repo(root, args.files, args.ignored)
        print(f"built {args.files} files in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        r = measure(root, args.runs)
    verdict = "met" if r["ratio"] <= TARGET_RATIO else "NOT met"
    report = (
        f"| `git status --porcelain` (baseline) | {r['git_ms']:.0f} ms | |\n"
        f"| repro's dirty check (`tree_status`) | {r['repro_ms']:.0f} ms | "
        f"{r['ratio']:.2f} x (target ≤ {TARGET_RATIO}: {verdict}) |\n"
    )
    print(report, end="")
    if args.write:
        write_section(
            "gitcheck",
            "Dirty check on a 100,000-file repository",
            f"Command: `.venv/bin/python bench/gitcheck.py --files {args.files} --write` "
            f"({args.files} tracked files, {args.ignored} ignored ones; {os.cpu_count()} cores, "
            f"Python {sys.version.split()[0]}), warm, medians of {args.runs} interleaved runs.\n\n"
            "| what | median wall time | vs git status |\n|---|---|---|\n" + report,
        )


if __name__ == "__main__":
    main()
