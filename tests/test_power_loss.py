"""Power loss during a run: everything not yet fsynced is lost (reliability scenarios C24, C25).

A fake at the one boundary that cannot be real here (a power cut): an I/O shim over the `os`
calls the store makes (open, write, fsync, rename, unlink, mkdir) records what a real
`app.run` does to `.repro/`. Replaying that log into a model file system gives, after each
fsync, the state a machine would find after losing power there, in the worst case the scenario
names: file contents not fsynced are gone, and so are directory entries (new files, renames,
removals) whose directory was not fsynced since. Each such state is written out and checked:
every record is absent or whole, every object a record references is there and matches its
name, the runs read as complete or crashed, and fsck repairs the rest. Files the store writes
by other means (the log, through a buffered file; the SQLite index) are lost too.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers.crash import WRITE_OUTPUTS, check_store, make_project
from helpers.repos import MakeRepo

from repro_run.app import maintenance
from repro_run.app.run.plan import RunOptions
from repro_run.app.run.run import run
from repro_run.app.workspace import Workspace
from repro_run.store.index import RunIndex

Op = tuple[Any, ...]


@dataclass
class Dir:
    entries: dict[str, Any] = field(default_factory=dict)  # name -> inode id (int) or dir path
    durable: dict[str, Any] = field(default_factory=dict)


@dataclass
class Inode:
    data: bytearray = field(default_factory=bytearray)
    durable: bytes | None = None  # None: never fsynced, so empty after a power cut


class Model:
    """The store as the disk holds it: volatile state, and what an fsync made durable."""

    def __init__(self, baseline: dict[str, Any]) -> None:
        self.dirs: dict[str, Dir] = {}
        self.inodes: dict[int, Inode] = {}
        self.fds: dict[int, Any] = {}
        for path, content in baseline.items():
            if content is None:
                self.dirs[path] = Dir()
            else:
                self._link(path, self._new_inode(content))
        for path in self.dirs:
            parent, name = os.path.split(path)
            if parent in self.dirs:
                self.dirs[parent].entries[name] = path
        for directory in self.dirs.values():
            directory.durable = dict(directory.entries)

    def _new_inode(self, content: bytes = b"") -> int:
        number = len(self.inodes) + 1
        self.inodes[number] = Inode(bytearray(content), content)
        if not content:
            self.inodes[number].durable = None
        return number

    def _link(self, path: str, target: Any) -> None:
        parent, name = os.path.split(path)
        if parent in self.dirs:
            self.dirs[parent].entries[name] = target

    def _unlink(self, path: str) -> Any:
        parent, name = os.path.split(path)
        return self.dirs[parent].entries.pop(name, None) if parent in self.dirs else None

    def apply(self, op: Op) -> None:
        kind = op[0]
        if kind == "open":
            _, path, flags, fd = op
            if path in self.dirs:
                self.fds[fd] = path
                return
            parent, name = os.path.split(path)
            if parent not in self.dirs:
                return
            inode = self.dirs[parent].entries.get(name)
            if not isinstance(inode, int):
                if not flags & os.O_CREAT:
                    return
                inode = self._new_inode()
                self._link(path, inode)
            elif flags & os.O_TRUNC:
                self.inodes[inode].data.clear()
            self.fds[fd] = inode
        elif kind == "write" and op[1] in self.fds and isinstance(self.fds[op[1]], int):
            self.inodes[self.fds[op[1]]].data += op[2]
        elif kind == "fsync" and op[1] in self.fds:
            target = self.fds[op[1]]
            if isinstance(target, int):
                self.inodes[target].durable = bytes(self.inodes[target].data)
            else:
                self.dirs[target].durable = dict(self.dirs[target].entries)
        elif kind == "close":
            self.fds.pop(op[1], None)
        elif kind == "rename":
            moved = self._unlink(op[1])
            if moved is not None:
                self._link(op[2], moved)
        elif kind == "unlink":
            self._unlink(op[1])
        elif kind == "mkdir":
            self.dirs[op[1]] = Dir()
            self._link(op[1], op[1])

    def materialise(self, root: str, into: Path) -> None:
        """Write out what survives a power cut now: durable entries, durable contents."""
        into.mkdir(parents=True)
        for name, target in self.dirs[root].durable.items():
            if isinstance(target, int):
                (into / name).write_bytes(self.inodes[target].durable or b"")
            else:
                self.materialise(target, into / name)


class Shim:
    """Wraps the os calls the store makes; logs those under `root`, in the order they ran."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.log: list[Op] = []
        self.lock = threading.RLock()

    def _mine(self, path: Any) -> str | None:
        text = os.path.abspath(os.fsdecode(path))
        return text if text == self.root or text.startswith(self.root + os.sep) else None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = {name: getattr(os, name) for name in ("open", "write", "fsync", "close")}
        real |= {name: getattr(os, name) for name in ("replace", "rename", "unlink", "mkdir")}

        def wrap(name: str, log: Callable[..., Op | None]) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                with self.lock:
                    result = real[name](*args, **kwargs)
                    entry = log(result, *args, **kwargs)
                    if entry is not None:
                        self.log.append(entry)
                    return result

            return call

        def on_open(fd: int, path: Any, flags: int, *_: Any, **kw: Any) -> Op | None:
            mine = None if kw.get("dir_fd") is not None else self._mine(path)
            return ("open", mine, flags, fd) if mine else ("close", fd)

        def on_path(kind: str) -> Callable[..., Op | None]:
            def log(_: Any, path: Any, *rest: Any, **kw: Any) -> Op | None:
                mine = self._mine(path) if kw.get("dir_fd") is None else None
                return (kind, mine) if mine else None

            return log

        def on_move(_: Any, src: Any, dst: Any, **kw: Any) -> Op | None:
            if kw.get("src_dir_fd") is not None or kw.get("dst_dir_fd") is not None:
                return None
            source, target = self._mine(src), self._mine(dst)
            return ("rename", source, target) if source and target else None

        monkeypatch.setattr(os, "open", wrap("open", on_open))
        monkeypatch.setattr(
            os, "write", wrap("write", lambda n, fd, data: ("write", fd, bytes(data[:n])))
        )
        monkeypatch.setattr(os, "fsync", wrap("fsync", lambda _, fd: ("fsync", fd)))
        monkeypatch.setattr(os, "close", wrap("close", lambda _, fd: ("close", fd)))
        monkeypatch.setattr(os, "replace", wrap("replace", on_move))
        monkeypatch.setattr(os, "rename", wrap("rename", on_move))
        monkeypatch.setattr(os, "unlink", wrap("unlink", on_path("unlink")))
        monkeypatch.setattr(os, "mkdir", wrap("mkdir", on_path("mkdir")))
        real_upsert = RunIndex.upsert

        def upsert(index: RunIndex, items: Any) -> None:
            real_upsert(index, items)
            self.log.append(("index",))

        monkeypatch.setattr(RunIndex, "upsert", upsert)


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_project(make_repo)


