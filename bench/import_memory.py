"""Peak memory of `repro import` on hostile bundles (issue 14, item 15): under 200 MB each.

Run with `.venv/bin/python bench/import_memory.py [--header-mb N] [--record-mb N] [--write]`.
Builds, with the crafting code of tests/helpers/bundles.py, the bundles of the issue:
- a normal bundle of a small real run (the baseline);
- a GNU long-name header and a PAX extended header announcing N MB (default 1536: a 1.5 MB
  bundle), which tarfile used to read into memory whole;
- a real run whose run.json is padded to N MB (default 420, kept under the 200x expansion
  limit, as in the issue);
- a real run whose exit code is 10**40 (an integer SQLite cannot hold);
then imports each into a fresh repository with the real `repro` and reports its peak resident
memory (RUSAGE_CHILDREN of a wrapper process whose only child is `repro import`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from results import GIT_ENV, REPRO, write_section

from repro_run.core.humanize import format_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers.bundles import PEAK_RSS_LIMIT, extension_bomb, rebuild_bundle
from helpers.cli import repro_peak_rss

TRAIN = "print('trained')\n"
MB = 1 << 20


def make_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *argv], cwd=root, check=True, capture_output=True)
    return root


def exported_run(scratch: Path) -> Path:
    """A bundle of a real, small run (`repro export`)."""
    source = make_repo(scratch / "source", {"train.py": TRAIN})
    bundle = scratch / "normal.tar.gz"
    for argv in (["run", "python", "train.py"], ["export", "@", "-o", str(bundle)]):
        subprocess.run([REPRO, *argv], cwd=source, check=True, capture_output=True)
    return bundle


def changed_record(normal: Path, path: Path, change: Callable[[dict[str, object]], None]) -> Path:
    """A copy of the normal bundle whose run.json `change` edited (manifest hashes updated)."""
    path.write_bytes(normal.read_bytes())

    def edit(members: dict[str, bytes]) -> None:
        record = json.loads(members["run/run.json"])
        change(record)
        members["run/run.json"] = json.dumps(record).encode()

    rebuild_bundle(path, edit)
    return path


def padded(size: int) -> Callable[[dict[str, object]], None]:
    """Pad a record to about `size` bytes with lines that compress about 90-fold."""

    def pad(record: dict[str, object]) -> None:
        line = 2000
        record["problems"] = [os.urandom(8).hex() + "a" * line for _ in range(size // line)]

    return pad


def huge_exit_code(record: dict[str, object]) -> None:
    process = record["process"]
    assert isinstance(process, dict)
    process["exit_code"] = 10**40


def bundles(scratch: Path, header_mb: int, record_mb: int) -> list[tuple[str, Path]]:
    normal = exported_run(scratch)
    return [
        ("normal bundle (baseline)", normal),
        (
            f"GNU long-name header of {header_mb} MB",
            extension_bomb(scratch / "longname.tar.gz", tarfile.GNUTYPE_LONGNAME, header_mb * MB),
        ),
        (
            f"PAX extended header of {header_mb} MB",
            extension_bomb(scratch / "pax.tar.gz", tarfile.XHDTYPE, header_mb * MB),
        ),
        (
            f"run.json of {record_mb} MB",
            changed_record(normal, scratch / "record.tar.gz", padded(record_mb * MB)),
        ),
        (
            "exit_code 10**40",
            changed_record(normal, scratch / "exit.tar.gz", huge_exit_code),
        ),
    ]


def measure(scratch: Path, name: str, bundle: Path, index: int) -> str:
    target = make_repo(scratch / f"target{index}", {"README": "empty\n"})
    start = time.perf_counter()
    done, peak = repro_peak_rss(target, "import", str(bundle), timeout=600)
    wall = time.perf_counter() - start
    said = (done.stderr or done.stdout).strip().splitlines()
    verdict = "met" if peak < PEAK_RSS_LIMIT else "NOT MET"
    line = f"`{said[-1]}`" if said else ""
    print(f"{name}: exit {done.returncode}, peak {peak / MB:.0f} MB, {wall:.2f} s", flush=True)
    return (
        f"| {name} | {format_bytes(bundle.stat().st_size)} | {done.returncode} | "
        f"{peak / MB:.0f} MB ({verdict}) | {wall:.2f} s | {line} |\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--header-mb", type=int, default=1536)
    parser.add_argument("--record-mb", type=int, default=420)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    os.environ.update(GIT_ENV)
    os.environ.pop("REPRO_HOME", None)
    with tempfile.TemporaryDirectory(prefix="repro-bench-import-") as tmp:
        scratch = Path(tmp)
        os.environ["REPRO_CACHE_DIR"] = str(scratch / "cache")
        rows = [
            measure(scratch, name, bundle, i)
            for i, (name, bundle) in enumerate(bundles(scratch, args.header_mb, args.record_mb))
        ]
    command = "`.venv/bin/python bench/import_memory.py"
    command += f" --header-mb {args.header_mb} --record-mb {args.record_mb} --write`"
    body = (
        f"Command: {command} (2 cores, Python {sys.version.split()[0]}). Peak resident memory "
        "of the real `repro import` (its largest process), each bundle into a fresh "
        f"repository; the target is under {PEAK_RSS_LIMIT // MB} MB.\n\n"
        "| bundle | size | exit | peak RSS | wall time | what repro said |\n"
        "|---|---|---|---|---|---|\n" + "".join(rows) + "\n"
    )
    if args.write:
        write_section("import-memory", "`repro import` peak memory on hostile bundles", body)
    else:
        print(body)


if __name__ == "__main__":
    main()
