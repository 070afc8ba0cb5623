"""Write the demo dataset: two Gaussian blobs, 512 rows of 8 features and a label (fixed seed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

out = Path(sys.argv[1] if len(sys.argv) > 1 else "data")
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
labels = rng.integers(0, 2, size=512)
features = rng.normal(size=(512, 8)) + labels[:, None] * 1.5
np.savetxt(out / "train.csv", np.column_stack([features, labels]), delimiter=",", fmt="%.6f")
(out / "README").write_text("demo dataset: 512 rows, 8 features, binary label\n")
