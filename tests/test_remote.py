"""`repro push`, `list --remote`, `show --remote`, `pull` and `rerun` through a team remote: a
real S3 endpoint on 127.0.0.1 (moto) and a file:// shared directory, the real CLI, real clones."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers.cli import (
    assert_one_line_error,
    on_terminal,
    record_of,
    repro,
    run_first_format,
    store_bytes,
)
from helpers.programs import SEEDED_TRAIN as TRAIN
from helpers.repos import MakeRepo, git
from helpers.s3 import S3Server, TeamRemote

WRITE_MANY = """\
import os
os.makedirs("out", exist_ok=True)
for i in range(40):
    open(f"out/{i}.txt", "w").write(str(i) * 100)
"""


def _project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": TRAIN, ".gitignore": "out/\n", "cfg.yaml": "lr: 0.1\n"})


def _run(root: Path) -> str:
    done = repro(root, "run", "--seed", "3", "--outputs", "out", "train.py", "--config", "cfg.yaml")
    assert done.returncode == 0, done.stderr
    return str(record_of(root)["id"])


def _clone(root: Path, tmp_path: Path, name: str = "clone") -> Path:
    """A teammate's fresh clone: the commits, an empty store."""
    target = tmp_path / name
    git(tmp_path, "clone", "-q", str(root), str(target))
    return target


def _pushed(make_repo: MakeRepo) -> tuple[Path, str]:
    root = _project(make_repo)
    run_id = _run(root)
    done = repro(root, "push", run_id)
    assert done.returncode == 0, done.stderr
    return root, run_id


