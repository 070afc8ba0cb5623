"""`repro run --repeat N [--seeds] [--same-seed]` and `repro stats`: variance over repeated runs."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import repro
from helpers.repos import MakeRepo

from repro_run.app.run.repeat import parse_seeds, plan_seeds
from repro_run.core.errors import UsageError
from repro_run.metrics.variance import metric_stats, t_quantile_975
from repro_run.ui.stats import stats_lines

# The accuracy depends on the seed only, so the test knows every value in advance.
TRAIN = """\
import os, sys
import repro_run
seed = int(os.environ["REPRO_SEED"])
repro_run.log_metrics(step=0, accuracy=0.5 + seed / 100)
sys.exit(3 if seed == 13 else 0)
"""


def _stats(root: Path, *refs: str) -> dict[str, Any]:
    done = repro(root, "stats", "--json", *refs)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def _group(stdout_and_err: str) -> str:
    return stdout_and_err.split("repro stats ")[-1].split()[0]


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("0-4", (0, 1, 2, 3, 4)), ("1,5,9", (1, 5, 9)), ("0-2,7", (0, 1, 2, 7)), ("3", (3,))],
)
def test_seed_lists_are_parsed(text: str, seeds: tuple[int, ...]) -> None:
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["a", "4-2", "", "-1", "1-"])
def test_bad_seed_lists_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_seeds(text)


def test_seed_plans() -> None:
    assert plan_seeds(3, None, False, None) == (0, 1, 2)
    assert plan_seeds(3, None, False, 10) == (10, 11, 12)
    assert plan_seeds(2, None, True, 7) == (7, 7)
    assert plan_seeds(2, None, True, None) == (None, None)
    assert plan_seeds(None, "4-5", False, None) == (4, 5)
    with pytest.raises(UsageError, match="gives 2 seeds"):
        plan_seeds(3, "0-1", False, None)
    with pytest.raises(UsageError, match="cannot be combined"):
        plan_seeds(2, "0-1", True, None)


def test_statistics_match_the_textbook() -> None:
    values = [0.81, 0.84, 0.79, 0.88, 0.83]
    (stats,) = metric_stats([{"acc": v} for v in values])
    std = statistics.stdev(values)
    half = 2.776 * std / math.sqrt(5)
    assert (stats.n, stats.minimum, stats.maximum) == (5, 0.79, 0.88)
    assert stats.mean == pytest.approx(statistics.fmean(values))
    assert stats.std == pytest.approx(std)
    assert stats.ci95_low == pytest.approx(stats.mean - half)
    assert stats.ci95_high == pytest.approx(stats.mean + half)
    assert t_quantile_975(1) == 12.706 and t_quantile_975(30) == 2.042


@pytest.mark.parametrize(
    ("df", "exact"),  # t(0.975, df), exact to 4 decimals (Student's t tables)
    [(31, 2.0395), (40, 2.0211), (45, 2.0141), (60, 2.0003), (120, 1.9799), (1000, 1.9623)],
)
def test_the_t_quantile_past_the_table_is_not_the_normal_one(df: int, exact: float) -> None:
    assert t_quantile_975(df) == pytest.approx(exact, abs=1e-4)


def test_a_single_run_has_no_spread() -> None:
    (stats,) = metric_stats([{"acc": 0.5}, {}])
    assert (stats.n, stats.std, stats.ci95_low) == (1, None, None)
    lines = stats_lines(None, ["a", "b"], [1, 2], [stats])
    assert lines[0] == "runs: 2 run(s), seeds 1, 2"
    assert lines[2].split() == ["acc", "1", "0.5", "-", "0.5", "0.5", "-"]


@pytest.mark.parametrize(
    ("values", "mean", "std", "low", "high"),
    [
        ([math.nan, 1.0], math.nan, math.nan, math.nan, math.nan),
        ([math.inf, 1.0], math.inf, math.nan, 1.0, math.inf),
        ([math.inf, -math.inf], math.nan, math.nan, -math.inf, math.inf),
        ([1e308, 1e308], 1e308, 0.0, 1e308, 1e308),
    ],
    ids=["nan", "inf", "both infinities", "near the limit"],
)
def test_spread_of_values_that_are_not_ordinary_numbers(
    values: list[float], mean: float, std: float, low: float, high: float
) -> None:
    """A diverged run's NaN loss, an infinity or values near a double's limit: figures (NaN
    where none exists), never an internal error."""
    (stats,) = metric_stats([{"loss": v} for v in values])
    got = (stats.mean, stats.std, stats.minimum, stats.maximum)
    assert [str(x) for x in got] == [str(x) for x in (mean, std, low, high)]


def test_repeat_starts_a_group_with_seeds_and_stats_summarises_it(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    done = repro(root, "run", "--repeat", "3", "train.py")
    assert done.returncode == 0, done.stderr
    document = _stats(root, _group(done.stdout + done.stderr))
    assert document["seeds"] == [0, 1, 2]
    (accuracy,) = document["metrics"]
    assert accuracy["n"] == 3
    assert accuracy["mean"] == pytest.approx(0.51)
    assert accuracy["minimum"] == 0.5 and accuracy["maximum"] == 0.52
    table = repro(root, "stats", _group(done.stdout + done.stderr))
    assert "accuracy  3" in table.stdout and "95% CI" in table.stdout


def test_repeat_reports_each_run_as_it_finishes(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    done = repro(root, "run", "--repeat", "2", "train.py")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "run 2 of 2" in line or "exit" in line]
    assert "succeeded" in lines[0] and "run 2 of 2" in lines[1] and "succeeded" in lines[2]


def test_same_seed_repeats_one_seed(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    done = repro(root, "run", "--repeat", "2", "--same-seed", "--seed", "5", "train.py")
    assert done.returncode == 0, done.stderr
    document = _stats(root, _group(done.stdout + done.stderr))
    assert document["seeds"] == [5, 5]
    assert document["metrics"][0]["std"] == 0.0


def test_listed_seeds_and_the_first_failure_s_exit_code(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    done = repro(root, "run", "--seeds", "12-14", "train.py")
    assert done.returncode == 3
    listed = repro(root, "list", "--json")
    assert len(json.loads(listed.stdout)) == 3


def test_stats_of_listed_runs(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    for seed in ("1", "3"):
        assert repro(root, "run", "--seed", seed, "train.py").returncode == 0
    document = _stats(root, "@", "@~1")
    assert document["group"] is None
    assert document["metrics"][0]["mean"] == pytest.approx(0.52)


def test_unknown_group_is_not_found(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    assert repro(root, "run", "train.py").returncode == 0
    done = repro(root, "stats", "grp-0000000000")
    assert done.returncode == 7
    assert "no run belongs to group grp-0000000000" in done.stderr
