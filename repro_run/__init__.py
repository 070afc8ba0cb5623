"""repro: make ML runs reproducible by prefixing the command you already use.

Importing this package is cheap: it imports nothing heavy, so scripts can use its API.
"""

from __future__ import annotations

__version__ = "0.1.0"
