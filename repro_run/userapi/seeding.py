"""The Python API for scripts that want explicit control over seeds.

    import repro_run
    seed = repro_run.seed_everything()        # REPRO_SEED under `repro run`, else a fresh seed
    loader = DataLoader(..., worker_init_fn=repro_run.worker_init_fn,
                        generator=torch.Generator().manual_seed(seed))

Importing it is cheap: the standard library only. `seed_everything` seeds `random` now, and
NumPy, torch and TensorFlow now if the script imported them, else the moment it does: it never
imports a framework itself. Under `repro run` it shares the hook's state, so the hook's
seeding of a later import uses the seed given here.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, cast

from repro_run.core.constants import ENV_SEED, HOOK_MODULE_NAME, MAX_SEED

if TYPE_CHECKING:
    from repro_run.hook.runtime import Hook


def seed_everything(seed: int | None = None) -> int:
    """Seed every RNG in this process and return the seed.

    `seed=None` takes `REPRO_SEED` (set by `repro run`), else draws a fresh one. The seed is
    also put in `REPRO_SEED`, so processes started from here (workers, subprocesses) use it.
    """
    if seed is None:
        seed = current_seed()
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer in 0..{MAX_SEED}, got {seed!r}")
    os.environ[ENV_SEED] = str(seed)
    _hook().seed_everything(seed)
    return seed


def current_seed() -> int | None:
    """The seed in effect: the last `seed_everything`, else `REPRO_SEED`, else None."""
    hook = _running_hook()
    if hook is not None and hook.seed is not None:
        return hook.seed
    text = os.environ.get(ENV_SEED, "")
    return int(text) if text.isdigit() and int(text) <= MAX_SEED else None


def worker_init_fn(worker_id: int) -> None:
    """For `DataLoader(worker_init_fn=...)`: seed `random` and NumPy in each worker.

    PyTorch's recipe (https://docs.pytorch.org/docs/stable/notes/randomness.html#dataloader):
    the worker's torch seed (base seed + worker id) also seeds the other generators, so
    workers differ from each other and every run repeats.
    """
    torch: Any = sys.modules.get("torch")
    if torch is not None:
        worker_seed = int(torch.initial_seed()) % 2**32
    else:
        worker_seed = ((current_seed() or 0) + worker_id) % 2**32
    import random

    random.seed(worker_seed)
    numpy: Any = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(worker_seed)


def _running_hook() -> Hook | None:
    """The hook that `repro run` started in this process, or the one the API made."""
    for name in (f"{HOOK_MODULE_NAME}.runtime", "repro_run.hook.runtime"):
        runtime = sys.modules.get(name)
        hook = getattr(runtime, "_current", None)
        if hook is not None:
            return cast("Hook", hook)
    return None


def _hook() -> Hook:
    hook = _running_hook()
    if hook is not None:
        return hook
    from repro_run.hook import runtime

    return runtime.current()
