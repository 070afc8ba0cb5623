"""Wrapper overhead: median wall time of `repro run -- python -c pass` vs `python -c pass`.

Run with `make bench` (or `.venv/bin/python bench/overhead.py [--runs N] [--write]`).
`--against DIR` compares this checkout with another one (say `git worktree add DIR OLD`):
both run as `python -m repro_run`, interleaved with the baseline, warm only.
Both commands run in the same clean git repository, interleaved, in one process, so the
difference is measured against a baseline taken under the same machine load.
- warm: repro's caches (package list) populated, store already initialised;
- cold: a fresh cache directory and a fresh store for every run.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from results import GIT_ENV, REPRO, write_section


def _time(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


@contextlib.contextmanager
def _clean_repo() -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """A temporary directory, a clean git repository in it, and the environment to run in."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        env = {**os.environ, **GIT_ENV, "REPRO_CACHE_DIR": str(Path(tmp) / "cache")}
        for cmd in (["git", "init", "-q"], ["git", "commit", "-q", "--allow-empty", "-m", "x"]):
            subprocess.run(cmd, cwd=repo, env=env, check=True)
        yield Path(tmp), repo, env


def measure(runs: int) -> dict[str, float]:
    # What a normal install has: bytecode on disk (pip compiles; an editable checkout run
    # with PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every module on every run).
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "repro_run", quiet=1)
    with _clean_repo() as (tmp, repo, env):
        baseline_argv = [sys.executable, "-c", "pass"]
        repro_argv = [REPRO, "run", "--", sys.executable, "-c", "pass"]
        for _ in range(3):  # warm the page cache, the package cache and the store
            _time(repro_argv, repo, env)
            _time(baseline_argv, repo, env)
        # Warm and cold runs are measured in separate phases, each interleaved with its own
        # baseline runs: a cold run (a new store, a new package cache) leaves dirty pages
        # being written back, which would otherwise land on the warm run after it.
        base, floor, warm = [], [], []
        for _ in range(runs):
            base.append(_time(baseline_argv, repo, env))
            floor.append(_time([REPRO, "--version"], repo, env))
            warm.append(_time(repro_argv, repo, env))
        cold_base, cold = [], []
        for i in range(runs):
            cold_env = {
                **env,
                "REPRO_CACHE_DIR": str(tmp / f"cold-cache-{i}"),
                "REPRO_HOME": str(tmp / f"cold-store-{i}"),
            }
            cold_base.append(_time(baseline_argv, repo, env))
            cold.append(_time(repro_argv, repo, cold_env))
    b, cb = statistics.median(base), statistics.median(cold_base)
    return {
        "baseline_ms": b * 1000,
        "floor_ms": statistics.median(floor) * 1000,
        "warm_ms": statistics.median(warm) * 1000,
        "cold_ms": statistics.median(cold) * 1000,
        "warm_added_ms": (statistics.median(warm) - b) * 1000,
        "cold_added_ms": (statistics.median(cold) - cb) * 1000,
    }


def compare(runs: int, other: Path) -> str:
    """Warm overhead of this checkout and of `other`, interleaved: an A/B of a change."""
    here = Path(__file__).resolve().parent.parent
    for checkout in (here, other):
        compileall.compile_dir(checkout / "repro_run", quiet=1)
    with _clean_repo() as (_, repo, env):
        baseline_argv = [sys.executable, "-c", "pass"]
        repro_argv = [sys.executable, "-m", "repro_run", "run", "--", *baseline_argv]
        sides = {"this checkout": here, str(other): other}
        times: dict[str, list[float]] = {"baseline": [], **{name: [] for name in sides}}
        for i in range(runs + 3):  # the first three warm the caches
            measured = {"baseline": _time(baseline_argv, repo, env)}
            order = list(sides.items())[:: 1 if i % 2 else -1]  # each side goes first in turn
            for name, checkout in order:
                measured[name] = _time(repro_argv, repo, {**env, "PYTHONPATH": str(checkout)})
            if i >= 3:
                for name, seconds in measured.items():
                    times[name].append(seconds)
    base = statistics.median(times["baseline"])
    lines = [f"baseline `python -c pass`: {base * 1000:.1f} ms"]
    for name in sides:
        lines.append(f"{name}: +{(statistics.median(times[name]) - base) * 1000:.1f} ms warm")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--write", action="store_true", help="record the figures in bench/RESULTS.md"
    )
    parser.add_argument("--against", type=Path, help="another checkout to compare with (A/B)")
    args = parser.parse_args()
    if args.against is not None:
        if not (args.against / "repro_run" / "__init__.py").is_file():
            parser.error(f"{args.against} holds no repro_run package: give a checkout of repro")
        print(compare(args.runs, args.against.resolve()), end="")
        return
    r = measure(args.runs)
    report = (
        f"| `python -c pass` (baseline) | {r['baseline_ms']:.1f} ms | |\n"
        f"| `repro --version` (interpreter + click + CLI import: the floor) | {r['floor_ms']:.1f} ms | |\n"
        f"| `repro run -- python -c pass`, warm | {r['warm_ms']:.1f} ms | +{r['warm_added_ms']:.1f} ms (target ≤ 60) |\n"
        f"| `repro run -- python -c pass`, cold | {r['cold_ms']:.1f} ms | +{r['cold_added_ms']:.1f} ms (target ≤ 150) |\n"
    )
    print(report, end="")
    if args.write:
        write_section(
            "overhead",
            "Wrapper overhead",
            f"Command: `.venv/bin/python bench/overhead.py --runs {args.runs} --write` "
            f"({os.cpu_count()} cores, Python {sys.version.split()[0]}), medians of {args.runs} runs.\n\n"
            "| what | median wall time | added by repro |\n|---|---|---|\n" + report,
        )


if __name__ == "__main__":
    main()
