"""Secrets in shapes and places that used to leak (issue 14, items 12, 13, 16): the crash log,
connection strings, JSON in an allow-listed variable, `user:password` options, URL passwords
holding `@`, package index tokens, the package list in an export, and masking at scale.
The real CLI on real git repositories; every byte of the store (and the crash log) is searched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers.cli import record_of, repro, store_bytes
from helpers.repos import MakeRepo, git
from helpers.secrets import masked_reference, scrub
from hypothesis import given
from hypothesis import strategies as st

from repro_run.cli.main import exit_code_of
from repro_run.core.constants import SECRET_MASK
from repro_run.core.errors import INTERNAL_ERROR_EXIT_CODE
from repro_run.core.redaction import mask_argv, redact_url

CANARY = "c4nary-Secret-9f3b2a71"
TOKEN = "Zq8Zk2LmN4CANrr1xP0w"  # random enough to be a token: letters and digits
# The child prints its arguments and the variables a test names: the log must be scrubbed.
PRINT_ARGS = "import os, sys; print(sys.argv[1:]); print([os.environ.get(n) for n in sys.argv[1:] if n.isupper()])\n"


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"show.py": PRINT_ARGS})


def run_showing(root: Path, *args: str, env: dict[str, str] | None = None) -> None:
    done = repro(root, "run", "--", sys.executable, "show.py", *args, env=env)
    assert done.returncode == 0, done.stderr


# --- item 12: the crash log -------------------------------------------------------------------
def test_internal_error_crash_log_masks_secret_arguments_and_env(
    project: Path, tmp_path: Path
) -> None:
    """A real internal error (`REPRO_CRASH_AT=1:raise`: an exception at the first durable
    step) writes the crash log; it used to hold argv in clear."""
    cache = tmp_path / "cache"
    env = {"REPRO_CACHE_DIR": str(cache), "REPRO_CRASH_AT": "1:raise", "HF_TOKEN": TOKEN}
    args = (f"--password={CANARY}", "--hub_token", "hub-" + CANARY, "-u", f"admin:pw-{CANARY}")
    done = repro(project, "run", "--", sys.executable, "show.py", *args, env=env)
    assert done.returncode == INTERNAL_ERROR_EXIT_CODE, done.stderr
    log = (cache / "crash.log").read_text()
    assert "simulated bug" in log and f"--password={SECRET_MASK}" in log
    assert CANARY not in log and TOKEN not in log
    assert CANARY not in done.stderr


def test_crash_log_masks_secrets_quoted_by_the_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The traceback's text is masked too: an exception message may quote an env value, or a
    credential it read elsewhere."""
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DB_PASSWORD", CANARY)
    shaped = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"

    def bug() -> None:
        raise ValueError(f"cannot connect with {CANARY!r} nor {shaped}")

    assert exit_code_of(bug) == INTERNAL_ERROR_EXIT_CODE
    log = (tmp_path / "cache" / "crash.log").read_text()
    assert "ValueError: cannot connect with" in log
    assert CANARY not in log and shaped not in log


# --- item 13: missed shapes ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value", "alone"),
    [
        (
            "AZURE_STORAGE_CONNECTION_STRING",
            f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={CANARY}==;"
            "EndpointSuffix=core.windows.net",
            f"{CANARY}==",
        ),
        (
            "DB_CONN",
            f"Server=tcp:db,1433;User Id=sa;Password={CANARY} x;Encrypt=True;",
            f"{CANARY} x",
        ),
        ("ODBC_CONN", f"Driver={{ODBC Driver 18}};Server=db;Uid=sa;Pwd={CANARY};", CANARY),
        ("SLURM_JOB_COMMENT", json.dumps({"api_key": CANARY, "note": "x"}), CANARY),
        ("PIP_INDEX_URL", f"https://pkgs.example.com/simple/{TOKEN}/", TOKEN),
    ],
    ids=["azure storage", "ado", "odbc pwd", "json in an allow-listed variable", "index url token"],
)
def test_secret_inside_an_env_value_reaches_neither_record_nor_log(
    project: Path, name: str, value: str, alone: str
) -> None:
    """The child prints the whole value and the secret alone: both are masked in the log."""
    script = f"import os; v = os.environ[{name!r}]; print(v); print({alone!r} in v and {alone!r})\n"
    (project / "show.py").write_text(script)
    git(project, "commit", "-qam", "print it")
    run_showing(project, env={name: value})
    assert CANARY.encode() not in store_bytes(project)
    assert TOKEN.encode() not in store_bytes(project)
    assert name in record_of(project)["env"]["redacted"]


