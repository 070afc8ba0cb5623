"""The API a user's script calls from inside a run: stdlib only, cheap to import.

Runs inside the user's process: it imports nothing heavy and nothing from repro_run but
`constants` and the stdlib-only `hook` (tests/test_architecture.py checks both).
"""

from __future__ import annotations

from repro_run.userapi.metrics import log_metrics
from repro_run.userapi.seeding import current_seed, seed_everything, worker_init_fn

__all__ = ["current_seed", "log_metrics", "seed_everything", "worker_init_fn"]
