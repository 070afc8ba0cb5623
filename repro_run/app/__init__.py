"""One module per verb: each orders the steps and returns frozen records; none prints.

Progress goes through the `Reporter` protocol that `ui` implements. Names are loaded on first
use (PEP 562), so `repro run` imports the run verb only, not rerun, diff or doctor.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from repro_run.app.datasets import fingerprint_paths
    from repro_run.app.doctor import doctor
    from repro_run.app.query import list_runs, open_store, reruns_of, show
    from repro_run.app.reporting import NullReporter, Reporter
    from repro_run.app.rerun import RerunOptions, RerunResult, rerun
    from repro_run.app.run import RunOptions, run

_EXPORTS = {
    "fingerprint_paths": "datasets",
    "doctor": "doctor",
    "list_runs": "query",
    "open_store": "query",
    "reruns_of": "query",
    "show": "query",
    "NullReporter": "reporting",
    "Reporter": "reporting",
    "RerunOptions": "rerun",
    "RerunResult": "rerun",
    "rerun": "rerun",
    "RunOptions": "run",
    "run": "run",
}
__all__ = [
    "NullReporter",
    "Reporter",
    "RerunOptions",
    "RerunResult",
    "RunOptions",
    "doctor",
    "fingerprint_paths",
    "list_runs",
    "open_store",
    "rerun",
    "reruns_of",
    "run",
    "show",
]


class _Verbs(ModuleType):
    """This package, whose verbs keep their names: importing the submodule `app.run` (from
    anywhere: `app.repeat` and `app.rerun` import it) makes importlib set the package's
    attribute `run` to that module, and the verb of that name takes its place again, so
    `app.run` is the function whichever import came first. A test's patch is kept as given."""

    def __setattr__(self, name: str, value: Any) -> None:
        if _EXPORTS.get(name) == name and isinstance(value, ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Verbs


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{module_name}")
    value = getattr(module, name)
    globals()[name] = value
    return value
