"""`repro diff A B` on two runs with 1,000,000-file dataset manifests and 500 packages each.

Run with `make bench` (or `.venv/bin/python bench/diff.py [--runs N] [--files N] [--write]`).
The two runs are written straight into a store (fingerprinting a million real files is
`bench/fingerprint.py`'s business): B's dataset has 1% of A's files modified, 5,000 removed and
5,000 added under a new directory; 20 packages upgraded, 5 added, 5 removed; one hyperparameter
and the commit changed. Timed end to end through the installed `repro` (output rendered to a
pipe), with `fingerprint.diff_encoded` on the two manifests timed alone for comparison.
Target (issue #6): at most 1 s.
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

from repro_run.capture.environ import capture_env
from repro_run.capture.system import capture_system
from repro_run.core.record import replace
from repro_run.fingerprint.diff import diff_encoded
from repro_run.fingerprint.manifest import encode_manifest
from repro_run.models import (
    CodeState,
    CommandInfo,
    ConfigFile,
    Determinism,
    ManifestEntry,
    Package,
    PackageList,
    PackagesRef,
    ProcessResult,
    RunRecord,
    Supervisor,
    TreeRef,
    Unavailable,
    to_json_dict,
)
from repro_run.store import Store

PACKAGES = 500


def manifests(files: int) -> tuple[bytes, bytes]:
    """A's and B's encoded manifests: 1% modified, 0.5% removed, as many added."""
    digest = "ab" * 32
    old = [
        ManifestEntry(f"train/{i % 1000:03d}/img_{i:07d}.png", 4096, digest) for i in range(files)
    ]
    new = [
        replace(e, size=4100, hash="cd" * 32) if i % 100 == 0 else e
        for i, e in enumerate(old[: files - files // 200])
    ]
    new += [ManifestEntry(f"extra/img_{i:07d}.png", 4096, digest) for i in range(files // 200)]
    return encode_manifest(old), encode_manifest(new)


def package_lists() -> tuple[PackageList, PackageList]:
    old = [Package(f"pkg-{i:03d}", f"1.{i % 7}.{i % 3}") for i in range(PACKAGES)]
    new = [replace(p, version="2.0.0") if i < 20 else p for i, p in enumerate(old[5:], 5)]
    new += [Package(f"new-{i}", "0.1.0") for i in range(5)]
    return PackageList(sys.executable, "3", tuple(old)), PackageList(
        sys.executable, "3", tuple(new)
    )


def make_runs(store: Store, repo: Path, files: int) -> tuple[str, str, bytes, bytes]:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    commits = []
    for rate in ("0.1", "0.05"):
        (repo / "cfg.yaml").write_text(f"lr: {rate}\n")
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
        subprocess.run(["git", "commit", "-qm", rate], cwd=repo, env=env, check=True)
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        commits.append(rev.stdout.strip())
    old_manifest, new_manifest = manifests(files)
    system, environ = capture_system(), capture_env(os.environ)
    ids = []
    for commit, manifest, packages, lr in zip(
        commits, (old_manifest, new_manifest), package_lists(), (0.1, 0.05), strict=True
    ):
        digest = store.put_bytes(manifest)
        blob = store.put_bytes(json.dumps(to_json_dict(packages)).encode())
        run_id, _ = store.new_run()
        store.write_record(
            RunRecord(
                id=run_id,
                status="succeeded",
                created=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                repro_version="bench",
                supervisor=Supervisor(os.getpid(), 0.0, system.hostname, system.boot_id),
                code=CodeState(commit, "main", None, (), False),
                command=CommandInfo(
                    ("train.py", "--config", "cfg.yaml"),
                    ("python", "train.py"),
                    ".",
                    sys.executable,
                    sys.executable,
                ),
                determinism=Determinism(7, "cli", {"PYTHONHASHSEED": "7"}, {}),
                env=environ,
                system=system,
                packages=PackagesRef(
                    sys.executable, "3", len(packages.packages), blob, "importlib"
                ),
                gpu=Unavailable("bench"),
                cuda=Unavailable("bench"),
                configs=(ConfigFile("cfg.yaml", "yaml", "0" * 64, {"lr": lr}),),
                data=(TreeRef("data", digest, files, 4096 * files, digest),),
                process=ProcessResult(0, None, 3600.0, 3500.0, 8 * 10**9, None, 0, 0),
            )
        )
        ids.append(run_id)
    return ids[0], ids[1], old_manifest, new_manifest


def _time(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 1:  # the runs differ: diff(1) says 1
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr}")
    return elapsed


def measure(runs: int, files: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        store = Store.open(repo / ".repro")
        a, b, old, new = make_runs(store, repo, files)
        diff_alone = []
        for _ in range(runs):
            start = time.perf_counter()
            diff_encoded(old, new)
            diff_alone.append(time.perf_counter() - start)
        del old, new
        rest = "code,config,command,seed,packages,framework,gpu,determinism,env,system,metrics,resources"
        full = [_time([REPRO, "diff", a, b], repo) for _ in range(runs)]
        as_json = [_time([REPRO, "diff", "--json", a, b], repo) for _ in range(runs)]
        without_trees = [_time([REPRO, "diff", "--section", rest, a, b], repo) for _ in range(runs)]
    return {
        "full_s": statistics.median(full),
        "json_s": statistics.median(as_json),
        "without_trees_s": statistics.median(without_trees),
        "diff_encoded_s": statistics.median(diff_alone),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument(
        "--write", action="store_true", help="record the figures in bench/RESULTS.md"
    )
    args = parser.parse_args()
    r = measure(args.runs, args.files)
    met = "met" if r["full_s"] <= 1.0 else "**not met**"
    report = (
        f"| `repro diff A B` (rendered) | {r['full_s']:.2f} s | ≤ 1 s: {met} |\n"
        f"| `repro diff --json A B` | {r['json_s']:.2f} s | |\n"
        f"| `repro diff --section` all but data and outputs | {r['without_trees_s']:.2f} s | everything but the manifests |\n"
        f"| `fingerprint.diff_encoded` on the two manifests, in-process | {r['diff_encoded_s']:.2f} s | part of the first line |\n"
    )
    print(report, end="")
    if args.write:
        write_section(
            "diff",
            "`repro diff` on two 1,000,000-file runs",
            f"Command: `.venv/bin/python bench/diff.py --runs {args.runs} --write` "
            f"({os.cpu_count()} cores, Python {sys.version.split()[0]}), medians of {args.runs} runs. "
            f"Two runs, each with a {args.files:,}-file dataset manifest and {PACKAGES} packages; "
            "B has 1% of the files modified, 0.5% removed and as many added, 30 package changes, "
            "a new commit and one changed hyperparameter.\n\n"
            "| what | median wall time | notes |\n|---|---|---|\n" + report,
        )


if __name__ == "__main__":
    main()
