"""Run IDs (issue 19): the CPU cost of `new_run_id` (on every `repro run`) and of the short IDs
`repro list` shows, for 10,000 runs; `--against DIR` times another checkout's `new_run_id` too.

Run with `.venv/bin/python bench/run_ids.py [--against DIR] [--write]`. CPU time (process_time),
best of 7 rounds, the checkouts interleaved: on a shared machine, wall time measures the others.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

from results import write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from repro_run.store.ids import LEGACY_ID_LENGTH, new_run_id
from repro_run.store.resolve import abbreviations

HERE = Path(__file__).resolve().parent.parent
CALLS = 100_000
ROUNDS = 7


def _new_run_id_of(checkout: Path) -> Callable[[], str]:
    """`new_run_id` of the checkout at `checkout`, its ids.py loaded on its own (no imports)."""
    spec = importlib.util.spec_from_file_location(
        f"ids_{abs(hash(checkout))}", checkout / "repro_run" / "store" / "ids.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function: Callable[[], str] = module.new_run_id
    return function


def _cpu_us_per_call(action: Callable[[], object], calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", type=Path, action="append", default=[])
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    checkouts = {f"this checkout ({HERE.name})": HERE}
    checkouts |= {str(path): path.resolve() for path in args.against}
    functions = {name: _new_run_id_of(path) for name, path in checkouts.items()}
    # 10,000 runs, 50 to a second (as a job array starts them): IDs sharing a time part.
    ids = [new_run_id(1.8e9 + n // 50) for n in range(10_000)]
    best = {name: float("inf") for name in functions}
    short_ms = float("inf")
    for _ in range(ROUNDS):
        for name, function in functions.items():
            best[name] = min(best[name], _cpu_us_per_call(function, CALLS))
        shorten = lambda: abbreviations(ids, LEGACY_ID_LENGTH)  # noqa: E731
        short_ms = min(short_ms, _cpu_us_per_call(shorten, 5) / 1000)
    rows = [f"| `new_run_id()` of {name} | {best[name]:.2f} µs |" for name in functions]
    rows.append(f"| `repro list`'s short IDs of 10,000 runs | {short_ms:.1f} ms |")
    against = "".join(f" --against {path}" for path in args.against)
    body = (
        f"Command: `.venv/bin/python bench/run_ids.py{against} --write`: CPU time, best of "
        f"{ROUNDS} rounds ({CALLS:,} calls of `new_run_id` each), interleaved.\n\n"
        "| what | CPU time |\n|---|---|\n" + "\n".join(rows) + "\n"
    )
    print(body)
    if args.write:
        write_section("run-ids", "Run IDs: the cost of 60 random bits (issue 19)", body)


if __name__ == "__main__":
    main()
