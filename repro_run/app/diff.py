"""`repro diff A [B]`: everything that differs between two runs, or between a run and now.

`compare_records` is the comparison with its I/O (package lists and manifests from the store,
commits from git); the rerun verdict calls it too. The comparison itself is `compare`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from repro_run.app.current import capture_current
from repro_run.app.query import load_conda_list, load_package_list
from repro_run.app.workspace import Workspace
from repro_run.capture import history
from repro_run.capture.child_facts import flat_facts
from repro_run.compare import (
    CodeHistory,
    PairFacts,
    Snapshot,
    compare_snapshots,
    pair_parts,
    snapshot_of_record,
    tree_pairs,
)
from repro_run.core.errors import ReproError, StoreError
from repro_run.fingerprint.diff import diff_encoded, file_changes
from repro_run.models import (
    RunRecord,
    TreeRef,
)
from repro_run.models.comparison import SECTION_NAMES, FileChanges, RunComparison
from repro_run.store import Store


def diff(
    workspace: Workspace,
    ref_a: str,
    ref_b: str | None = None,
    sections: Collection[str] | None = None,
) -> RunComparison:
    """Compare run `ref_a` with run `ref_b`, or with the current environment and working tree.

    `sections` (names from `comparison.SECTION_NAMES`) limits the result, and the work: no
    manifest is read unless data or outputs are asked for, no git unless code is.
    """
    wanted = frozenset(sections or SECTION_NAMES)
    store = workspace.store()
    old = store.load_record(store.resolve(ref_a))
    if ref_b is not None:
        new = store.load_record(store.resolve(ref_b))
        return compare_records(store, old, new, root=workspace.root, sections=wanted)
    root = workspace.work_tree()
    current = capture_current(root, old, with_data="data" in wanted)
    now = current.snapshot
    trees = {}
    if "data" in wanted:
        trees = _tree_changes(
            tree_pairs(old.data, now.data),
            lambda t: store.get_bytes(t.manifest_object),
            lambda t: current.manifests[t.manifest_object],
        )
    code = _code_history(root, old.code.commit, now.code.commit) if "code" in wanted else None
    facts = PairFacts(trees=trees, code=code or CodeHistory(), notes=current.notes)
    return compare_snapshots(run_snapshot(store, old), now, facts).only(tuple(wanted))


def compare_records(
    store: Store,
    old: RunRecord,
    new: RunRecord,
    root: Path | None = None,
    sections: Collection[str] = SECTION_NAMES,
) -> RunComparison:
    """Every section of two recorded runs, ranked (the rerun verdict's causes come from here).

    `root` is the git work tree that knows their commits (None: commits compared by name).
    """

    def load(tree: TreeRef) -> bytes:
        return store.get_bytes(tree.manifest_object)

    pairs = []
    if "data" in sections:
        pairs += tree_pairs(old.data, new.data)
    if "outputs" in sections:
        pairs += tree_pairs(old.outputs, new.outputs)
    code = _code_history(root, old.code.commit, new.code.commit) if "code" in sections else None
    parts = _part_comparisons(store, old, new, root, sections) if "parts" in sections else {}
    facts = PairFacts(_tree_changes(pairs, load, load), code or CodeHistory(), parts=parts)
    comparison = compare_snapshots(run_snapshot(store, old), run_snapshot(store, new), facts)
    return comparison.only(tuple(sections))


def _part_comparisons(
    store: Store, old: RunRecord, new: RunRecord, root: Path | None, sections: Collection[str]
) -> dict[tuple[str, str], RunComparison | str]:
    """Two runs several supervisors recorded, of one shape: each pair of parts' records
    compared (the other sections asked for), or why not."""
    pairs = pair_parts(old.parts, new.parts)
    if pairs is None:
        return {}
    records = {}
    for run in (old, new):  # a part that cannot be read is left out: its pair is not compared
        parts = store.read_parts(run)[0]
        records.update({(run.id, r.part.name): r for r in parts if r.part is not None})
    others = [name for name in sections if name != "parts"]
    compared: dict[tuple[str, str], RunComparison | str] = {}
    for _, a, b in pairs:
        mine, theirs = records.get((old.id, a.name)), records.get((new.id, b.name))
        if mine is None or theirs is None:
            compared[(a.name, b.name)] = "not compared: a part's record cannot be read"
        else:
            compared[(a.name, b.name)] = compare_records(store, mine, theirs, root, others)
    return compared


def run_snapshot(store: Store, record: RunRecord) -> Snapshot:
    """A run as one side of a comparison: its record and the package lists it points to."""
    return snapshot_of_record(
        record,
        load_package_list(store, record),
        conda=load_conda_list(store, record),
        status=store.effective_status(record),
        framework=flat_facts(record.facts),
        metrics=record.metrics.final if record.metrics else None,
    )


def _tree_changes(
    pairs: Iterable[tuple[TreeRef, TreeRef]],
    load_old: Callable[[TreeRef], bytes],
    load_new: Callable[[TreeRef], bytes],
) -> dict[tuple[str, str], FileChanges | str]:
    changes: dict[tuple[str, str], FileChanges | str] = {}
    for a, b in pairs:
        try:
            changes[(a.digest, b.digest)] = file_changes(diff_encoded(load_old(a), load_new(b)))
        except (StoreError, ValueError) as exc:  # a missing or corrupted manifest object
            changes[(a.digest, b.digest)] = f"file-level changes unknown: {exc}"
    return changes


def _code_history(root: Path | None, old: str, new: str) -> CodeHistory:
    if old == new:
        return CodeHistory()
    if root is None:
        return CodeHistory(unavailable="not inside the git repository: commits compared by name")
    try:
        missing = history.missing_commits(root, [old, new])
        return CodeHistory(missing, None if missing else history.numstat(root, old, new))
    except ReproError as exc:
        return CodeHistory(unavailable=f"git diff --stat failed: {exc}")
