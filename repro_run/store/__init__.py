"""The run store: `.repro/` layout, run IDs, atomic records, objects, the SQLite index, liveness."""

from __future__ import annotations

from repro_run.store.layout import repro_home, store_dir_of
from repro_run.store.liveness import RunLock, effective_status, this_supervisor
from repro_run.store.store import Store

__all__ = [
    "RunLock",
    "Store",
    "effective_status",
    "repro_home",
    "store_dir_of",
    "this_supervisor",
]
