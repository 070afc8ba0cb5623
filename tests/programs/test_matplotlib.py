"""matplotlib, run and rerun through repro: its plots embed a creation date (and, in SVG,
randomly salted element IDs), so the bytes of two identical runs differ and only the content
may be compared; a plotted value that really changed must still fail the rerun."""

from __future__ import annotations

import sys

import pytest
from helpers.programs import Rerun, assert_diverged, assert_identical, run_then_rerun
from helpers.repos import MakeRepo

# matplotlib's defaults; a writer that ignores SOURCE_DATE_EPOCH (which repro may set) is
# what this stands for, so the dates really differ from run to run.
PLOT = """\
import os, sys
os.environ.pop("SOURCE_DATE_EPOCH", None)
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
noise = int.from_bytes(os.urandom(8), "big") / 2**64  # unseeded
last = 0.0625 if sys.argv[1] == "fixed" else noise
fig, ax = plt.subplots()
ax.plot([0, 1, 2, 3], [0.5, 0.25, 0.125, last], marker="o")
ax.set_title("loss")
os.makedirs("plots", exist_ok=True)
for ext in ("pdf", "png", "svg", "ps"):
    fig.savefig(f"plots/predict0.{ext}")
"""
FILES = ("predict0.pdf", "predict0.png", "predict0.ps", "predict0.svg")
pytestmark = pytest.mark.slow  # two matplotlib runs and a rerun each: ~10 s


def run_and_rerun(make_repo: MakeRepo, variant: str) -> Rerun:
    root = make_repo({"plot.py": PLOT, ".gitignore": "plots/\n"})
    # The PDF and PostScript dates count whole seconds: the rerun's must be another.
    command = ("--outputs", "plots", "--", sys.executable, "plot.py", variant)
    return run_then_rerun(root, *command, pause=1.1)


def test_the_same_plots_rerun_identical_but_for_their_creation_dates(make_repo: MakeRepo) -> None:
    out = assert_identical(run_and_rerun(make_repo, "fixed"))
    assert "plots/predict0.pdf: equal but for its creation date" in out
    assert "plots/predict0.ps: equal but for its creation date" in out
    assert (
        "plots/predict0.svg: equal but for its creation date and its generated element IDs" in out
    )


def test_a_plotted_value_that_changes_diverges_naming_each_plot(make_repo: MakeRepo) -> None:
    out = assert_diverged(run_and_rerun(make_repo, "random"))
    for name in FILES:
        assert f"~ plots/{name}" in out