@pytest.mark.slow
def test_a_pushed_run_is_listed_shown_pulled_and_reruns_identical_in_a_fresh_clone(
    make_repo: MakeRepo, tmp_path: Path, remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    clone = _clone(root, tmp_path)
    listed = repro(clone, "list", "--remote")
    assert listed.returncode == 0 and run_id in listed.stdout, listed.stderr
    shown = repro(clone, "show", "--remote", run_id[:6])
    assert shown.returncode == 0 and "train.py" in shown.stdout, shown.stderr
    assert not (clone / ".repro" / "runs" / run_id).exists()  # shown without pulling
    pulled = repro(clone, "pull", "--with-outputs", run_id)
    assert pulled.returncode == 0 and f"pulled run {run_id}" in pulled.stdout, pulled.stderr
    assert record_of(clone, run_id)["code"] == record_of(root, run_id)["code"]
    rerun = repro(clone, "rerun", run_id, timeout=120)
    assert rerun.returncode == 0 and "IDENTICAL" in rerun.stdout, rerun.stdout + rerun.stderr


@pytest.mark.slow
def test_rerun_of_a_run_only_on_the_remote_pulls_it_first_saying_so(
    make_repo: MakeRepo, tmp_path: Path, remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    clone = _clone(root, tmp_path)
    rerun = repro(clone, "rerun", run_id, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"run {run_id} is not in this store: pulling it from {remote.url}" in rerun.stderr
    assert "IDENTICAL" in rerun.stdout


def test_pulling_the_same_run_again_changes_nothing(
    make_repo: MakeRepo, tmp_path: Path, remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    clone = _clone(root, tmp_path)
    assert repro(clone, "pull", run_id).returncode == 0
    again = repro(clone, "pull", run_id)
    assert again.returncode == 0 and "already in this store" in again.stdout, again.stderr


def test_a_second_push_of_the_same_run_is_one_request(
    make_repo: MakeRepo, s3_server: S3Server, s3_remote: TeamRemote
) -> None:
    remote = s3_remote
    root, run_id = _pushed(make_repo)
    before = len(s3_server.requests)
    again = repro(root, "push", run_id)
    assert again.returncode == 0 and "already on" in again.stdout, again.stderr
    assert s3_server.requests[before:] == [("GET", f"/{remote.bucket}/team/index/{run_id}.json?")]


def test_a_different_run_under_a_pushed_id_is_refused_never_overwritten(
    make_repo: MakeRepo, tmp_path: Path, remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    before = remote.contents()
    clone = _clone(root, tmp_path)
    assert repro(clone, "pull", run_id).returncode == 0
    record = clone / ".repro" / "runs" / run_id / "run.json"
    record.chmod(0o644)
    record.write_text(record.read_text().replace('"train.py"', '"train.py", "--other"', 1))
    done = repro(clone, "push", run_id)
    assert_one_line_error(done, 46, f"a different run {run_id} is already on")
    assert remote.contents() == before


def test_a_push_whose_id_another_run_claimed_sends_nothing(
    make_repo: MakeRepo, tmp_path: Path, s3_remote: TeamRemote
) -> None:
    """Another run's record on the remote without its index entry (its push was killed): the
    claim is refused before any object or file of this run is sent."""
    root = _project(make_repo)
    run_id = _run(root)
    other = s3_remote.fresh("other")
    scratch = {"REPRO_REMOTE": other.url}
    assert repro(root, "push", run_id, env=scratch).returncode == 0
    clone = _clone(root, tmp_path)
    assert repro(clone, "pull", run_id, env=scratch).returncode == 0
    record = clone / ".repro" / "runs" / run_id / "run.json"
    record.chmod(0o644)
    record.write_text(record.read_text().replace('"train.py"', '"train.py", "--other"', 1))
    claimed = f"runs/{run_id}/run.json"
    s3_remote.write(claimed, other.contents()[claimed])
    before = s3_remote.contents()
    done = repro(clone, "push", run_id)
    assert_one_line_error(done, 46, claimed, "holds another run's file")
    assert s3_remote.contents() == before


@pytest.mark.parametrize("damage", ["tampered", "truncated"])
def test_a_damaged_remote_object_refuses_the_pull_naming_it_and_keeps_nothing(
    make_repo: MakeRepo, tmp_path: Path, remote: TeamRemote, damage: str
) -> None:
    root, run_id = _pushed(make_repo)
    config = record_of(root, run_id)["configs"][0]["object"]
    key = f"objects/{config[:2]}/{config[2:]}"
    data = remote.contents()[key]
    remote.write(key, b"lr: 9.9\n" if damage == "tampered" else data[:-3])
    clone = _clone(root, tmp_path)
    done = repro(clone, "pull", run_id)
    assert_one_line_error(done, 47, f"object {config} (config cfg.yaml)", "nothing was pulled")
    store = clone / ".repro"
    assert not (store / "runs" / run_id).exists()
    assert not any(p.name.startswith("pull-") for p in store.iterdir())
    assert not (store / "objects" / config[:2] / config[2:]).exists()


def test_a_tampered_run_record_on_the_remote_is_refused(
    make_repo: MakeRepo, tmp_path: Path, remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    key = f"runs/{run_id}/run.json"
    remote.write(key, remote.contents()[key].replace(b'"train.py"', b'"evil.py"', 1))
    clone = _clone(root, tmp_path)
    done = repro(clone, "show", "--remote", run_id)
    assert_one_line_error(done, 47, f"{key} does not match the hash its push recorded")


def test_pull_of_a_run_whose_commit_is_missing_says_which_and_git_fetch(
    make_repo: MakeRepo, remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    commit = record_of(root, run_id)["code"]["commit"]
    elsewhere = make_repo({"NOTES.md": "unrelated\n"})
    done = repro(elsewhere, "pull", run_id)
    assert_one_line_error(done, 23, commit, "git fetch")
    assert not (elsewhere / ".repro" / "runs" / run_id).exists()


def test_push_refuses_a_run_whose_log_holds_a_secret_unless_allowed(
    make_repo: MakeRepo, remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    log = root / ".repro" / "runs" / run_id / "output.log"
    log.chmod(0o644)
    log.write_bytes(log.read_bytes() + b"token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\n")
    done = repro(root, "push", run_id)
    assert_one_line_error(done, 31, "output.log:2", "nothing was pushed", "--allow-secrets")
    assert remote.contents() == {}
    allowed = repro(root, "push", "--allow-secrets", run_id)
    assert allowed.returncode == 0 and "output.log:2" in allowed.stderr, allowed.stderr


def test_push_refuses_a_run_flagged_secret_in_patch(
    make_repo: MakeRepo, remote: TeamRemote
) -> None:
    root = _project(make_repo)
    (root / "cfg.yaml").write_text("lr: 0.1\napi_key: ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\n")
    ran = repro(root, "run", "--allow-dirty", "train.py")
    assert ran.returncode == 0, ran.stderr
    run_id = str(record_of(root)["id"])
    done = repro(root, "push", run_id)
    assert done.returncode == 31 and "nothing was pushed" in done.stderr, done.stderr
    assert remote.contents() == {}


def test_push_all_sends_every_finished_run(make_repo: MakeRepo, remote: TeamRemote) -> None:
    root = _project(make_repo)
    ids = {_run(root), _run(root)}
    done = repro(root, "push", "--all")
    assert done.returncode == 0, done.stderr
    listed = repro(root, "list", "--remote", "--json")
    assert {run["id"] for run in json.loads(listed.stdout)} == ids


def test_list_remote_reads_each_index_entry_once_then_from_its_etag_cache(
    make_repo: MakeRepo, s3_server: S3Server, s3_remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    assert run_id in repro(root, "list", "--remote").stdout
    before = len(s3_server.requests)
    again = repro(root, "list", "--remote")
    assert run_id in again.stdout, again.stderr
    assert [method for method, _ in s3_server.requests[before:]] == ["GET"]  # the listing
    assert "list-type=2" in s3_server.requests[-1][1]


def test_a_warm_list_remote_lists_only_the_pushes_since_the_last_listing(
    make_repo: MakeRepo, s3_server: S3Server, s3_remote: TeamRemote
) -> None:
    root, first = _pushed(make_repo)
    assert first in repro(root, "list", "--remote").stdout
    second = _run(root)
    assert repro(root, "push", second).returncode == 0
    before = len(s3_server.requests)
    again = repro(root, "list", "--remote", "--json")
    assert [run["id"] for run in json.loads(again.stdout)] == [second, first], again.stderr
    listing, fetched = s3_server.requests[before:]
    assert "prefix=team%2Fpushed%2F" in listing[1] and "start-after=team%2Fpushed%2F" in listing[1]
    assert fetched == ("GET", f"/{s3_remote.bucket}/team/index/{second}.json?")


def test_a_run_seen_pushed_before_its_entry_existed_is_listed_once_it_does(
    make_repo: MakeRepo, s3_remote: TeamRemote
) -> None:
    """A push caught between its `pushed/` key and its entry (under way, or killed, or its
    pusher stopped for longer than the clock-skew margin): left out, then shown once
    committed, even when later listings no longer ask for its `pushed/` key."""
    root, first = _pushed(make_repo)
    assert first in repro(root, "list", "--remote").stdout
    second = _run(root)
    scratch = s3_remote.fresh("scratch")
    assert repro(root, "push", second, env={"REPRO_REMOTE": scratch.url}).returncode == 0
    pushed = {k: v for k, v in scratch.contents().items() if k.startswith("pushed/")}
    committed = {k: v for k, v in scratch.contents().items() if k not in pushed}
    for key, data in pushed.items():
        s3_remote.write(key, data)
    listed = repro(root, "list", "--remote", "--json")
    assert [run["id"] for run in json.loads(listed.stdout)] == [first], listed.stderr
    for key in pushed:  # as if older than what the next listing asks for
        s3_remote.delete(key)
    for key, data in committed.items():
        s3_remote.write(key, data)
    listed = repro(root, "list", "--remote", "--json")
    assert [run["id"] for run in json.loads(listed.stdout)] == [second, first], listed.stderr


def test_pulling_a_run_whose_id_a_different_local_run_holds_is_refused_changing_nothing(
    make_repo: MakeRepo, tmp_path: Path, remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    clone = _clone(root, tmp_path)
    elsewhere = {"REPRO_REMOTE": f"file://{tmp_path}/elsewhere"}
    assert repro(root, "push", run_id, env=elsewhere).returncode == 0
    assert repro(clone, "pull", run_id, env=elsewhere).returncode == 0
    record = clone / ".repro" / "runs" / run_id / "run.json"
    record.chmod(0o644)
    record.write_text(record.read_text().replace('"train.py"', '"train.py", "--other"', 1))
    before = store_bytes(clone)
    done = repro(clone, "pull", "--with-outputs", run_id)
    assert_one_line_error(done, 33, f"a different run {run_id} is already in this store")
    assert store_bytes(clone) == before


@pytest.mark.slow
def test_a_first_format_run_is_pushed_listed_shown_and_pulled(
    make_repo: MakeRepo, tmp_path: Path, remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = run_first_format(root, "--seed", "3", "--outputs", "out", "train.py")
    assert repro(root, "push", run_id).returncode == 0
    clone = _clone(root, tmp_path)
    listed = repro(clone, "list", "--remote", "--json")
    assert [run["id"] for run in json.loads(listed.stdout)] == [run_id], listed.stderr
    shown = repro(clone, "show", "--remote", "--json", run_id.upper())
    assert json.loads(shown.stdout)["id"] == run_id, shown.stderr
    pulled = repro(clone, "pull", "--with-outputs", run_id)
    assert pulled.returncode == 0, pulled.stderr
    assert record_of(clone, run_id)["outputs"] == record_of(root, run_id)["outputs"]
    assert repro(clone, "fsck").returncode == 0


def test_show_remote_reads_a_prefix_in_any_case_with_look_alike_characters(
    make_repo: MakeRepo, s3_remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    typed = run_id[:8].upper().replace("0", "O").replace("1", "L")
    shown = repro(root, "show", "--remote", "--json", typed)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == run_id


def test_show_remote_of_at_and_latest_is_the_newest_pushed_run(
    make_repo: MakeRepo, s3_remote: TeamRemote
) -> None:
    root = _project(make_repo)
    older, newest = _run(root), _run(root)
    assert repro(root, "push", "--all").returncode == 0
    for ref, expected in (("@", newest), ("latest", newest), ("@~1", older)):
        shown = repro(root, "show", "--remote", "--json", ref)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["id"] == expected, ref


def test_list_remote_leaves_out_index_keys_that_name_no_run(
    make_repo: MakeRepo, s3_remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    s3_remote.write("index/README.json", b"{}")
    s3_remote.write(f"index/{run_id.upper()}.json", b"{}")
    listed = repro(root, "list", "--remote", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [run["id"] for run in json.loads(listed.stdout)] == [run_id]


def test_no_remote_configured_is_a_one_line_error_naming_the_ways(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPRO_REMOTE", raising=False)
    root = _project(make_repo)
    done = repro(root, "list", "--remote")
    assert_one_line_error(done, 44, "--remote URL", "REPRO_REMOTE", "[tool.repro]")


def test_the_remote_comes_from_tool_repro_in_pyproject(
    make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPRO_REMOTE", raising=False)
    url = f"file://{tmp_path}/team"
    root = make_repo(
        {
            "train.py": TRAIN,
            ".gitignore": "out/\n",
            "cfg.yaml": "lr: 0.1\n",
            "pyproject.toml": f'[tool.repro]\nremote = "{url}"\n',
        }
    )
    run_id = _run(root)
    done = repro(root, "push", run_id)
    assert done.returncode == 0 and url in done.stdout, done.stderr
    assert (tmp_path / "team" / "index" / f"{run_id}.json").is_file()


def test_an_unknown_remote_scheme_is_refused(make_repo: MakeRepo) -> None:
    root = _project(make_repo)
    done = repro(root, "list", "--remote", env={"REPRO_REMOTE": "ftp://host/x"})
    assert_one_line_error(done, 44, "'ftp://host/x'", "s3://bucket/prefix")


def _hidden_obstore(tmp_path: Path) -> dict[str, str]:
    """An environment in which `import obstore` fails, as without the `remote` extra."""
    hidden = tmp_path / "hide"
    (hidden / "obstore").mkdir(parents=True)
    (hidden / "obstore" / "__init__.py").write_text("raise ImportError('not installed here')\n")
    return {"PYTHONPATH": str(hidden), "REPRO_REMOTE": f"file://{tmp_path}/team"}


def test_without_obstore_the_remote_commands_name_the_extra_to_install(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    done = repro(root, "push", run_id, env=_hidden_obstore(tmp_path))
    assert_one_line_error(done, 44, "pip install 'repro-run[remote]'")


def test_without_obstore_the_other_commands_work(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    env = _hidden_obstore(tmp_path)
    for args in (["list"], ["show", run_id], ["--help"]):
        done = repro(root, *args, env=env)
        assert done.returncode == 0, done.stderr


def test_a_damaged_index_entry_is_refused_naming_it(
    make_repo: MakeRepo, remote: TeamRemote
) -> None:
    root, run_id = _pushed(make_repo)
    key = f"index/{run_id}.json"
    entry = json.loads(remote.contents()[key])
    entry["files"][0]["name"] = "../../etc/passwd"
    remote.write(key, json.dumps(entry).encode())
    done = repro(root, "list", "--remote")
    assert_one_line_error(done, 47, key, f"does not describe run {run_id}")


@pytest.mark.slow
def test_a_push_on_a_terminal_draws_a_progress_bar_of_files_bytes_and_rate(
    make_repo: MakeRepo, s3_server: S3Server, s3_remote: TeamRemote
) -> None:
    root = make_repo({"train.py": WRITE_MANY, ".gitignore": "out/\n"})
    ran = repro(root, "run", "--outputs", "out", "train.py")
    assert ran.returncode == 0, ran.stderr
    run_id = str(record_of(root)["id"])
    s3_server.delay = 0.05  # 40 uploads one at a time: over the bar's one second
    try:
        screen = on_terminal(root, "push", "-j", "1", run_id)
    finally:
        s3_server.delay = 0.0
    assert f"repro: push {run_id}" in screen, screen
    assert "files" in screen and "/s" in screen, screen
    assert f"pushed run {run_id}" in screen


def _fill_objects(remote: TeamRemote, first_hex: str) -> None:
    """1,000 objects another pusher left, all with digests starting `first_hex`: the first
    listing page ends there, which is how push estimates how large the listing is."""
    assert remote.server is not None
    s3 = remote.server.client()

    def put(n: int) -> None:
        digest = first_hex * 8 + f"{n:056x}"
        s3.put_object(Bucket=remote.bucket, Key=f"team/objects/{digest[:2]}/{digest[2:]}", Body=b"")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(1000)))


@pytest.mark.slow
def test_push_asks_for_each_object_when_the_remote_is_too_large_to_list(
    make_repo: MakeRepo, s3_server: S3Server, s3_remote: TeamRemote
) -> None:
    _fill_objects(s3_remote, "0")  # 1,000 keys cover 1/16**8 of the hashes: ~4e12 objects
    root = _project(make_repo)
    run_id = _run(root)
    before = len(s3_server.requests)
    assert repro(root, "push", run_id).returncode == 0
    sent = s3_server.requests[before:]
    asked = [path for method, path in sent if method == "HEAD" and "/team/objects/" in path]
    assert len(asked) >= 4  # the config, the package list, a manifest, the output file...
    assert len([path for method, path in sent if "list-type=2" in path]) == 1  # one page
    assert repro(root, "show", "--remote", run_id).returncode == 0


@pytest.mark.slow
def test_push_lists_the_objects_when_that_costs_fewer_requests(
    make_repo: MakeRepo, s3_server: S3Server, s3_remote: TeamRemote
) -> None:
    _fill_objects(s3_remote, "f")  # 1,000 keys reach the end of the hashes: one more page
    root = _project(make_repo)
    run_id = _run(root)
    before = len(s3_server.requests)
    assert repro(root, "push", run_id).returncode == 0
    sent = s3_server.requests[before:]
    assert not [path for method, path in sent if method == "HEAD" and "/team/objects/" in path]
    assert [path for method, path in sent if "list-type=2" in path]  # the listing instead
    assert repro(root, "show", "--remote", run_id).returncode == 0


def test_push_of_a_run_whose_object_is_missing_from_the_store_names_it_and_sends_no_entry(
    make_repo: MakeRepo, remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    config = record_of(root, run_id)["configs"][0]["object"]
    (root / ".repro" / "objects" / config[:2] / config[2:]).unlink()
    done = repro(root, "push", run_id)
    assert_one_line_error(done, 8, "cfg.yaml (", config[2:], "cannot be read", "repro fsck")
    assert f"index/{run_id}.json" not in remote.contents()