@pytest.mark.parametrize(
    ("args", "kept"),
    [
        (["-u", f"admin:{CANARY}"], ["-u", f"admin:{SECRET_MASK}"]),
        ([f"--user=admin:{CANARY}"], [f"--user=admin:{SECRET_MASK}"]),
        (
            ["--index-url", f"https://pkgs.example.com/simple/{TOKEN}/"],
            ["--index-url", SECRET_MASK],
        ),
    ],
    ids=["-u user:password", "--user=user:password", "index url token"],
)
def test_credential_argument_is_masked_in_record_and_log(
    project: Path, args: list[str], kept: list[str]
) -> None:
    run_showing(project, *args)
    assert record_of(project)["command"]["argv"][2:] == kept
    assert CANARY.encode() not in store_bytes(project)
    assert TOKEN.encode() not in store_bytes(project)


def test_git_remote_whose_password_holds_an_at_sign_is_stored_without_it(project: Path) -> None:
    """The userinfo runs to the last `@`: `https://user:pa@SECRET@host` became `https://SECRET@host`."""
    git(project, "remote", "add", "origin", f"https://user:pa@{CANARY}@git.example.com/r.git")
    run_showing(project)
    remotes = record_of(project)["code"]["remotes"]
    assert remotes == [{"name": "origin", "url": "https://git.example.com/r.git"}]
    assert CANARY.encode() not in store_bytes(project)


def _install_fake_dist(where: Path, name: str, direct_url: dict[str, object]) -> None:
    """A real installed distribution (PEP 376 dist-info, PEP 610 direct_url.json)."""
    info = where / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n\n")
    (info / "direct_url.json").write_text(json.dumps(direct_url))


