"""Seed resolution and the environment injected into the child (pure functions)."""

from __future__ import annotations

import os

import pytest

from repro_run.core.constants import MAX_SEED
from repro_run.core.errors import UsageError
from repro_run.determinism import (
    DETERMINISM_KNOBS,
    XLA_DETERMINISTIC_FLAG,
    child_environment,
    resolve_seed,
    thread_knobs,
    user_overrides,
)
from repro_run.models import Determinism


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


# --- issue 4: determinism knobs, threads, the hook on PYTHONPATH ---------------------------
def _env(base: dict[str, str], **options: object) -> tuple[dict[str, str], Determinism]:
    return child_environment(
        base,
        seed=7,
        seed_source="cli",
        run_id="a",
        run_dir="/r",
        **options,  # type: ignore[arg-type]
    )


def test_deterministic_sets_every_knob_of_the_table_before_exec() -> None:
    env, record = _env({}, deterministic=True)
    assert env["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert env["TF_DETERMINISTIC_OPS"] == "1" and env["TF_CUDNN_DETERMINISTIC"] == "1"
    assert env["XLA_FLAGS"] == "--xla_gpu_deterministic_ops=true"
    for knob in DETERMINISM_KNOBS:
        assert env[knob.name] == knob.value and record.injected[knob.name] == knob.value
    assert record.deterministic is True


def test_every_knob_names_its_source() -> None:
    for knob in (*DETERMINISM_KNOBS, XLA_DETERMINISTIC_FLAG, *thread_knobs(4)):
        assert knob.source.startswith("https://"), knob


def test_no_deterministic_sets_no_framework_knob() -> None:
    env, record = _env({}, deterministic=False)
    assert not {k.name for k in DETERMINISM_KNOBS} & set(env)
    assert "XLA_FLAGS" not in env and record.deterministic is False
    assert env["PYTHONHASHSEED"] == "7"  # the seed and hash seed are always set


def test_xla_flag_is_merged_into_the_users_xla_flags() -> None:
    env, record = _env({"XLA_FLAGS": "--xla_dump_to=/tmp/x"}, deterministic=True)
    assert env["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_gpu_deterministic_ops=true"
    assert record.injected["XLA_FLAGS"] == env["XLA_FLAGS"]


def test_users_own_xla_determinism_flag_wins_and_is_recorded() -> None:
    mine = "--xla_gpu_deterministic_ops=false"
    env, record = _env({"XLA_FLAGS": mine}, deterministic=True)
    assert env["XLA_FLAGS"] == mine and record.user_set["XLA_FLAGS"] == mine


def test_users_knob_value_wins_and_is_recorded_as_theirs() -> None:
    env, record = _env(
        {"CUBLAS_WORKSPACE_CONFIG": ":16:8", "OMP_NUM_THREADS": "3"}, deterministic=True, threads=8
    )
    assert env["CUBLAS_WORKSPACE_CONFIG"] == ":16:8" and env["OMP_NUM_THREADS"] == "3"
    assert record.user_set == {"CUBLAS_WORKSPACE_CONFIG": ":16:8", "OMP_NUM_THREADS": "3"}
    assert "CUBLAS_WORKSPACE_CONFIG" not in record.injected
    assert env["MKL_NUM_THREADS"] == "8"


def test_threads_fix_every_thread_pool_and_tell_the_hook() -> None:
    env, record = _env({}, threads=4)
    for name in (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    ):
        assert env[name] == "4"
    assert env["OMP_DYNAMIC"] == "FALSE" and env["MKL_DYNAMIC"] == "FALSE"
    assert env["REPRO_THREADS"] == "4" and record.threads == 4


def test_hook_goes_first_on_pythonpath_keeping_the_users_entries() -> None:
    env, record = _env({"PYTHONPATH": "/mine:/theirs"}, hook_dir="/hook")
    assert env["PYTHONPATH"] == os.pathsep.join(["/hook", "/mine:/theirs"])
    assert record.hook is True and env["REPRO_DETERMINISTIC"] == "0"
    env, _ = _env({}, hook_dir="/hook", deterministic=True)
    assert env["PYTHONPATH"] == "/hook" and env["REPRO_DETERMINISTIC"] == "1"


def test_without_the_hook_pythonpath_is_untouched() -> None:
    env, record = _env({"PYTHONPATH": "/mine"})
    assert env["PYTHONPATH"] == "/mine" and record.hook is False
    assert "REPRO_DETERMINISTIC" not in env


def test_user_overrides_lists_knobs_set_to_other_values() -> None:
    found = user_overrides(
        {
            "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
            "TF_DETERMINISTIC_OPS": "0",
            "PYTHONHASHSEED": "random",
            "XLA_FLAGS": "--xla_gpu_deterministic_ops=false",
        }
    )
    names = [name for name, _, _ in found]
    assert names == ["PYTHONHASHSEED", "TF_DETERMINISTIC_OPS", "XLA_FLAGS"]
    assert user_overrides({"PYTHONHASHSEED": "0"}) == []
