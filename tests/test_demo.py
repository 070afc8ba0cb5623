"""`make demo`'s script, run as the Makefile runs it: every step works and shows what it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.sh"


@pytest.mark.slow
def test_the_demo_shows_metrics_stats_report_and_export_and_keeps_its_project(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(tmp_path),
        "DEMO_KEEP": "1",
    }
    done = subprocess.run(
        ["bash", str(DEMO)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    steps = {block.split("\n", 1)[0]: block for block in re.split(r"\n\x1b\[1m\$ ", done.stdout)}
    shown = next(text for head, text in steps.items() if head.startswith("repro show @~1"))
    assert re.search(r"^Metrics\n  source  checkpoints/metrics\.jsonl, \d+ values", shown, re.M)
    assert re.search(r"^Reruns\n  \w+  IDENTICAL", shown, re.M)
    stats = next(text for head, text in steps.items() if head.startswith("repro stats grp-"))
    assert re.search(r"^loss +3 ", stats, re.M)
    (kept,) = tmp_path.glob("repro-demo.*")
    assert f"kept: {kept}" in done.stdout
    assert (kept / "report.html").stat().st_size > 0
    assert (kept / "run.bundle").stat().st_size > 0
    assert (kept / ".repro" / "runs").is_dir()
