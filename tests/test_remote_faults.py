"""The team remote under faults: `kill -9` at every step of a push or a pull, then a retry;
eight stores pushing at once; a server that fails or is gone; a canary secret key that must
reach no output, no file and no remote (reliability scenarios for issue 19)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from itertools import count
from pathlib import Path

import pytest
from helpers.cli import REPRO, assert_one_line_error, record_of, repro, store_bytes
from helpers.repos import MakeRepo, git
from helpers.s3 import CANARY_SECRET, S3Server, TeamRemote

CRASHED = 99  # core.constants.CRASH_AT_EXIT_CODE
TRAIN = """\
import os, random
rng = random.Random(int(os.environ["REPRO_SEED"]))
os.makedirs("out/sub", exist_ok=True)
for i in range(1):
    open(f"out/sub/{i}.txt", "w").write(str(rng.random()))
print("trained")
"""


def _project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": TRAIN, ".gitignore": "out/\n", "cfg.yaml": "lr: 0.1\n"})


def _run(root: Path) -> str:
    done = repro(root, "run", "--outputs", "out", "train.py", "--config", "cfg.yaml")
    assert done.returncode == 0, done.stderr
    return str(record_of(root)["id"])


def _clone(root: Path, target: Path) -> Path:
    git(target.parent, "clone", "-q", str(root), str(target))
    return target


def _pull_verified(clone: Path, run_id: str, env: dict[str, str]) -> None:
    """The run pulled with every object, each verified against its hash on the way."""
    pulled = repro(clone, "pull", "--with-outputs", run_id, env=env)
    assert pulled.returncode == 0, pulled.stderr


@pytest.mark.slow
def test_push_killed_at_every_step_leaves_no_visible_run_and_a_retry_completes_it(
    make_repo: MakeRepo, tmp_path: Path, remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    clone = _clone(root, tmp_path / "clone")
    for step in count(1):
        target = remote.fresh(str(step))
        env = {"REPRO_REMOTE": target.url}
        crashed = repro(root, "push", run_id, env={**env, "REPRO_CRASH_AT": str(step)})
        if crashed.returncode == 0:
            break  # past the last step: every one was crashed at
        assert crashed.returncode == CRASHED, crashed.stderr
        listed = json.loads(repro(clone, "list", "--remote", "--json", env=env).stdout)
        entry_written = f"index/{run_id}.json" in target.contents()
        assert [run["id"] for run in listed] == ([run_id] if entry_written else [])
        retried = repro(root, "push", run_id, env=env)
        assert retried.returncode == 0, retried.stderr
        _pull_verified(clone, run_id, {**env, "REPRO_HOME": str(tmp_path / f"store-{step}")})
    assert step > 5  # objects, run files and the index entry were each crashed at


@pytest.mark.slow
def test_pull_killed_at_every_step_leaves_the_store_sound_and_a_retry_completes_it(
    make_repo: MakeRepo, tmp_path: Path, s3_remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    assert repro(root, "push", run_id).returncode == 0
    clone = _clone(root, tmp_path / "clone")
    for step in count(1):
        env = {"REPRO_HOME": str(tmp_path / f"store-{step}")}
        assert repro(clone, "list", env=env).returncode == 0  # the crash points are the pull's
        crashed = repro(
            clone, "pull", "--with-outputs", run_id, env={**env, "REPRO_CRASH_AT": str(step)}
        )
        if crashed.returncode == 0:
            break
        assert crashed.returncode == CRASHED, crashed.stderr
        fsck = repro(clone, "fsck", env=env)  # sound; the dead puller's staging dir removed
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
        pulled = repro(clone, "pull", "--with-outputs", run_id, env=env)
        assert pulled.returncode == 0, pulled.stderr
    assert step > 5


@pytest.mark.slow
def test_eight_stores_pushing_at_once_lose_nothing(
    make_repo: MakeRepo, tmp_path: Path, s3_remote: TeamRemote
) -> None:
    origin = _project(make_repo)
    clones = [_clone(origin, tmp_path / f"machine{i}") for i in range(8)]
    ids = [_run(clone) for clone in clones]
    pushes = [
        subprocess.Popen([REPRO, "push", run_id], cwd=clone, stderr=subprocess.PIPE, text=True)
        for clone, run_id in zip(clones, ids, strict=True)
    ]
    for push in pushes:
        _, err = push.communicate(timeout=120)
        assert push.returncode == 0, err
    listed = json.loads(repro(origin, "list", "--remote", "--json").stdout)
    assert sorted(run["id"] for run in listed) == sorted(ids)
    for run_id in ids:
        _pull_verified(origin, run_id, {})


def test_a_server_answering_503_is_retried_until_it_recovers(
    make_repo: MakeRepo, s3_server: S3Server, s3_remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    s3_server.failing = 4
    done = repro(root, "push", run_id)
    assert done.returncode == 0, done.stderr
    assert s3_server.failing == 0
    assert f"index/{run_id}.json" in s3_remote.contents()


def test_an_unreachable_remote_is_retried_then_a_one_line_error(
    make_repo: MakeRepo, s3_remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "REPRO_REMOTE_RETRY_TIMEOUT": "2"}
    started = time.monotonic()
    done = repro(root, "push", run_id, env=env)
    assert_one_line_error(done, 45, "cannot read", s3_remote.url)
    assert time.monotonic() - started < 30


def test_the_canary_secret_key_reaches_no_output_file_or_remote(
    make_repo: MakeRepo, tmp_path: Path, s3_remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    clone = _clone(root, tmp_path / "clone")
    done = [
        repro(root, "push", run_id),
        repro(clone, "list", "--remote"),
        repro(clone, "show", "--remote", run_id),
        repro(clone, "pull", "--with-outputs", run_id),
        repro(clone, "push", run_id, env={"REPRO_REMOTE": "s3://no-such-bucket-here/x"}),
        repro(clone, "list", "--remote", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}),
    ]
    assert [d.returncode for d in done] == [0, 0, 0, 0, 45, 45], [d.stderr for d in done]
    secret = CANARY_SECRET.encode()
    for d in done:
        assert CANARY_SECRET not in d.stdout + d.stderr
    assert secret not in store_bytes(root) and secret not in store_bytes(clone)
    cache = Path(os.environ["REPRO_CACHE_DIR"])
    assert all(secret not in p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert all(secret not in data for data in s3_remote.contents().values())


def test_an_error_quoting_a_credential_shows_it_masked(
    make_repo: MakeRepo, s3_remote: TeamRemote
) -> None:
    """obstore's messages quote the endpoint: a password in it must not reach the terminal."""
    root = _project(make_repo)
    endpoint = f"http://team:{CANARY_SECRET}@127.0.0.1:9"
    env = {"AWS_ENDPOINT_URL": endpoint, "REPRO_REMOTE_RETRY_TIMEOUT": "1"}
    done = repro(root, "list", "--remote", env=env)
    assert_one_line_error(done, 45, "cannot list index/", "***")
    assert CANARY_SECRET not in done.stdout + done.stderr


