"""`repro rerun --recreate-env` of a run over 20 pinned packages from a local simple index.

Run with `.venv/bin/python bench/recreate_env.py [--rounds N] [--write]`. In one process, on one
machine, interleaved round by round:
- warm: the whole `repro rerun --recreate-env ID` (environment found in the cache, the program
  run, the verdict) against `python -m venv` + `pip install` of the same 20 pins from the
  same index, which only makes the environment;
- cold: the same rerun with an empty repro cache and an empty uv cache (the environment built
  by uv: Python found, 20 wheels fetched from the file:// index and installed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import GIT_ENV, REPRO, write_section

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers.wheels import make_venv, simple_index, user_env, write_wheel

PINS = [f"benchpkg{i:02d}==1.0" for i in range(20)]
PROGRAM = "".join(f"import benchpkg{i:02d}\n" for i in range(20)) + "print('ok')\n"


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _project(tmp: Path) -> tuple[Path, dict[str, str], str]:
    wheels = tmp / "wheels"
    for pin in PINS:
        write_wheel(wheels, pin.split("==")[0], "1.0")
    index = simple_index(tmp / "index" / "simple", wheels)
    venv = tmp / "venv"
    make_venv(venv, sys.executable, wheels, *PINS)
    root = tmp / "repo"
    root.mkdir()
    (root / "train.py").write_text(PROGRAM)
    git = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, env=git, check=True)
    subprocess.run(["git", "add", "."], cwd=root, env=git, check=True)
    subprocess.run(["git", "commit", "-qm", "bench"], cwd=root, env=git, check=True)
    env = {**os.environ, **GIT_ENV, **user_env(venv, index), "REPRO_CACHE_DIR": str(tmp / "cache")}
    subprocess.run([REPRO, "run", "--", "python", "train.py"], cwd=root, env=env, check=True,
                   capture_output=True)  # fmt: skip
    run_id = subprocess.run([REPRO, "list"], cwd=root, env=env, capture_output=True, text=True,
                            check=True).stdout.splitlines()[1].split()[0]  # fmt: skip
    return root, env, run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root, env, run_id = _project(tmp)
        rerun = [REPRO, "rerun", "--recreate-env", run_id]
        index = env["PIP_INDEX_URL"]
        warm, venv_pip, cold = [], [], []
        _timed(rerun, root, env)  # builds the cached environment
        for n in range(args.rounds):
            warm.append(_timed(rerun, root, env))
            target = tmp / f"pip-venv-{n}"
            pip = [str(target / "bin" / "python"), "-m", "pip", "install", "-q",
                   "--no-cache-dir", "--index-url", index, *PINS]  # fmt: skip
            venv_pip.append(
                _timed([sys.executable, "-m", "venv", str(target)], root, env)
                + _timed(pip, root, env)
            )
            fresh = {**env, "REPRO_CACHE_DIR": str(tmp / f"cold-{n}"),
                     "UV_CACHE_DIR": str(tmp / f"uv-cache-{n}")}  # fmt: skip
            cold.append(_timed(rerun, root, fresh))
    w, p, c = (statistics.median(x) for x in (warm, venv_pip, cold))
    body = (
        f"`.venv/bin/python bench/recreate_env.py --rounds {args.rounds} --write`; medians of "
        f"{args.rounds} interleaved rounds, 20 pins from a file:// simple index, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs (shared with other work).\n\n"
        "| what | median |\n|---|---|\n"
        f"| `repro rerun --recreate-env` warm (cached environment; program run and verdict included) | {w:.2f} s |\n"
        f"| `python -m venv` + `pip install` of the same pins (the environment only) | {p:.2f} s |\n"
        f"| ratio warm rerun / venv + pip | {w / p:.2f} (goal: 0.5 or less) |\n"
        f"| `repro rerun --recreate-env` cold (empty repro and uv caches: uv builds it) | {c:.2f} s |\n\n"
    )
    print(body)
    if args.write:
        write_section("recreate-env", "`repro rerun --recreate-env` (issue 18)", body)


if __name__ == "__main__":
    main()
