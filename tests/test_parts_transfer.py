"""`repro export` / `repro import` of a run several supervisors recorded: every part's record and
files travel, and a bundle's parts are hostile input like its run record (two real `repro run
--join NAME` supervisors started at once; no Slurm needed)."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.bundles import rebuild_bundle
from helpers.cli import assert_one_line_error, repro, store_bytes
from helpers.parts import AWAIT_PARTS, join_run, part_files
from helpers.repos import GIT_ENV, MakeRepo, commit_all, git, write_files

pytestmark = pytest.mark.slow  # two supervisors, then an export and imports

TRAIN = (
    AWAIT_PARTS
    + """\
import repro_run
for step in range(3):
    repro_run.log_metrics(step=step, loss=1.0 / (step + 1))
os.makedirs("out", exist_ok=True)
with open(f"out/model-{os.getpid()}.txt", "w") as f:
    f.write("weights")
print("trained", os.getpid())
"""
)


class Joined:
    """A two-part run recorded once for the module (dirty, so each part stored a patch), and
    its bundle."""

    def __init__(self, root: Path, run_id: str, bundle: Path) -> None:
        self.root, self.run_id, self.bundle = root, run_id, bundle

    @property
    def run_dir(self) -> Path:
        return self.root / ".repro" / "runs" / self.run_id

    def copy(self, tmp_path: Path) -> Path:
        """A copy of the bundle that a test may change."""
        copied = tmp_path / "copy.tar.gz"
        copied.write_bytes(self.bundle.read_bytes())
        return copied


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
        write_files(root, {"train.py": TRAIN, "notes.md": "v1\n", ".gitignore": "out/\n"})
        commit_all(root, "initial")
        write_files(root, {"notes.md": "v2, not committed\n"})
        ended = join_run(root, "--allow-dirty", "--outputs", "out", "train.py")
        assert [done.returncode for done in ended] == [0, 0], [d.stderr for d in ended]
        (run_dir,) = (root / ".repro" / "runs").iterdir()
        bundle = tmp_path_factory.mktemp("bundle") / "joined.tar.gz"
        done = repro(root, "export", run_dir.name, "-o", str(bundle))
        assert done.returncode == 0, done.stderr
        yield Joined(root, run_dir.name, bundle)


def _imported(joined: Joined, make_repo: MakeRepo, bundle: Path | None = None) -> Path:
    """A repository that never saw the run, with the bundle imported."""
    target = make_repo({"README.md": "elsewhere\n"})
    done = repro(target, "import", str(bundle or joined.bundle))
    assert done.returncode == 0, done.stderr
    return target


def test_a_joined_runs_bundle_carries_each_parts_record_log_metrics_and_patch(
    joined: Joined,
) -> None:
    with tarfile.open(joined.bundle) as tar:
        names = set(tar.getnames())
    parts = sorted(p.stem for p in (joined.run_dir / "parts").glob("*.json"))
    assert len(parts) == 2
    for part in parts:
        assert f"run/parts/{part}.json" in names
        for name in ("output.log", "metrics.jsonl", "patch.diff"):
            assert f"run/parts/{part}/{name}" in names


def test_import_places_every_parts_record_and_files_as_recorded(
    joined: Joined, make_repo: MakeRepo
) -> None:
    target = _imported(joined, make_repo)
    here = part_files(target / ".repro" / "runs" / joined.run_id)
    there = part_files(joined.run_dir)
    assert sorted(here) == sorted(there)
    for name, data in there.items():
        assert here[name] == data, name


def test_log_and_show_of_an_imported_joined_run_read_its_parts(
    joined: Joined, make_repo: MakeRepo
) -> None:
    target = _imported(joined, make_repo)
    first = json.loads((joined.run_dir / "run.json").read_text())["part"]["name"]
    log = repro(target, "log", joined.run_id)
    assert log.returncode == 0 and log.stdout.startswith("trained ")
    assert log.stdout.encode() == (joined.run_dir / "parts" / first / "output.log").read_bytes()
    shown = repro(target, "show", joined.run_id)
    assert shown.returncode == 0, shown.stderr
    for part in (joined.run_dir / "parts").glob("*.json"):
        assert f"{part.stem}  succeeded (exit 0)" in shown.stdout


def test_fsck_finds_a_joined_run_imported_without_its_output_files_whole(
    joined: Joined, make_repo: MakeRepo
) -> None:
    target = _imported(joined, make_repo)
    done = repro(target, "fsck")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 damaged" in done.stdout


def test_importing_a_joined_run_again_changes_nothing(joined: Joined, make_repo: MakeRepo) -> None:
    target = _imported(joined, make_repo)
    before = store_bytes(target)
    done = repro(target, "import", str(joined.bundle))
    assert done.returncode == 0 and "already in this store" in done.stdout
    assert store_bytes(target) == before


def _part_names(members: dict[str, bytes]) -> list[str]:
    return sorted(n for n in members if n.startswith("run/parts/") and n.endswith(".json"))


def _edit_part(change: Callable[[dict[str, object]], None]) -> Callable[[dict[str, bytes]], None]:
    """A change to the bundle: the first part's record edited by `change`."""

    def edit(members: dict[str, bytes]) -> None:
        name = _part_names(members)[0]
        record = json.loads(members[name])
        change(record)
        members[name] = json.dumps(record).encode()

    return edit


