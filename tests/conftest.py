"""Shared fixtures: real git repositories in tmp_path with a pinned, isolated git environment
(the code they share with the test modules is in tests/helpers/)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

# The helpers assert too, and pytest explains a failing assert only in the modules it rewrote on
# import: register them before the first import of any (this file is loaded before every test).
pytest.register_assert_rewrite("helpers")
from helpers.repos import GIT_ENV, MakeRepo, commit_all, git, write_files  # noqa: E402
from helpers.s3 import S3Server, TeamRemote  # noqa: E402
from helpers.slurm import SlurmCluster, require_slurm  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's git config, repro store override or cache."""
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("REPRO_HOME", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def make_repo(tmp_path: Path) -> Iterator[MakeRepo]:
    """`make_repo({"train.py": "..."})` -> a committed repository (clean tree)."""
    counter = 0

    def _make(files: Mapping[str, str | bytes] | None = None, *, commit: bool = True) -> Path:
        nonlocal counter
        counter += 1
        root = tmp_path / f"repo{counter}"
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        write_files(root, files if files is not None else {"README.md": "hello\n"})
        if commit:
            commit_all(root, "initial")
        return root

    yield _make


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A real one-host Slurm (munged, slurmctld, slurmd), started once for the session."""
    require_slurm()
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def slurm(slurm_cluster: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlurmCluster]:
    """The session's Slurm, its SLURM_CONF set for the test's commands; no job left after."""
    for name, value in slurm_cluster.env.items():
        monkeypatch.setenv(name, value)
    yield slurm_cluster
    slurm_cluster.run("scancel", "--user=root", check=False)
    slurm_cluster.wait_idle()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 endpoint on 127.0.0.1 (moto), shared by the session: each test its bucket."""
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture(params=["s3", "file"])
def remote(
    request: pytest.FixtureRequest,
    s3_server: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> TeamRemote:
    """A fresh remote, once on the local S3 server and once as a file:// shared directory."""
    if request.param == "s3":
        return _on_s3(s3_server, monkeypatch)
    found = TeamRemote.in_directory(tmp_path / "shared")
    monkeypatch.setenv("REPRO_REMOTE", found.url)
    return found


@pytest.fixture
def s3_remote(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> TeamRemote:
    """A fresh bucket on the local S3 server, whose requests a test counts."""
    return _on_s3(s3_server, monkeypatch)


def _on_s3(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> TeamRemote:
    """AWS_* set as a team's machine has them (with a canary secret key); REPRO_REMOTE."""
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    found = TeamRemote.on_s3(server)
    monkeypatch.setenv("REPRO_REMOTE", found.url)
    return found
