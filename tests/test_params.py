"""Hyperparameters among a run's arguments (issue 16, item 7): argparse-style options and Hydra
overrides are recorded as parameters, shown with their source, compared by name by `repro diff`,
and a secret one is kept only as a keyed digest."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import record_of, repro, store_bytes
from helpers.repos import MakeRepo

from repro_run.compare.inputs import command_section
from repro_run.models import CommandInfo, Param
from repro_run.models.params import other_arguments, parse_params, parse_scalar

TRAIN = "import sys\nprint('args', len(sys.argv))\n"
PASSWORD = "hunter2"
ARGS = (
    "train.py",
    "--lr",
    "0.001",
    "--epochs=3",
    "db.timeout=7",
    "+data.x=1",
    "~key",
    "--amp",
    "--password",
    PASSWORD,
)
DIGEST = re.compile(r"\*\*\*:[0-9a-f]{6}/[0-9a-f]{12}")


def _run(root: Path, *args: str) -> str:
    done = repro(root, "run", *args)
    assert done.returncode == 0, done.stderr
    return str(record_of(root)["id"])


def _params(root: Path, ref: str = "@") -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in record_of(root, ref)["command"]["params"]}


def _diff(root: Path, a: str, b: str) -> tuple[int, str, dict[str, Any]]:
    """`repro diff A B`'s exit code, text (line breaks folded) and command section (JSON)."""
    text = repro(root, "diff", "--section", "command", a, b)
    document = json.loads(repro(root, "diff", "--json", "--section", "command", a, b).stdout)
    (section,) = document["sections"]
    return text.returncode, " ".join(text.stdout.split()), section


