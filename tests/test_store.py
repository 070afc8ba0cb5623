"""Store IDs, layout, records and index on real files."""

from __future__ import annotations

import json
import shlex
import sqlite3
from pathlib import Path

import pytest
from helpers.store import add_run, add_run_with_id, make_record

from repro_run.core.errors import RunNotFoundError, SchemaVersionError, StoreError
from repro_run.core.record import replace
from repro_run.models import (
    FAILED,
    RUNNING,
    SCHEMA_VERSION,
    SUCCEEDED,
    to_json_dict,
)
from repro_run.store import Store, durable
from repro_run.store import ids as run_ids
from repro_run.store.durable import atomic_write_bytes
from repro_run.store.ids import ALPHABET, EPOCH, encode_time, is_run_id, new_run_id, run_id_time
from repro_run.store.run_json import encode_record


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / ".repro")


# --- run IDs -------------------------------------------------------------------------------
def test_run_id_is_eighteen_lowercase_crockford_chars() -> None:
    run_id = new_run_id()
    assert len(run_id) == 18
    assert set(run_id) <= set(ALPHABET)
    assert not set(run_id) & set("ilou")
    assert is_run_id(run_id)


def test_run_ids_sort_by_creation_time() -> None:
    times = [EPOCH, EPOCH + 1, EPOCH + 59, EPOCH + 86_400, EPOCH + 10**9]
    made = [new_run_id(t) for t in times]
    assert made == sorted(made)
    assert [run_id_time(run_id) for run_id in made] == times


def test_run_id_time_is_clamped_outside_its_range() -> None:
    assert encode_time(0) == "000000"
    assert encode_time(EPOCH + 32**6 + 5) == "zzzzzz"


