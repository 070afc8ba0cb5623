"""A run of many parts (one per supervisor): `repro show`, `repro list`, export and import.

Run with `.venv/bin/python bench/parts.py [--parts N] [--repeats K] [--write]`. A real run of
two parts (`repro run --join`, started twice at once) is recorded; its part records are then
copied to N parts (one a task), and run.json lists them all. Timed as subprocesses, medians
of K, against `repro --version` (what any `repro` costs to start): `repro show` (which reads
each part's record as JSON, to mark a missing or damaged one), `repro list` (the index
rebuilt each time: the first `list` after a run indexes it), `repro export` of the run, and
`repro import` of that bundle into an empty repository.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from results import GIT_ENV, REPRO, write_section

# Each part's command waits for the other, so both join the run while it is open.
_AWAIT = """\
import os, time
parts = os.path.dirname(os.environ["REPRO_RUN_DIR"])
while sum(os.path.isdir(os.path.join(parts, n)) for n in os.listdir(parts)) < 2:
    time.sleep(0.05)
"""


def _repo(path: Path, env: dict[str, str], files: dict[str, str]) -> None:
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "x"]):
        subprocess.run(cmd, cwd=path, env=env, check=True)


def _many_parts(run_dir: Path, parts: int) -> None:
    """The run's two parts copied to `parts` parts, tasks 0..parts-1, each with its log."""
    records = sorted((run_dir / "parts").glob("*.json"))
    template = json.loads(records[0].read_text())
    run = json.loads((run_dir / "run.json").read_text())
    summary = run["parts"][0]
    for path in records:
        shutil.rmtree(path.with_suffix(""))
        path.unlink()
    summaries = []
    for task in range(parts):
        name = f"node{task:04d}-{task}"
        template["part"].update(name=name, task=task)
        (run_dir / "parts" / f"{name}.json").write_text(json.dumps(template))
        (run_dir / "parts" / name).mkdir()
        (run_dir / "parts" / name / "output.log").write_text(f"task {task}\n")
        summaries.append({**summary, "name": name, "task": task})
    run["parts"] = summaries
    run["part"] = template["part"] | {"name": summaries[0]["name"], "task": 0}
    (run_dir / "run.json").write_text(json.dumps(run))


def _time(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(parts: int, repeats: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, **GIT_ENV, "REPRO_CACHE_DIR": str(tmp / "cache")}
        repo = tmp / "repo"
        _repo(repo, env, {"train.py": _AWAIT + "print('trained')\n"})
        argv = [REPRO, "run", "--join", "bench", "train.py"]
        started = [subprocess.Popen(argv, cwd=repo, env=env) for _ in range(2)]
        assert [p.wait(timeout=120) for p in started] == [0, 0]
        (run_dir,) = (repo / ".repro" / "runs").iterdir()
        _many_parts(run_dir, parts)
        times: dict[str, list[float]] = {"show": [], "list": [], "export": [], "import": []}
        times["version"] = []
        bundle = tmp / "run.tar.gz"
        for i in range(repeats):
            times["version"].append(_time([REPRO, "--version"], repo, env))
            times["show"].append(_time([REPRO, "show", "@"], repo, env))
            (repo / ".repro" / "index.sqlite").unlink(missing_ok=True)
            times["list"].append(_time([REPRO, "list"], repo, env))
            bundle.unlink(missing_ok=True)
            times["export"].append(_time([REPRO, "export", "@", "-o", str(bundle)], repo, env))
            target = tmp / f"target{i}"
            _repo(target, env, {"README.md": "elsewhere\n"})
            times["import"].append(_time([REPRO, "import", str(bundle)], target, env))
        result = {name: statistics.median(values) for name, values in times.items()}
        result["bundle"] = bundle.stat().st_size
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    m = measure(args.parts, args.repeats)
    ms = {name: f"{value * 1000:.0f} ms" for name, value in m.items() if name != "bundle"}
    body = (
        f"`.venv/bin/python bench/parts.py --parts {args.parts} --repeats {args.repeats}`: a "
        f"real two-part `--join` run whose part records are copied to {args.parts} parts "
        "(tasks), each with its log. Medians, as subprocesses.\n\n"
        "| command | time |\n|---|---|\n"
        f"| `repro --version` (start-up alone) | {ms['version']} |\n"
        f"| `repro show @` (each part's record read as JSON) | {ms['show']} |\n"
        f"| `repro list` (index rebuilt) | {ms['list']} |\n"
        f"| `repro export @` ({m['bundle'] / 1e6:.1f} MB bundle) | {ms['export']} |\n"
        f"| `repro import` of it into an empty repository | {ms['import']} |\n\n"
        "Where the time goes (cProfile of each, in process): `export`, the secret scan of each "
        "part's record and log (~3.5 ms a record); `import`, an fsync of each file and "
        "directory placed (three a part: about half of it on this disk) and one decode of each "
        "part's record; `show`, reading the part records as JSON is ~85 ms of it for a "
        "thousand, the rest drawing the rows of its Parts table.\n\n"
    )
    print(body)
    if args.write:
        write_section("parts", "A run of many parts: show, list, export, import (issue 20)", body)


if __name__ == "__main__":
    main()
