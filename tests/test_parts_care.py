"""`repro gc` and `repro fsck` with runs several supervisors recorded: join files of groups no
supervisor can join any more are removed (safely against one attaching), and a part whose
record cannot be read is named, never breaking commands about the other parts or runs (real
`repro run --join NAME` supervisors; no Slurm needed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import REPRO, record_of, repro
from helpers.parts import AWAIT_PARTS, hold_flock, join_run
from helpers.repos import GIT_ENV, MakeRepo, commit_all, git, write_files

from repro_run.models import PartInfo
from repro_run.store.durable import TEMP_MARKER
from repro_run.store.parts import claim_part

pytestmark = pytest.mark.slow  # real supervisors, several commands each

TRAIN = AWAIT_PARTS + "print('trained')\n"
# Each part logs its own metrics: objects that only its record references.
PART = AWAIT_PARTS + "import repro_run\nrepro_run.log_metrics(step=0, pid=os.getpid())\n"
CLOSED = {"REPRO_JOIN_WINDOW": "0"}  # a group's window closes the second after its run began


def _joins(root: Path) -> list[str]:
    joins = root / ".repro" / "joins"
    return sorted(p.name for p in joins.iterdir()) if joins.exists() else []


def _one_part_run(root: Path, env: dict[str, str] | None = None) -> str:
    """A --join run of one part (each later one would attach while it is open); its ID."""
    (done,) = join_run(root, "train.py", parts=1, env=env)
    assert done.returncode == 0, done.stderr
    return str(record_of(root)["id"])


def test_gc_removes_the_join_file_of_a_group_whose_window_has_closed(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"train.py": TRAIN})
    _one_part_run(root, CLOSED)
    assert len(_joins(root)) == 2  # <digest>.json and .lock
    done = repro(root, "gc", env=CLOSED)
    assert done.returncode == 0, done.stderr
    assert "removed 1 join file(s)" in done.stdout
    assert _joins(root) == []


def test_gc_keeps_the_join_file_of_a_group_still_open(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    _one_part_run(root)
    before = _joins(root)
    done = repro(root, "gc")
    assert done.returncode == 0, done.stderr
    assert "join file" not in done.stdout
    assert _joins(root) == before


def test_gc_keeps_a_join_file_for_the_window_it_was_made_with(make_repo: MakeRepo) -> None:
    """A gc run with a shorter REPRO_JOIN_WINDOW than the job's never closes its group early."""
    root = make_repo({"train.py": TRAIN})
    _one_part_run(root)  # the default window, an hour
    assert repro(root, "gc", env=CLOSED).returncode == 0
    assert len(_joins(root)) == 2


