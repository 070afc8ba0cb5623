"""repro: make ML runs reproducible by prefixing the command you already use.

Importing this package is cheap: it imports nothing heavy, so scripts can use its API.
"""

from __future__ import annotations

from repro_run.userapi import current_seed, log_metrics, seed_everything, worker_init_fn

__version__ = "0.1.0"
__all__ = ["__version__", "current_seed", "log_metrics", "seed_everything", "worker_init_fn"]
