"""One module per verb: each orders the steps and returns frozen records; none prints.

Progress goes through the `Reporter` protocol that `ui` implements.
"""

from __future__ import annotations

from repro_run.app.datasets import fingerprint_paths
from repro_run.app.doctor import doctor
from repro_run.app.query import list_runs, open_store, reruns_of, show
from repro_run.app.reporting import NullReporter, Reporter
from repro_run.app.rerun import RerunOptions, RerunResult, rerun
from repro_run.app.run import RunOptions, run

__all__ = [
    "NullReporter",
    "Reporter",
    "RerunOptions",
    "RerunResult",
    "RunOptions",
    "doctor",
    "list_runs",
    "open_store",
    "rerun",
    "reruns_of",
    "run",
    "show",
]
__all__ += ["fingerprint_paths"]
