"""repro: make ML runs reproducible by prefixing the command you already use.

Importing this package is cheap: it imports nothing heavy, so scripts can use its API, and the
API itself loads on first use (PEP 562), so the `repro` command never pays for it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from repro_run.userapi import current_seed, log_metrics, seed_everything, worker_init_fn

__version__ = "0.1.0"
__all__ = ["__version__", "current_seed", "log_metrics", "seed_everything", "worker_init_fn"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import repro_run.userapi as userapi

    value = getattr(userapi, name)
    globals()[name] = value
    return value