# --- recorded and shown ------------------------------------------------------------------------
def test_argparse_and_hydra_arguments_are_recorded_as_parameters(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    _run(root, *ARGS)
    params = _params(root)
    assert {name: (p["value"], p["given"], p["parsed"]) for name, p in params.items()} == {
        "lr": ("0.001", "--lr", 0.001),
        "epochs": ("3", "--epochs=", 3),
        "db.timeout": ("7", "db.timeout=", 7),
        "data.x": ("1", "+data.x=", 1),
        "key": (None, "~key", None),
        "amp": (None, "--amp", True),
        "password": (params["password"]["value"], "--password", None),
    }


def test_show_lists_parameters_with_where_each_came_from(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    _run(root, *ARGS)
    out = repro(root, "show", "@").stdout
    assert "Parameters" in out
    for line in (
        "lr 0.001 (argument --lr)",
        "epochs 3 (argument --epochs=)",
        "db.timeout 7 (Hydra override db.timeout=)",
        "data.x 1 (Hydra override +data.x= (adds))",
        "key (deleted) (Hydra override ~key (deletes))",
        "amp true (flag --amp)",
    ):
        assert line in " ".join(out.split()), line
    assert re.search(r"password\s+\*\*\*:[0-9a-f]{6}/[0-9a-f]{12}\s+\(argument --password\)", out)


def test_secret_parameter_is_stored_only_as_a_keyed_digest(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    _run(root, *ARGS)
    stored = store_bytes(root)
    assert PASSWORD.encode() not in stored
    assert DIGEST.fullmatch(_params(root)["password"]["value"])
    # Keyed: no plain digest of the value, which a dictionary of passwords would find, is there.
    for plain in (
        hashlib.blake2b(PASSWORD.encode(), digest_size=6).hexdigest(),
        hashlib.sha256(PASSWORD.encode()).hexdigest()[:12],
    ):
        assert plain.encode() not in stored


def test_record_written_before_parameters_decodes_and_compares_by_argv(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"train.py": TRAIN})
    old, new = _run(root, "train.py", "--lr", "0.1"), _run(root, "train.py", "--lr", "0.1")
    path = root / ".repro" / "runs" / old / "run.json"
    document = json.loads(path.read_text())
    del document["command"]["params"]
    path.write_text(json.dumps(document))
    assert record_of(root, old)["command"]["params"] is None
    code, _, section = _diff(root, old, new)
    assert code == 0 and section["status"] == "equal"


# --- compared by name --------------------------------------------------------------------------
def test_diff_names_a_changed_argparse_parameter(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    a = _run(root, "train.py", "--lr", "20", "--epochs=3")
    b = _run(root, "train.py", "--lr", "10", "--epochs=3")
    code, text, section = _diff(root, a, b)
    assert code == 1
    assert "lr 20 → 10" in text
    changed = [c["key"] for c in section["changes"] if c["change"] != "equal"]
    assert changed == ["lr"]  # not also an argv line


def test_diff_sees_a_changed_secret_parameter_without_its_value(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    a = _run(root, "train.py", "--password", PASSWORD)
    same = _run(root, "train.py", "--password", PASSWORD)
    other = _run(root, "train.py", "--password", "hunter3")
    assert _diff(root, a, same)[0] == 0
    code, text, _ = _diff(root, a, other)
    assert code == 1 and re.search(r"password \*\*\*:\S+ → \*\*\*:\S+", text)
    assert b"hunter3" not in store_bytes(root)


def test_secret_digests_of_different_stores_are_not_compared() -> None:
    def command(value: str) -> CommandInfo:
        param = Param("password", value, "--password")
        return CommandInfo(("t.py", "--password", "***"), (), ".", "/t", None, params=(param,))

    section = command_section(
        command("***:aaaaaa/000000000000"), command("***:bbbbbb/111111111111")
    )
    assert not section.differs
    assert section.notes == ("password: secret, masked with another store's key: not compared",)


def test_report_lists_each_runs_parameters(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN, ".gitignore": "out.html\n"})
    run = _run(root, "train.py", "--lr", "0.5", "db.timeout=7")
    assert repro(root, "report", run, "-o", "out.html").returncode == 0
    assert "lr=0.5, db.timeout=7" in (root / "out.html").read_text()


# --- a real Hydra app ----------------------------------------------------------------------------
HYDRA_APP = """\
import hydra
from omegaconf import DictConfig


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg: DictConfig) -> None:
    print("timeout", cfg.db.timeout)


if __name__ == "__main__":
    main()
"""


@pytest.mark.slow
def test_diff_of_two_hydra_runs_names_the_changed_override(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "app.py": HYDRA_APP,
            "conf/config.yaml": "db:\n  host: localhost\n  timeout: 5\n",
            ".gitignore": "outputs/\n",
        }
    )
    a = _run(root, "--", sys.executable, "app.py", "db.timeout=5")
    b = _run(root, "--", sys.executable, "app.py", "db.timeout=7")
    assert "timeout 7" in repro(root, "log", b).stdout  # Hydra applied it
    code, text, _ = _diff(root, a, b)
    assert code == 1 and "db.timeout 5 → 7" in text


# --- the reading of argv (pure) ------------------------------------------------------------------
def test_options_hydra_overrides_and_positionals_are_told_apart() -> None:
    argv = ["train.py", "--shift", "-0.5", "--amp", "x=1", "tags=[a,b]", "data/", "--", "--y=2"]
    found = [(f.param.name, f.param.value, f.indices) for f in parse_params(argv)]
    # A negative number is a value; an override is never an option's value; `--` ends options.
    assert found == [
        ("shift", "-0.5", (1, 2)),
        ("amp", None, (3,)),
        ("x", "1", (4,)),
        ("tags", "[a,b]", (5,)),
    ]
    assert other_arguments(argv) == ("train.py", "data/", "--", "--y=2")


def test_python_interpreter_options_are_not_parameters() -> None:
    found = parse_params(["python3", "-u", "-W", "ignore", "train.py", "-lr", "0.1"])
    assert [(f.param.name, f.param.given) for f in found] == [("lr", "-lr")]
    found = parse_params(["python", "-m", "pkg.train", "++a=b"])
    assert [(f.param.name, f.param.given) for f in found] == [("a", "++a=")]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("3", 3),
        ("-0.5", -0.5),
        ("1e-3", 0.001),
        ("True", True),
        ("false", False),
        ("yes", None),
        ("nan", None),
        ("1e999", None),
        ("9" * 40, None),
        ("[1,2]", None),
    ],
)
def test_a_value_is_parsed_only_where_it_is_unambiguous(text: str, parsed: object) -> None:
    value = parse_scalar(text)
    assert value == parsed and type(value) is type(parsed)


def test_a_repeated_parameter_compares_every_value(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    a = _run(root, "train.py", "--tag", "a", "--tag", "b")
    b = _run(root, "train.py", "--tag", "c", "--tag", "b")
    code, text, _ = _diff(root, a, b)
    assert code == 1 and 'tag ["a", "b"] → ["c", "b"]' in text


def test_store_key_is_made_once_and_kept(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    _run(root, "train.py", "--token", PASSWORD)
    key = (root / ".repro" / "digest.key").read_bytes()
    _run(root, "train.py", "--token", PASSWORD)
    assert (root / ".repro" / "digest.key").read_bytes() == key
    assert len(key) == 64 and (root / ".repro" / "digest.key").stat().st_mode & 0o077 == 0
