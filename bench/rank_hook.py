"""The hook's cost per rank under real torchrun: an interpreter with the hook against one
without, started inside torchrun's workers (so with every variable torchrun sets).

Run with `.venv/bin/python bench/rank_hook.py [--runs N] [--against BOOT]... [--write]`.
`torchrun --standalone --nproc-per-node 2` starts two workers; each starts N runs of `python -c
pass` with the hook on PYTHONPATH (REPRO_RUN_DIR set: the facts file written at start and
rewritten at exit), with each `--against` hook (an older checkout's boot/ directory) and
without any, interleaved, and reports the medians. The difference is what the hook adds to
every Python process of a run, here ranks: start-up, the start facts (host, commit, package
set, launch variables) and the exit facts. torchrun gets the package digest `repro run`
hands it (REPRO_PACKAGES_DIGEST). Bytecode is compiled first, as an install has it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from results import write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from repro_run import hook
from repro_run.core.constants import ENV_PACKAGES_DIGEST
from repro_run.hook.host import handed_digest

WORKER = """\
import json, os, resource, statistics, subprocess, sys
runs, out, boots = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
rank = os.environ["RANK"]
plain = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
envs = {"plain": plain}
for name, boot in boots.items():
    envs[name] = {**plain, "PYTHONPATH": boot, "REPRO_SEED": "1",
                  "REPRO_RUN_DIR": os.path.join(out, name + rank)}
def cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
def once(env):
    start = cpu()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return cpu() - start
times = {name: [] for name in envs}
for _ in range(runs):
    for name, env in envs.items():
        times[name].append(once(env))
with open(os.path.join(out, "rank" + rank + ".json"), "w") as f:
    json.dump({k: statistics.median(v) for k, v in times.items()}, f)
"""


def measure(runs: int, against: list[str]) -> list[dict[str, float]]:
    boots = {"hook": hook.BOOT_DIR, **{f"against{i}": boot for i, boot in enumerate(against)}}
    for boot in boots.values():
        compileall.compile_dir(Path(boot).parent, quiet=1)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    handed = handed_digest(sys.path)  # what `repro run` puts in the environment it launches
    if handed is not None:
        env[ENV_PACKAGES_DIGEST] = handed
    with tempfile.TemporaryDirectory() as tmp:
        worker = Path(tmp) / "worker.py"
        worker.write_text(WORKER)
        torchrun = str(Path(sys.executable).with_name("torchrun"))
        argv = [torchrun, "--standalone", "--nproc-per-node", "2", str(worker)]
        subprocess.run([*argv, str(runs), tmp, json.dumps(boots)], env=env, check=True)
        return [json.loads((Path(tmp) / f"rank{r}.json").read_text()) for r in (0, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument(
        "--against",
        action="append",
        default=[],
        help="another hook's boot/ directory (an older checkout's), timed too; repeatable",
    )
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    ranks = measure(args.runs, args.against)
    names = ["hook", *(f"against{i}" for i in range(len(args.against)))]
    rows = "".join(
        f"| {rank} | {m['plain'] * 1000:.1f} ms | "
        + " | ".join(f"{(m[n] - m['plain']) * 1000:+.1f} ms" for n in names)
        + " |\n"
        for rank, m in enumerate(ranks)
    )
    added = statistics.median((m["hook"] - m["plain"]) * 1000 for m in ranks)
    against = "".join(f" --against {boot}" for boot in args.against)
    header = " | ".join(["added by this hook", *(f"added by `{boot}`" for boot in args.against)])
    body = (
        f"`.venv/bin/python bench/rank_hook.py --runs {args.runs}{against}`: inside each of "
        f"torchrun's two workers, {args.runs} interleaved runs of `python -c pass` without and "
        "with each hook (facts written at start and at exit); CPU time (user + system, "
        "`RUSAGE_CHILDREN`): wall time on a shared machine is noise at this scale. Medians. "
        f"Load average at the start: {load:.1f} on {os.cpu_count()} CPUs.\n\n"
        f"| rank | without hook | {header} |\n|---|---|{'---|' * len(names)}\n"
        f"{rows}\nThe hook adds about {added:.1f} ms of CPU to each Python process of a run.\n\n"
    )
    print(body)
    if args.write:
        write_section("rank-hook", "The hook's cost per rank under torchrun (issue 20)", body)


if __name__ == "__main__":
    main()
