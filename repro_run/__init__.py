"""repro: make ML runs reproducible by prefixing the command you already use.

Importing this package is cheap: it imports nothing heavy, so scripts can use its API.
"""

from __future__ import annotations

from repro_run.userapi import log_metrics

__version__ = "0.1.0"
__all__ = ["__version__", "log_metrics"]
