"""The API a user's script calls from inside a run: stdlib only, cheap to import.

Runs inside the user's process: it imports nothing heavy and nothing from repro_run but
`constants` (tests/test_architecture.py checks both).
"""

from __future__ import annotations

from repro_run.userapi.metrics import log_metrics

__all__ = ["log_metrics"]
