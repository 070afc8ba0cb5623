"""The seeding hook: runs inside the user's Python processes, never inside repro.

`repro run` puts `boot/` first on the child's PYTHONPATH; Python imports its `sitecustomize`
at start in every Python process of the run, which loads this package under the name
`_repro_hook` (the child's interpreter may not have repro installed). The standard library
only, Python 3.8 syntax, relative imports only: this package imports nothing else from
repro_run. Its names mirror `repro_run.core.constants` (a test keeps them in step).
"""

from __future__ import annotations

import os

BOOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot")

MODULE_NAME = "_repro_hook"
ENV_SEED = "REPRO_SEED"
ENV_RUN_DIR = "REPRO_RUN_DIR"
ENV_DETERMINISTIC = "REPRO_DETERMINISTIC"
ENV_THREADS = "REPRO_THREADS"
FACTS_DIRNAME = "facts"
ENV_PACKAGES_DIGEST = "REPRO_PACKAGES_DIGEST"
