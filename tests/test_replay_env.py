"""What a rerun replays, as pure functions: the environment, masked arguments, moved paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.store import make_record

from repro_run.app.rerun.replay_env import (
    fill_masked_argv,
    parse_pairs,
    replay_environ,
    rewrite_paths,
)
from repro_run.core.errors import MaskedArgumentError, UsageError
from repro_run.core.record import replace
from repro_run.models import EnvCapture


def test_recorded_values_come_back_launch_variables_stay_and_strays_go() -> None:
    record = replace(
        make_record("0000000001"),
        env=EnvCapture(
            values={"OMP_NUM_THREADS": "4", "PATH": "/old/bin", "SLURM_JOB_ID": "7", "LANG": "C"},
            names_only=("HOME",),
            redacted=("HF_TOKEN", "WANDB_API_KEY"),
        ),
    )
    current = {
        "OMP_NUM_THREADS": "16",
        "MKL_NUM_THREADS": "2",
        "PATH": "/new/bin",
        "SLURM_JOB_ID": "9",
        "HOME": "/home/me",
        "HF_TOKEN": "secret-from-now",
    }
    env, notes = replay_environ(record, current, Path("/repo"), Path("/tmp/wt"))
    assert env == {
        "OMP_NUM_THREADS": "4",
        "LANG": "C",
        "PATH": "/new/bin",
        "SLURM_JOB_ID": "9",
        "HOME": "/home/me",
        "HF_TOKEN": "secret-from-now",
    }
    assert "MKL_NUM_THREADS unset (the original run did not have it)" in notes
    assert "secret variables of the original run not set here: WANDB_API_KEY" in notes


def test_paths_into_the_repository_name_the_worktree() -> None:
    record = replace(
        make_record("0000000001"),
        env=EnvCapture(values={"PYTHONPATH": "/repo/src:/repo2:/repo"}, names_only=(), redacted=()),
    )
    env, _ = replay_environ(record, {}, Path("/repo"), Path("/tmp/wt"))
    assert env["PYTHONPATH"] == "/tmp/wt/src:/repo2:/tmp/wt"


@pytest.mark.parametrize(
    ("argv", "given", "expected"),
    [
        (("t.py", "--hub_token", "***"), {"hub_token": "T"}, ("t.py", "--hub_token", "v")),
        (("t.py", "--password=***"), {"password": "T"}, ("t.py", "--password=v")),
        (("t.py", "db.password=***"), {"db.password": "T"}, ("t.py", "db.password=v")),
        (("t.py", "https://***@host/x"), {"#1": "T"}, ("t.py", "https://v@host/x")),
    ],
)
def test_masked_arguments_are_filled_from_the_named_variable(
    argv: tuple[str, ...], given: dict[str, str], expected: tuple[str, ...]
) -> None:
    assert fill_masked_argv(argv, "r1", given, {"T": "v"}) == expected


def test_an_unfilled_or_unknown_secret_argument_is_refused() -> None:
    with pytest.raises(MaskedArgumentError, match="--secret-arg hub_token=ENV_VAR"):
        fill_masked_argv(("t.py", "--hub_token", "***"), "r1", {}, {})
    with pytest.raises(MaskedArgumentError, match="T is not set"):
        fill_masked_argv(("t.py", "--hub_token", "***"), "r1", {"hub_token": "T"}, {})
    with pytest.raises(UsageError, match="no such argument"):
        fill_masked_argv(("t.py",), "r1", {"hub_token": "T"}, {"T": "v"})


def test_arguments_naming_a_moved_absolute_path_are_rewritten() -> None:
    moved = {"/data/old": "/mnt/new"}
    argv = ("t.py", "/data/old", "--data=/data/old/train", "/data/older", "x")
    assert rewrite_paths(argv, moved) == (
        "t.py",
        "/mnt/new",
        "--data=/mnt/new/train",
        "/data/older",
        "x",
    )


def test_pairs_must_have_a_name_and_a_value() -> None:
    assert parse_pairs(["a=b=c"], "--data") == {"a": "b=c"}
    with pytest.raises(UsageError, match="expected NAME=VALUE"):
        parse_pairs(["a"], "--data")
