"""Seed resolution and the environment injected into the child (pure functions)."""

from __future__ import annotations

import pytest

from repro_run.determinism import MAX_SEED, child_environment, resolve_seed
from repro_run.errors import UsageError


def test_cli_seed_beats_project_seed() -> None:
    assert resolve_seed(7, 3) == (7, "cli")
    assert resolve_seed(None, 3) == (3, "pyproject")


def test_random_seed_is_in_pythonhashseed_range() -> None:
    seeds = {resolve_seed(None, None) for _ in range(20)}
    assert all(0 <= s <= MAX_SEED and src == "random" for s, src in seeds)
    assert len(seeds) > 1


def test_out_of_range_seed_is_refused() -> None:
    with pytest.raises(UsageError, match="out of range"):
        resolve_seed(MAX_SEED + 1, None)


def test_seed_run_id_and_hash_seed_are_injected() -> None:
    env, record = child_environment(
        {"PATH": "/bin"}, seed=7, seed_source="cli", run_id="abc", run_dir="/r/abc"
    )
    assert env["REPRO_SEED"] == "7" and env["PYTHONHASHSEED"] == "7"
    assert env["REPRO_RUN_ID"] == "abc" and env["REPRO_RUN_DIR"] == "/r/abc"
    assert env["PATH"] == "/bin"
    assert record.injected["PYTHONHASHSEED"] == "7" and record.user_set == {}


def test_users_own_hash_seed_wins_and_is_recorded_as_theirs() -> None:
    env, record = child_environment(
        {"PYTHONHASHSEED": "0"}, seed=7, seed_source="cli", run_id="a", run_dir="/r"
    )
    assert env["PYTHONHASHSEED"] == "0"
    assert record.user_set == {"PYTHONHASHSEED": "0"}
    assert "PYTHONHASHSEED" not in record.injected
