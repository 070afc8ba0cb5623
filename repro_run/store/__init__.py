"""The run store: `.repro/` layout, run IDs, atomic records, objects, the SQLite index, liveness."""

from __future__ import annotations

from repro_run.store.layout import find_store_dir
from repro_run.store.liveness import RunLock, effective_status, this_supervisor
from repro_run.store.store import Store

__all__ = ["RunLock", "Store", "effective_status", "find_store_dir", "this_supervisor"]
