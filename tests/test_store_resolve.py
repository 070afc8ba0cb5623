"""Resolving what the user typed to a run ID, and telling live runs from crashed ones."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest
from helpers.store import add_run, add_run_with_id, hold_lock

from repro_run.core.errors import AmbiguousRunIdError, RunNotFoundError
from repro_run.core.host import boot_id
from repro_run.models import CRASHED, FAILED, RUNNING, UNKNOWN_REMOTE, RunRecord, Supervisor
from repro_run.store import RunLock, Store, effective_status
from repro_run.store.ids import ALPHABET
from repro_run.store.resolve import abbreviations


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / ".repro")


# --- resolution ----------------------------------------------------------------------------
@pytest.fixture
def three_runs(store: Store) -> list[RunRecord]:
    return [
        add_run_with_id(store, "0000100aaa", argv=("python", "a.py")),
        add_run_with_id(store, "0000100aab", argv=("python", "b.py")),
        add_run_with_id(store, "0000200ccc", argv=("python", "c.py")),
    ]


def test_resolve_exact_and_unique_prefix(store: Store, three_runs: list[RunRecord]) -> None:
    assert store.resolve("0000100aab") == "0000100aab"
    assert store.resolve("00002") == "0000200ccc"
    assert store.resolve("  0000200CC ") == "0000200ccc"  # case-insensitive
    assert store.resolve("OOOO2") == "0000200ccc"  # Crockford look-alikes


def test_a_legacy_id_typed_whole_names_its_run_though_a_longer_id_starts_with_it(
    store: Store,
) -> None:
    legacy = add_run_with_id(store, "0000100aaa", argv=("python", "old.py"))
    longer = add_run_with_id(store, "0000100aaabcdefghj", argv=("python", "new.py"))
    assert store.resolve("0000100AAA") == legacy.id
    assert store.resolve("0000100aaab") == longer.id
    with pytest.raises(AmbiguousRunIdError, match="2 runs match"):
        store.resolve("0000100aa")


def test_abbreviations_are_the_shortest_prefixes_that_name_each_id_alone() -> None:
    ids = ["0000100aaa", "0000100aaabcdefghj", "0000100aaxzzzzzzzz", "0000200ccc00000000"]
    assert abbreviations(ids, 10) == {
        "0000100aaa": "0000100aaa",  # whole: a longer ID starts with it
        "0000100aaabcdefghj": "0000100aaab",
        "0000100aaxzzzzzzzz": "0000100aax",
        "0000200ccc00000000": "0000200ccc",
    }


def test_resolve_ambiguous_lists_candidates_with_commands(
    store: Store, three_runs: list[RunRecord]
) -> None:
    with pytest.raises(AmbiguousRunIdError) as caught:
        store.resolve("0000100aa")
    message = str(caught.value)
    assert "2 runs match" in message
    assert "0000100aab  python b.py" in message and "0000100aaa  python a.py" in message
    assert "0000200ccc" not in message


def test_resolve_ambiguous_shows_at_most_ten(store: Store) -> None:
    for i in range(12):
        add_run_with_id(store, f"00001000{ALPHABET[i]}0")
    with pytest.raises(AmbiguousRunIdError) as caught:
        store.resolve("0000")
    assert str(caught.value).count("python train.py") == 10
    assert "2 more" in str(caught.value)


def test_resolve_unknown(store: Store, three_runs: list[RunRecord]) -> None:
    with pytest.raises(
        RunNotFoundError, match="no run matches 'xyz' \\(repro list shows run IDs\\)"
    ):
        store.resolve("xyz")


def test_resolve_relative_refs(store: Store, three_runs: list[RunRecord]) -> None:
    assert store.resolve("latest") == store.resolve("@") == store.resolve("@~0") == "0000200ccc"
    assert store.resolve("@~1") == "0000100aab"
    assert store.resolve("@~2") == "0000100aaa"
    with pytest.raises(RunNotFoundError, match="only 3 runs"):
        store.resolve("@~3")


def test_a_run_named_alone_is_resolved_without_parsing_any_record(
    store: Store, three_runs: list[RunRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unique prefix, or `@~N` where each second holds one run, needs only run.json's
    presence: `repro show` of a 1,000-rank run parses its 2 MB record once, not twice."""

    def parse(path: Path) -> None:
        raise AssertionError(f"{path} parsed")

    monkeypatch.setattr("repro_run.store.store.peek_record", parse)
    assert store.resolve("00002") == "0000200ccc"
    assert store.resolve("0000100aab") == "0000100aab"
    assert store.resolve("@") == "0000200ccc"
    (store.runs_dir / "0000200ccc" / "run.json").unlink()  # still being created: invisible
    monkeypatch.undo()
    assert store.resolve("@") == "0000100aab"  # two runs of one second: ordered by creation


def test_resolve_latest_in_empty_store(store: Store) -> None:
    with pytest.raises(RunNotFoundError, match="no runs"):
        store.resolve("latest")


# --- liveness ------------------------------------------------------------------------------
def test_running_record_without_lock_holder_is_crashed(store: Store) -> None:
    record = add_run(store, status=RUNNING)
    RunLock.acquire(store.run_dir(record.id)).release()
    assert store.effective_status(record) == CRASHED
    assert [s.status for s in store.list_runs()] == [CRASHED]
    assert [s.id for s in store.list_runs(status=CRASHED)] == [record.id]
    assert store.list_runs(status=RUNNING) == []


def test_running_record_without_lock_file_is_crashed(store: Store) -> None:
    record = add_run(store, status=RUNNING)
    assert effective_status(record, store.run_dir(record.id)) == CRASHED


def test_lock_held_by_live_process_is_running_until_it_dies(store: Store) -> None:
    record = add_run(store, status=RUNNING)
    child = hold_lock(store.run_dir(record.id))
    try:
        assert store.effective_status(record) == RUNNING
        assert [s.status for s in store.list_runs(status=RUNNING)] == [RUNNING]
        assert store.effective_status(record) == RUNNING  # probing left it held
    finally:
        child.kill()  # SIGKILL: the supervisor gets no chance to clean up
        child.wait()
    assert store.effective_status(record) == CRASHED


def test_lock_held_by_this_process_is_running(store: Store) -> None:
    record = add_run(store, status=RUNNING)
    with store.run_lock(record.id) as lock:
        assert store.effective_status(record) == RUNNING
        assert lock.held
    assert not lock.held
    assert store.effective_status(record) == CRASHED


def test_running_record_from_another_host_is_unknown(store: Store) -> None:
    other = Supervisor(1, 1.0, platform.node() + "-elsewhere", "other-boot")
    record = add_run(store, status=RUNNING, supervisor=other)
    assert store.effective_status(record) == UNKNOWN_REMOTE


@pytest.mark.skipif(boot_id() is None, reason="no boot id on this platform")
def test_running_record_from_a_previous_boot_is_crashed(store: Store) -> None:
    previous = Supervisor(os.getpid(), 1.0, platform.node(), "0" * 8 + "-previous-boot")
    record = add_run(store, status=RUNNING, supervisor=previous)
    with store.run_lock(record.id):  # even a held lock cannot survive a reboot
        assert store.effective_status(record) == CRASHED


def test_final_status_is_shown_as_recorded(store: Store) -> None:
    record = add_run(store, status=FAILED)
    assert store.effective_status(record) == FAILED