def test_gc_removes_the_join_file_of_a_removed_run(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    run_id = _one_part_run(root)
    shutil.rmtree(root / ".repro" / "runs" / run_id)
    done = repro(root, "gc")
    assert done.returncode == 0, done.stderr
    assert _joins(root) == []


def test_gc_dry_run_names_closed_joins_and_removes_none(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    _one_part_run(root, CLOSED)
    before = _joins(root)
    done = repro(root, "gc", "--dry-run", env=CLOSED)
    assert done.returncode == 0 and "would remove 1 join file(s)" in done.stdout
    assert _joins(root) == before


def test_gc_leaves_a_join_that_a_supervisor_is_attaching_to(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    _one_part_run(root, CLOSED)
    lock = next(p for p in (root / ".repro" / "joins").iterdir() if p.suffix == ".lock")
    holder = hold_flock(lock)
    try:
        done = repro(root, "gc", env=CLOSED)
    finally:
        holder.communicate(b"")
    assert done.returncode == 0, done.stderr
    assert lock.exists() and lock.with_suffix(".json").exists()


def test_a_group_gc_closed_records_its_next_launch_as_a_new_run(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    first = _one_part_run(root, CLOSED)
    assert repro(root, "gc", env=CLOSED).returncode == 0
    second = _one_part_run(root, CLOSED)
    assert second != first
    (join,) = (p for p in (root / ".repro" / "joins").iterdir() if p.suffix == ".json")
    assert json.loads(join.read_text())["run"] == second


# --- a part whose record cannot be read --------------------------------------------------
class Joined:
    """A two-part run and a plain run, recorded once for the module; each test damages a
    copy."""

    def __init__(self, root: Path, run_id: str, plain_id: str) -> None:
        self.root, self.run_id, self.plain_id = root, run_id, plain_id

    def copy(self, tmp_path: Path) -> tuple[Path, Path, Path]:
        """(a copy of the repository, its run's damaged part record, the intact one): the
        first part's is damaged, whose record the run's mirrors."""
        copied = tmp_path / "copy"
        shutil.copytree(self.root, copied, symlinks=True)
        parts = sorted((copied / ".repro" / "runs" / self.run_id / "parts").glob("*.json"))
        parts[0].write_text('{"id": "damaged')
        return copied, parts[0], parts[1]


@pytest.fixture(scope="module")
def joined(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Joined]:
    """(conftest's autouse env isolation is function-scoped: repeated here.)"""
    with pytest.MonkeyPatch.context() as env:
        for name, value in GIT_ENV.items():
            env.setenv(name, value)
        for name in ("REPRO_HOME", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "NO_COLOR"):
            env.delenv(name, raising=False)
        env.setenv("REPRO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        root = tmp_path_factory.mktemp("joined")
        git(root, "init", "-q", "-b", "main")
        write_files(root, {"train.py": PART, "plain.py": "print('alone')\n"})
        commit_all(root, "initial")
        assert repro(root, "run", "plain.py").returncode == 0
        plain_id = str(record_of(root)["id"])
        ended = join_run(root, "train.py")
        assert [done.returncode for done in ended] == [0, 0], [d.stderr for d in ended]
        yield Joined(root, str(record_of(root)["id"]), plain_id)


def test_show_lists_a_part_whose_record_is_damaged_as_unreadable(
    joined: Joined, tmp_path: Path
) -> None:
    root, damaged, intact = joined.copy(tmp_path)
    done = repro(root, "show", joined.run_id)
    assert done.returncode == 0, done.stderr
    assert f"{damaged.stem}  unreadable (its record is damaged)" in done.stdout
    assert f"{intact.stem}  succeeded (exit 0)" in done.stdout


def test_show_lists_a_part_whose_record_is_missing_as_unreadable(
    joined: Joined, tmp_path: Path
) -> None:
    root, damaged, _ = joined.copy(tmp_path)
    damaged.unlink()
    done = repro(root, "show", joined.run_id)
    assert done.returncode == 0, done.stderr
    assert f"{damaged.stem}  unreadable (its record is missing)" in done.stdout


def test_a_damaged_part_breaks_no_command_about_other_runs(joined: Joined, tmp_path: Path) -> None:
    root, _, _ = joined.copy(tmp_path)
    listed = repro(root, "list")
    assert listed.returncode == 0, listed.stderr
    assert joined.run_id[:10] in listed.stdout and joined.plain_id[:10] in listed.stdout
    assert repro(root, "show", joined.plain_id).returncode == 0
    assert repro(root, "log", joined.plain_id).stdout == "alone\n"
    assert repro(root, "diff", joined.plain_id, joined.plain_id).returncode == 0


def test_fsck_names_the_part_whose_record_cannot_be_read(joined: Joined, tmp_path: Path) -> None:
    root, damaged, intact = joined.copy(tmp_path)
    done = repro(root, "fsck")
    assert done.returncode == 9, done.stdout + done.stderr
    damage = [line for line in done.stdout.splitlines() if line.startswith("damage: ")]
    assert len(damage) == 1
    assert f"part '{damaged.stem}' cannot be read" in damage[0]
    assert intact.stem not in done.stdout


def test_fsck_checks_the_other_parts_objects_past_an_unreadable_one(
    joined: Joined, tmp_path: Path
) -> None:
    root, _, intact = joined.copy(tmp_path)
    metrics = json.loads(intact.read_text())["metrics"]["object"]
    (root / ".repro" / "objects" / metrics[:2] / metrics[2:]).unlink()
    done = repro(root, "fsck")
    assert done.returncode == 9
    assert f"object {metrics} (the metrics) is missing" in done.stdout


def test_gc_removes_nothing_while_a_part_cannot_be_read(joined: Joined, tmp_path: Path) -> None:
    root, damaged, _ = joined.copy(tmp_path)
    objects = sorted((root / ".repro" / "objects").rglob("*"))
    done = repro(root, "gc", "--grace", "0")
    assert done.returncode == 9, done.stderr
    assert f"part '{damaged.stem}' cannot be read" in done.stderr
    assert sorted((root / ".repro" / "objects").rglob("*")) == objects


def test_a_supervisor_that_waited_on_a_join_lock_gc_removed_takes_the_groups_lock_afresh(
    tmp_path: Path,
) -> None:
    """What gc does to a closed group (its lock held: the join file, then the lock file, are
    unlinked) while a supervisor waits on that lock: once the lock is free, the supervisor
    holds a file no longer the group's lock, unless it takes the lock file now there."""
    root = tmp_path / "store"
    runs = root / "runs"
    runs.mkdir(parents=True)
    part = PartInfo("node-0", "--join nodes")
    claim_part(root, runs, "join:nodes", part, reused=True)
    joins = root / "joins"
    (lock,) = joins.glob("*.lock")
    gc = hold_flock(lock)
    claimed: list[str] = []
    waiter = threading.Thread(
        target=lambda: claimed.append(
            claim_part(root, runs, "join:nodes", PartInfo("node-1", "--join nodes"), True)[0]
        )
    )
    waiter.start()
    time.sleep(1)  # the supervisor opens the lock file and waits on it
    for path in (lock.with_suffix(".json"), lock):
        path.unlink()
    gc.communicate(b"")
    waiter.join(timeout=30)
    assert claimed and lock.exists()  # taken afresh, so the next supervisor waits on this one


def test_a_part_whose_record_was_damaged_stays_listed_when_another_part_ends(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    """The last part to end rewrites the run's record from every part's: one it cannot read
    keeps the line the run's record had (so show lists it and gc keeps its objects)."""
    gate = tmp_path / "gate"
    waits = f"while not os.path.exists({str(gate)!r}): time.sleep(0.05)\n"
    root = make_repo({"quick.py": AWAIT_PARTS, "slow.py": AWAIT_PARTS + waits})
    argv = [REPRO, "run", "--join", "nodes"]
    slow = subprocess.Popen([*argv, "slow.py"], cwd=root, stderr=subprocess.PIPE)
    assert repro(root, "run", "--join", "nodes", "quick.py", env={"PARTS": "2"}).returncode == 0
    (quick,) = (
        p
        for p in (root / ".repro" / "runs").glob("*/parts/*.json")
        if json.loads(p.read_text())["command"]["argv"] == ["quick.py"]
    )
    quick.write_text('{"id": "damaged')
    gate.touch()
    assert slow.wait(timeout=60) == 0
    written = json.loads((quick.parent.parent / "run.json").read_text())
    assert sorted(p["name"] for p in written["parts"]) == sorted(
        p.stem for p in quick.parent.glob("*.json")
    )
    assert [p["status"] for p in written["parts"]] == ["succeeded", "succeeded"]
    shown = {p["name"]: p["status"] for p in record_of(root)["parts"]}
    assert shown[quick.stem] == "unreadable (its record is damaged)"


def test_a_parts_temp_record_is_not_counted_as_a_part_joining(tmp_path: Path) -> None:
    """A part's record being written (`<name>.json.tmp-…`, or left by a crash) is no part: the
    second supervisor of a launch of two still joins the run of the first."""
    root = tmp_path / "store"
    runs = root / "runs"
    runs.mkdir(parents=True)
    first, _ = claim_part(root, runs, "slurm:12.0", PartInfo("n-0", "slurm", expected=2), False)
    (runs / first / "parts" / f"n-0.json{TEMP_MARKER}0badcafe").write_bytes(b"{")
    second, _ = claim_part(root, runs, "slurm:12.0", PartInfo("n-1", "slurm", expected=2), False)
    assert second == first
