"""Seed resolution and the variables injected into the child before it starts (pure).

Several knobs are read once at interpreter or library start (PYTHONHASHSEED: "fixes str/bytes
hash salt", https://docs.python.org/3/using/cmdline.html#envvar-PYTHONHASHSEED), so they must
be in the child's environment before exec; nothing here can be decided after launch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from repro_run.constants import (
    ENV_PYTHONHASHSEED,
    ENV_PYTHONUNBUFFERED,
    ENV_RUN_DIR,
    ENV_RUN_ID,
    ENV_SEED,
)
from repro_run.errors import UsageError
from repro_run.models import Determinism

MAX_SEED = 2**32 - 1  # PYTHONHASHSEED's range and NumPy's legacy seed range


def resolve_seed(cli_seed: int | None, project_seed: int | None) -> tuple[int, str]:
    """(seed, where it came from): --seed, then [tool.repro] seed, then a fresh random one."""
    for seed, source in ((cli_seed, "cli"), (project_seed, "pyproject")):
        if seed is not None:
            if not 0 <= seed <= MAX_SEED:
                raise UsageError(f"seed {seed} is out of range: use 0..{MAX_SEED}")
            return seed, source
    return int.from_bytes(os.urandom(4), "big"), "random"  # uniform over 0..MAX_SEED


def child_environment(
    base: Mapping[str, str], *, seed: int, seed_source: str, run_id: str, run_dir: str
) -> tuple[dict[str, str], Determinism]:
    """The child's full environment and the record of what repro set in it.

    repro's own variables always win; a knob the user already set keeps the user's value and
    is recorded as theirs, never silently overwritten.
    """
    ours = {ENV_SEED: str(seed), ENV_RUN_ID: run_id, ENV_RUN_DIR: run_dir}
    defaults = {
        ENV_PYTHONHASHSEED: str(seed),
        # Unbuffered output makes a Python child's log arrive line by line through the pipe.
        ENV_PYTHONUNBUFFERED: "1",
    }
    user_set = {name: base[name] for name in defaults if name in base}
    injected = {**{k: v for k, v in defaults.items() if k not in base}, **ours}
    env = {**base, **injected}
    return env, Determinism(seed, seed_source, injected, user_set)