def test_a_sigkilled_push_leaves_no_visible_run_and_the_next_push_sends_only_the_rest(
    make_repo: MakeRepo, tmp_path: Path, s3_server: S3Server, s3_remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    # The pusher stops itself after its claim and two objects, then gets a real SIGKILL.
    pusher = subprocess.Popen(
        [REPRO, "push", "-j", "1", run_id],
        cwd=root,
        env={**os.environ, "REPRO_CRASH_AT": "3:stop"},
        stderr=subprocess.PIPE,
    )
    try:
        assert pusher.stderr is not None
        ready, _, _ = select.select([pusher.stderr], [], [], 60)
        assert ready and b"stopped after push object" in pusher.stderr.readline()
    finally:
        pusher.kill()
        pusher.wait()
    assert pusher.returncode == -signal.SIGKILL
    clone = _clone(root, tmp_path / "clone")
    assert json.loads(repro(clone, "list", "--remote", "--json").stdout) == []
    before = len(s3_server.requests)
    assert repro(root, "push", run_id).returncode == 0
    uploads = [p for m, p in s3_server.requests[before:] if m == "PUT" and "/objects/" in p]
    on_remote = [k for k in s3_remote.contents() if k.startswith("objects/")]
    assert len(uploads) == len(on_remote) - 2  # the two sent before the kill are not sent again
    _pull_verified(clone, run_id, {})


def test_two_pulls_of_one_run_into_one_store_at_once_both_succeed(
    make_repo: MakeRepo, tmp_path: Path, s3_remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    assert repro(root, "push", run_id).returncode == 0
    clone = _clone(root, tmp_path / "clone")
    assert repro(clone, "list").returncode == 0  # the store exists before the race
    pulls = [
        subprocess.Popen([REPRO, "pull", run_id], cwd=clone, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for pull in pulls:
        _, err = pull.communicate(timeout=120)
        assert pull.returncode == 0, err
    fsck = repro(clone, "fsck")
    assert fsck.returncode == 0, fsck.stdout


def test_two_different_runs_pushed_at_once_under_one_id_one_wins_the_other_is_refused(
    make_repo: MakeRepo, tmp_path: Path, s3_remote: TeamRemote
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    twin = _clone(root, tmp_path / "twin")
    assert repro(root, "push", run_id, env={"REPRO_REMOTE": f"file://{tmp_path}/x"}).returncode == 0
    assert repro(twin, "pull", run_id, env={"REPRO_REMOTE": f"file://{tmp_path}/x"}).returncode == 0
    record = twin / ".repro" / "runs" / run_id / "run.json"
    record.chmod(0o644)
    record.write_text(record.read_text().replace('"train.py"', '"train.py", "--twin"', 1))
    pushes = [
        subprocess.Popen([REPRO, "push", run_id], cwd=cwd, stderr=subprocess.PIPE, text=True)
        for cwd in (root, twin)
    ]
    codes = sorted(push.wait(timeout=120) for push in pushes)
    assert codes == [0, 46], [push.stderr.read() for push in pushes if push.stderr]
    shown = repro(root, "show", "--remote", "--json", run_id)
    argv = json.loads(shown.stdout)["command"]["argv"]
    winner = "twin" if "--twin" in argv else "root"
    assert [p.returncode for p in pushes] == ([0, 46] if winner == "root" else [46, 0])