def crash_states(log: list[Op], root: str) -> Iterator[tuple[int, Model]]:
    """The model after each fsync of the log (the only ops that change what is durable)."""
    model = Model({root: None})
    for number, op in enumerate(log, 1):
        model.apply(op)
        if op[0] == "fsync":
            yield number, model


def test_losing_everything_not_fsynced_never_corrupts_a_run(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_root = project / ".repro"
    shim = Shim(store_root)
    shim.install(monkeypatch)
    options = RunOptions(
        command=(sys.executable, "-c", WRITE_OUTPUTS, "--config", "cfg.yaml"),
        cwd=project,
        data=("data",),
        outputs=("out",),
    )
    record = run(options)
    monkeypatch.undo()
    assert record.status == "succeeded" and record.outputs[0].files == 2
    log = shim.log
    first = next(op for op in log if op[0] != "close")  # ("close", fd): an fd not of the store
    assert first == ("mkdir", str(store_root))  # the shim saw the store from its first byte

    checked = 0
    for number, model in crash_states(log, str(store_root)):
        after_crash = tmp_path / f"crash-{number}"
        (after_crash / ".git").mkdir(parents=True)  # a project root, for the workspace
        model.materialise(str(store_root), after_crash / ".repro")
        statuses = check_store(after_crash)
        assert set(statuses) <= {record.id}
        report = maintenance.fsck(Workspace.find(after_crash))
        assert report.ok, (number, report.damage)
        check_store(after_crash)
        checked += 1
    assert checked > 20
    # At the end (the last fsync), the finished run survives whole.
    assert check_store(after_crash) == {record.id: "succeeded"}


def test_a_record_is_durable_only_after_the_objects_it_references(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C25: fsync(object) -> rename -> fsync(objects dir) before the record. The index is not
    `repro run`'s to write: `list` builds it from records already durable."""
    store_root = project / ".repro"
    shim = Shim(store_root)
    shim.install(monkeypatch)
    record = run(
        RunOptions(command=(sys.executable, "-c", WRITE_OUTPUTS), cwd=project, outputs=("out",))
    )
    monkeypatch.undo()
    log = shim.log
    record_path = str(store_root / "runs" / record.id / "run.json")
    final_rename = max(i for i, op in enumerate(log) if op[0] == "rename" and op[2] == record_path)
    assert ("index",) not in log
    objects = [f"{store_root}/objects/{d[:2]}/{d[2:]}" for d in _output_objects(store_root, record)]
    for path in objects:
        renames = [i for i, op in enumerate(log) if op[0] == "rename" and op[2] == path]
        if not renames:
            continue  # stored by an earlier run: deduplicated
        placed = renames[-1]
        assert placed < final_rename
        shard_synced = [
            i for i, op in enumerate(log[placed:final_rename], placed) if op[0] == "fsync"
        ]
        assert shard_synced, f"{path}: no fsync between its rename and the record's"


def _output_objects(store_root: Path, record: Any) -> list[str]:
    from repro_run.fingerprint.manifest import decode_manifest
    from repro_run.store import Store

    store = Store.open(store_root)
    digests = [tree.manifest_object for tree in record.outputs]
    for tree in record.outputs:
        digests += [
            e.hash for e in decode_manifest(store.get_bytes(tree.manifest_object)) if e.hash
        ]
    return digests