def test_direct_url_whose_password_holds_an_at_sign_is_stored_without_it(
    project: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    vcs = {"vcs": "git", "commit_id": "abc123"}
    _install_fake_dist(site, "atpkg", {"url": f"https://u:pa@{CANARY}@host/r.git", "vcs_info": vcs})
    index_url = f"https://pkgs.example.com/simple/{TOKEN}/idxpkg/idxpkg-1.0.tar.gz"
    _install_fake_dist(site, "idxpkg", {"url": index_url, "archive_info": {}})
    run_showing(project, env={"PYTHONPATH": str(site)})
    assert CANARY.encode() not in store_bytes(project)
    assert TOKEN.encode() not in store_bytes(project)


def test_export_scans_the_package_list(project: Path, tmp_path: Path) -> None:
    """A package list holding a credential (an editable checkout under a token-named folder,
    or a record from an older repro) refuses the export like any other member."""
    site = tmp_path / "site"
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    _install_fake_dist(
        site, "devpkg", {"url": f"file:///src/{token}/dev", "dir_info": {"editable": True}}
    )
    run_showing(project, env={"PYTHONPATH": str(site)})
    run_id = record_of(project)["id"]
    bundle = tmp_path / "b.tar.gz"
    done = repro(project, "export", run_id, "-o", str(bundle))
    assert done.returncode == 31, done.stderr
    assert "package list:1 (credential shape)" in done.stderr
    assert not bundle.exists()


@pytest.mark.parametrize(
    ("argv", "masked"),
    [
        (
            ["sshpass", "-p", CANARY, "ssh", "-p", "2222", "h"],
            ["sshpass", "-p", SECRET_MASK, "ssh", "-p", "2222", "h"],
        ),
        (["mysql", "-h", "db", f"-p{CANARY}", "x"], ["mysql", "-h", "db", f"-p{SECRET_MASK}", "x"]),
        (["mysql", "-p", "dbname"], ["mysql", "-p", "dbname"]),
        (["ssh", "-p", "2222", "host"], ["ssh", "-p", "2222", "host"]),
        (["mkdir", "-p", "out/run"], ["mkdir", "-p", "out/run"]),
        (["docker", "run", "-u", "1000:1000", "img"], ["docker", "run", "-u", "1000:1000", "img"]),
        (["python", "-u", "train.py"], ["python", "-u", "train.py"]),
        (["curl", "-u", "admin", "https://h"], ["curl", "-u", "admin", "https://h"]),
        (["x", "--passwd", CANARY], ["x", "--passwd", SECRET_MASK]),
    ],
    ids=[
        "sshpass -p",
        "mysql -pX",
        "mysql -p DB",
        "ssh -p port",
        "mkdir -p",
        "docker -u uid:gid",
        "python -u",
        "curl -u user (prompts)",
        "--passwd",
    ],
)
def test_short_password_options_are_masked_only_where_they_are_passwords(
    argv: list[str], masked: list[str]
) -> None:
    """`-p` is a port, a path flag or a database name in most programs: only the programs
    whose `-p` is a password lose its value."""
    assert list(mask_argv(argv, ())) == masked


def test_index_url_tokens_are_masked_but_hashes_elsewhere_are_kept() -> None:
    assert (
        redact_url(f"https://pypi.fury.io/{TOKEN}/acct/")
        == f"https://pypi.fury.io/{SECRET_MASK}/acct/"
    )
    wheel = "https://files.pythonhosted.org/packages/3b/6a/64d1a2e8b7c3f4e5d6a7b8c9d0e1f2a3b4c5d6e7f8a9/numpy-1.26.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert redact_url(wheel) == wheel


# --- item 16: masking is linear in the number of secrets ------------------------------------
def test_twenty_thousand_secret_arguments_are_masked_in_bounded_time(project: Path) -> None:
    """Masking tried each secret on each argument (and each log chunk): 20,000 `--passwordN=`
    arguments took 2 min 18 s. The subprocess timeout is a generous bound (quadratic: minutes)."""
    args = [f"--password{i}=pw-{i:05d}-{CANARY}" for i in range(20_000)]
    script = "import sys; print(sys.argv[-1].partition('=')[2])\n"
    (project / "show.py").write_text(script)
    git(project, "commit", "-qam", "print the last value")
    done = repro(project, "run", "--", sys.executable, "show.py", *args, timeout=90)
    assert done.returncode == 0, done.stderr
    argv = record_of(project)["command"]["argv"]
    assert argv[-1] == f"--password19999={SECRET_MASK}"
    assert CANARY.encode() not in store_bytes(project)


@given(
    data=st.lists(st.sampled_from([b"a", b"b", b"ab", b"x" * 30, b"\x00"]), max_size=30),
    cut=st.integers(min_value=0, max_value=300),
    secrets=st.lists(
        st.lists(st.sampled_from(["a", "b", "x" * 30, "xa"]), min_size=1, max_size=4).map("".join),
        min_size=1,
        max_size=4,
    ),
)
def test_long_secrets_sharing_long_prefixes_are_masked_byte_for_byte(
    data: list[bytes], cut: int, secrets: list[str]
) -> None:
    """Secrets longer than the matcher's trie (32 units) that share their first 32 units,
    split anywhere in the stream: every byte of every occurrence is masked, nothing else."""
    stream = b"".join(data)
    assert scrub([stream[:cut], stream[cut:]], secrets) == masked_reference(stream, secrets)
