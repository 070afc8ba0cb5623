"""repro: make ML runs reproducible by prefixing the command you already use.

Importing this package is cheap: it imports nothing heavy, so scripts can use its API
(`seed_everything`, `current_seed`, `worker_init_fn`; see `repro_run.seeding`).
"""

from __future__ import annotations

from repro_run.seeding import current_seed, seed_everything, worker_init_fn

__version__ = "0.1.0"

__all__ = ["__version__", "current_seed", "seed_everything", "worker_init_fn"]
