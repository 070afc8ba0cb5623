"""The store on a network file system (reliability scenario C29).

No NFS server here: the file system type is faked at the one boundary that reports it, statfs's
f_type; the failing first write is faked at the index's write transaction. Everything else is a
real store and a real SQLite index.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers.store import add_run

from repro_run.core.errors import StoreError
from repro_run.store import Store, index, netfs

NFS_MAGIC = 0x6969


@pytest.fixture
def on_nfs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netfs, "statfs_type", lambda path: NFS_MAGIC)


def journal_mode(store: Store) -> str:
    with sqlite3.connect(store.root / "index.sqlite") as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def test_statfs_of_a_local_disk_is_not_a_network_file_system(tmp_path: Path) -> None:
    assert netfs.network_filesystem(tmp_path / "not" / "yet" / "there") is None


@pytest.mark.usefixtures("on_nfs")
def test_on_nfs_the_index_keeps_a_rollback_journal(tmp_path: Path) -> None:
    store = Store.open(tmp_path / ".repro")
    add_run(store)
    assert netfs.network_filesystem(store.root) == "nfs"
    assert journal_mode(store) == "delete"
    assert not (store.root / "index.sqlite-wal").exists()
    assert len(store.list_runs()) == 1


def test_an_index_left_in_wal_mode_goes_back_to_a_rollback_journal(tmp_path: Path) -> None:
    store = Store.open(tmp_path / ".repro")
    record = add_run(store)
    with sqlite3.connect(store.root / "index.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    reopened = Store.open(tmp_path / ".repro")
    assert journal_mode(reopened) == "delete"
    assert [s.id for s in reopened.list_runs()] == [record.id]


@pytest.mark.usefixtures("on_nfs")
def test_a_write_that_fails_after_a_healthy_open_loses_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index opened fine, then its first write fails, as a WAL probe on NFS can."""
    store = Store.open(tmp_path / ".repro")

    def failing_write(conn: sqlite3.Connection, body: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(index, "_write", failing_write)
    record = add_run(store)  # the run's record is written; its index row is not
    assert store.load_record(record.id) == record
    with pytest.raises(StoreError) as caught:
        store.list_runs()
    message = str(caught.value)
    assert "disk I/O error" in message and "network file system, nfs" in message
    assert "REPRO_HOME" in message and "\n" not in message
    monkeypatch.undo()
    assert [s.id for s in store.list_runs()] == [record.id]  # nothing was lost
