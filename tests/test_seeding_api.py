"""The Python API scripts import: repro_run.seed_everything, current_seed, worker_init_fn.

Each test runs a fresh interpreter, since seeding is process-wide state.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy

from repro_run import hook


def python(code: str, tmp_path: Path, **env: str) -> list[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REPRO_", "PYTHONPATH"))}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_importing_repro_run_loads_nothing_heavy(tmp_path: Path) -> None:
    heavy = ("numpy", "torch", "click", "rich", "git", "psutil", "yaml", "repro_run.hook.runtime")
    code = f"import sys, json, repro_run; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    assert json.loads(python(code, tmp_path)[0]) == []


def test_seed_everything_takes_repro_seed(tmp_path: Path) -> None:
    code = (
        "import random, repro_run\n"
        "s = repro_run.seed_everything()\nprint(s, random.random(), repro_run.current_seed())"
    )
    seed, value, current = python(code, tmp_path, REPRO_SEED="11")
    assert (int(seed), float(value), int(current)) == (11, random.Random(11).random(), 11)


def test_without_repro_seed_a_fresh_seed_is_drawn_and_published(tmp_path: Path) -> None:
    code = (
        "import os, random, repro_run\n"
        "print(repro_run.current_seed())\n"
        "s = repro_run.seed_everything()\n"
        "print(s, random.random(), repro_run.current_seed(), os.environ['REPRO_SEED'])"
    )
    before, seed, value, current, env_seed = python(code, tmp_path)
    assert before == "None" and seed == current == env_seed
    assert float(value) == random.Random(int(seed)).random()


def test_frameworks_imported_before_and_after_are_seeded_without_being_imported(
    tmp_path: Path,
) -> None:
    code = (
        "import sys, repro_run\n"
        "repro_run.seed_everything(5)\n"
        "print('numpy' in sys.modules)\n"
        "import numpy\nprint(numpy.random.rand())\n"
        "repro_run.seed_everything(6)\nprint(numpy.random.rand())\n"
    )
    loaded, after_import, reseeded = python(code, tmp_path)
    assert loaded == "False"
    assert float(after_import) == numpy.random.RandomState(5).rand()
    assert float(reseeded) == numpy.random.RandomState(6).rand()


def test_under_the_hook_seed_everything_changes_the_hooks_seed(tmp_path: Path) -> None:
    code = (
        "import repro_run\nprint(repro_run.current_seed())\n"
        "repro_run.seed_everything(42)\n"
        "import numpy\nprint(numpy.random.rand(), repro_run.current_seed())\n"
    )
    run_dir = tmp_path / "run"
    hooked, value, current = python(
        code, tmp_path, PYTHONPATH=hook.BOOT_DIR, REPRO_SEED="7", REPRO_RUN_DIR=str(run_dir)
    )
    assert hooked == "7" and current == "42"
    assert float(value) == numpy.random.RandomState(42).rand()
    (facts_file,) = (run_dir / "facts").glob("*.json")
    # `random` is seeded when first imported (here by numpy), so only ever with 42; unless
    # the interpreter's site (a .pth file) imported it before the hook started.
    at_start = python("import sys; print('random' in sys.modules)", tmp_path) == ["True"]
    expected = ["random=7"] * at_start + ["random=42", "numpy=42"]
    assert json.loads(facts_file.read_text())["seeded"] == expected


def test_an_invalid_seed_is_refused(tmp_path: Path) -> None:
    code = (
        "import repro_run\n"
        "for bad in (-1, 2**32, 'x'):\n"
        "    try:\n        repro_run.seed_everything(bad)\n"
        "    except ValueError:\n        print('refused')\n"
    )
    assert python(code, tmp_path) == ["refused"] * 3


def test_worker_init_fn_seeds_random_and_numpy_per_worker(tmp_path: Path) -> None:
    code = (
        "import random, numpy, repro_run\n"
        "repro_run.worker_init_fn(3)\nprint(random.random(), numpy.random.rand())\n"
    )
    value, np_value = python(code, tmp_path, REPRO_SEED="10")
    assert float(value) == random.Random(13).random()  # no torch: the seed plus the worker id
    assert float(np_value) == numpy.random.RandomState(13).rand()