def test_new_run_retries_when_the_id_is_taken(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken, free = "0000000000", "0000000001"
    store.run_dir(taken).mkdir()
    offered = iter([taken, taken, free])
    monkeypatch.setattr(run_ids, "new_run_id", lambda now=None: next(offered))
    assert store.new_run() == (free, store.run_dir(free))


def test_a_clash_never_touches_the_run_that_holds_the_id(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = add_run(store)
    run_dir = store.run_dir(record.id)
    before = {path.name: path.read_bytes() for path in run_dir.iterdir()}
    monkeypatch.setattr(run_ids, "new_run_id", lambda now=None: record.id)  # every draw clashes
    with pytest.raises(StoreError, match="no free run ID"):
        store.new_run()
    assert {path.name: path.read_bytes() for path in run_dir.iterdir()} == before
    assert store.run_ids() == [record.id]


def test_ten_thousand_ids_drawn_in_one_second_are_distinct() -> None:
    # 60 random bits: 4.3e-11 odds of a clash among them (20 bits, before: certain).
    assert len({new_run_id(EPOCH + 1) for _ in range(10_000)}) == 10_000


def test_ids_of_the_first_format_stay_valid_and_no_other_length_is() -> None:
    legacy = "2radzysz9t"  # as repro wrote it first: tests/data/run-schema-1.json
    assert is_run_id(legacy) and is_run_id(legacy + "0123abcd")
    assert not any(is_run_id(legacy + "0" * extra) for extra in (1, 7, 9))
    assert not is_run_id(legacy[:9]) and not is_run_id(legacy.upper())


@pytest.mark.parametrize("kernel", [True, False], ids=["renameat2", "mkdir-claim"])
def test_rename_noreplace_never_replaces_an_empty_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: bool
) -> None:
    """os.rename would replace `taken` (empty, as a run directory just made by `mkdir`). Without
    the kernel's no-replace rename (NFS, an old libc: no such file system here), its answer
    "unsupported" is what the fallback is tested with."""
    if not kernel:
        monkeypatch.setattr(durable, "_rename_exclusive", lambda source, target: False)
    staged, taken, free = tmp_path / "staged", tmp_path / "taken", tmp_path / "free"
    staged.mkdir()
    (staged / "run.json").write_text("arriving")
    taken.mkdir()
    with pytest.raises(FileExistsError):
        durable.rename_noreplace(staged, taken)
    assert list(taken.iterdir()) == [] and (staged / "run.json").exists()
    durable.rename_noreplace(staged, free)
    assert (free / "run.json").read_text() == "arriving" and not staged.exists()


# --- layout --------------------------------------------------------------------------------
def test_open_creates_layout(tmp_path: Path) -> None:
    root = tmp_path / "deep" / ".repro"
    Store.open(root)
    assert (root / ".gitignore").read_text() == "*\n"
    assert json.loads((root / "store.json").read_text()) == {"store_version": 1}
    assert (root / "runs").is_dir() and (root / "objects" / "tmp").is_dir()
    assert (root / "index.sqlite").is_file()


def test_open_refuses_a_store_from_a_newer_repro(tmp_path: Path) -> None:
    Store.open(tmp_path)
    (tmp_path / "store.json").write_text('{"store_version": 2}')
    with pytest.raises(SchemaVersionError, match="newer repro"):
        Store.open(tmp_path)


def test_open_in_unwritable_place_names_path_and_hint(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="REPRO_HOME") as caught:
        Store.open(blocker / ".repro")
    assert str(blocker / ".repro") in str(caught.value)


# --- records -------------------------------------------------------------------------------
def test_record_round_trips_with_surrogates_in_argv(store: Store) -> None:
    record = add_run(store, argv=("python", "train.py", "data/\udcff.bin", "ünï"))
    assert store.load_record(record.id) == record
    (summary,) = store.list_runs()
    assert summary.command == shlex.join(record.command.argv)


def test_record_file_is_indented_ascii_json(store: Store) -> None:
    record = add_run(store, argv=("python", "é.py"))
    raw = (store.run_dir(record.id) / "run.json").read_bytes()
    assert raw.isascii()
    assert raw.startswith(b'{\n "id": ')
    assert json.loads(raw) == to_json_dict(record)


def test_each_field_of_a_record_is_on_a_line_of_its_own(store: Store) -> None:
    """A field is found on its line (grep, a diff of two records), and the C encoder writes
    each value: json's `indent` takes its pure-Python one (1,000 ranks: bench/ranks.py)."""
    record = add_run(store, argv=("python", "train.py"))
    lines = (store.run_dir(record.id) / "run.json").read_text().splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    fields = [json.loads("{" + line.rstrip(",") + "}") for line in lines[1:-1]]
    assert [next(iter(f)) for f in fields] == list(to_json_dict(record))
    assert fields[list(to_json_dict(record)).index("command")]["command"]["argv"] == [
        "python",
        "train.py",
    ]


@pytest.mark.parametrize("content", ['{"id": "trunc', "[" * 100_000 + "]" * 100_000])
def test_corrupt_record_is_a_store_error(store: Store, content: str) -> None:
    """Truncated, or nested deeper than Python's recursion limit (no internal error)."""
    record = add_run(store)
    (store.run_dir(record.id) / "run.json").write_text(content)
    with pytest.raises(StoreError, match=f"run {record.id}: the record cannot be read"):
        store.load_record(record.id)


def test_record_missing_a_field_is_a_store_error(store: Store) -> None:
    record = add_run(store)
    document = to_json_dict(record)
    del document["supervisor"]
    (store.run_dir(record.id) / "run.json").write_text(json.dumps(document))
    with pytest.raises(StoreError, match="supervisor"):
        store.load_record(record.id)


def test_record_from_newer_schema_is_refused(store: Store) -> None:
    record = add_run(store)
    document = to_json_dict(record) | {"schema_version": SCHEMA_VERSION + 1, "new": 1}
    (store.run_dir(record.id) / "run.json").write_text(json.dumps(document))
    with pytest.raises(SchemaVersionError, match=r"newer repro .*upgrade repro"):
        store.load_record(record.id)


def test_run_without_record_is_invisible(store: Store) -> None:
    run_id, _ = store.new_run()
    assert store.list_runs() == []
    with pytest.raises(RunNotFoundError):
        store.load_record(run_id)
    with pytest.raises(RunNotFoundError):
        store.resolve(run_id)
    with pytest.raises(RunNotFoundError):
        store.resolve("latest")


# --- listing and the index -------------------------------------------------------------------
def test_list_runs_newest_first_with_summary(store: Store) -> None:
    first = add_run_with_id(store, "0000010000", seed=1)
    second = add_run_with_id(store, "0000020000", status=FAILED, exit_code=3, dirty=True)
    summaries = store.list_runs()
    assert [s.id for s in summaries] == [second.id, first.id]
    top = summaries[0]
    assert (top.status, top.exit_code, top.dirty, top.seed) == (FAILED, 3, True, 1234)
    assert (top.command, top.commit, top.duration) == ("python train.py --lr 0.1", "a" * 40, 12.5)
    assert top.created == second.created


def test_list_runs_orders_one_second_by_created(store: Store) -> None:
    add_run_with_id(store, "00000100zz", created="2026-01-01T00:00:00.1Z")
    add_run_with_id(store, "0000010000", created="2026-01-01T00:00:00.9Z")
    assert [s.id for s in store.list_runs()] == ["0000010000", "00000100zz"]
    assert store.resolve("latest") == "0000010000"
    assert store.resolve("@~1") == "00000100zz"


def test_list_runs_filters_by_status_and_limits(store: Store) -> None:
    for status in (SUCCEEDED, FAILED, SUCCEEDED, SUCCEEDED):
        add_run(store, status=status)
    assert len(store.list_runs(status=SUCCEEDED)) == 3
    assert len(store.list_runs(status=SUCCEEDED, limit=2)) == 2
    assert [s.status for s in store.list_runs(status=FAILED)] == [FAILED]
    assert len(store.list_runs(limit=1)) == 1


def test_deleted_index_is_rebuilt_on_list(store: Store) -> None:
    made = {add_run(store).id for _ in range(3)}
    (store.root / "index.sqlite").unlink()
    assert {s.id for s in store.list_runs()} == made
    assert {s.id for s in Store.open(store.root).list_runs()} == made


def test_corrupted_index_is_rebuilt(store: Store) -> None:
    made = add_run(store)
    (store.root / "index.sqlite").write_bytes(b"this is not a database" * 100)
    reopened = Store.open(store.root)
    assert [s.id for s in reopened.list_runs()] == [made.id]


def test_index_of_unknown_version_is_rebuilt(store: Store) -> None:
    made = add_run(store)
    with sqlite3.connect(store.root / "index.sqlite") as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'index_version'")
    assert [s.id for s in Store.open(store.root).list_runs()] == [made.id]


def test_record_written_before_a_crash_is_indexed_by_list(store: Store) -> None:
    run_id, run_dir = store.new_run()
    atomic_write_bytes(run_dir / "run.json", encode_record(make_record(run_id)))  # no index
    assert [s.id for s in store.list_runs()] == [run_id]


def test_finished_record_behind_a_running_row_wins(store: Store) -> None:
    record = add_run(store, status=RUNNING)
    finished = replace(record, status=SUCCEEDED)
    atomic_write_bytes(store.run_dir(record.id) / "run.json", encode_record(finished))
    assert [s.status for s in store.list_runs()] == [SUCCEEDED]
    assert [s.status for s in store.index.query()] == [SUCCEEDED]


def test_removed_run_leaves_the_list(store: Store) -> None:
    keep, gone = add_run(store), add_run(store)
    for path in store.run_dir(gone.id).iterdir():
        path.unlink()
    store.run_dir(gone.id).rmdir()
    assert [s.id for s in store.list_runs()] == [keep.id]


def test_rebuild_index_counts_readable_runs(store: Store) -> None:
    add_run(store)
    broken = add_run(store)
    (store.run_dir(broken.id) / "run.json").write_text("{")
    assert store.rebuild_index() == 1


def test_huge_seed_survives_the_index(store: Store) -> None:
    add_run(store, seed=2**64 - 1)
    assert store.list_runs()[0].seed == 2**64 - 1