def _drop_part(members: dict[str, bytes]) -> None:
    del members[_part_names(members)[0]]


def _stray_part(members: dict[str, bytes]) -> None:
    members["run/parts/other-7/output.log"] = b"not a part of this run\n"


def _renamed_part(members: dict[str, bytes]) -> None:
    """The run's record lists a part whose name is a path."""
    record = json.loads(members["run/run.json"])
    record["parts"][1]["name"] = "../../escaped-1"
    members["run/run.json"] = json.dumps(record).encode()


def _other_run(record: dict[str, object]) -> None:
    record["id"] = "2raaaaaaaaaaaaaaaa"


def _other_part(record: dict[str, object]) -> None:
    part = record["part"]
    assert isinstance(part, dict)
    part["name"] = "another-1"


def _still_running(record: dict[str, object]) -> None:
    record["status"] = "running"


def _out_of_range(record: dict[str, object]) -> None:
    process = record["process"]
    assert isinstance(process, dict)
    process["exit_code"] = 999


def _unlisted_object(record: dict[str, object]) -> None:
    record["code"]["patch_object"] = "0" * 64  # type: ignore[index]


def _oversized(members: dict[str, bytes]) -> None:  # a valid record, 8 MB that barely compress
    name = _part_names(members)[0]
    record = json.loads(members[name])
    record["problems"] = [os.urandom(4 << 20).hex()]
    members[name] = json.dumps(record).encode()


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (_drop_part, ("lacks the record of part",)),
        (_stray_part, ("files of part other-7", "does not list")),
        (_renamed_part, ("names a part '../../escaped-1'",)),
        (_edit_part(_other_run), ("cannot be read", "holds run")),
        (_edit_part(_other_part), ("is not that part of run",)),
        (_edit_part(_still_running), ("is running, not finished",)),
        (_edit_part(_out_of_range), ("cannot be read", "999")),
        (_edit_part(_unlisted_object), ("lacks object " + "0" * 64, "the dirty patch")),
        (_oversized, ("record of part", "over the limit")),
    ],
    ids=[
        "missing",
        "stray",
        "path",
        "other-run",
        "other-part",
        "running",
        "out-of-range",
        "unlisted-object",
        "oversized",
    ],
)
def test_a_bundles_hostile_part_is_refused_and_nothing_is_imported(
    joined: Joined,
    make_repo: MakeRepo,
    tmp_path: Path,
    change: Callable[[dict[str, bytes]], None],
    needles: tuple[str, ...],
) -> None:
    bundle = joined.copy(tmp_path)
    rebuild_bundle(bundle, change)
    target = make_repo()
    assert repro(target, "list").returncode == 0  # the store exists
    before = store_bytes(target)
    done = repro(target, "import", str(bundle))
    assert_one_line_error(done, 32, *needles)
    assert store_bytes(target) == before
    assert not (tmp_path / "escaped-1").exists()
