"""Gather the evidence of a finished rerun (outputs, metrics, logs) and decide its verdict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from repro_run.app.rerun.causes import likely_causes
from repro_run.app.run.metrics import load_series
from repro_run.core.constants import RUN_LOG_FILENAME
from repro_run.core.errors import StoreError
from repro_run.fingerprint.diff import ManifestDiff, diff_encoded
from repro_run.fingerprint.manifest import MANIFEST_HEADER
from repro_run.models import ManifestEntry, RunRecord, TreeRef, Verdict
from repro_run.store import Store
from repro_run.verdict.decide import Evidence, decide
from repro_run.verdict.hydra import (
    HYDRA_CAP,
    SET_ASIDE,
    hydra_equal,
    is_hydra_file,
    may_be_hydra,
)
from repro_run.verdict.logs import LogComparison, compare_logs, normalize_log
from repro_run.verdict.metrics import compare_series
from repro_run.verdict.pairing import pair_renamed


def judge(
    store: Store,
    original: RunRecord,
    rerun: RunRecord,
    *,
    rtol: float,
    atol: float,
    root: Path,
    tree: Path,
) -> Verdict:
    compared, differ, paired, equal_but = _outputs(
        store, original.outputs, rerun.outputs, [(str(tree), str(root))]
    )
    old_series, new_series = load_series(store, original.metrics), load_series(store, rerun.metrics)
    metrics = (
        compare_series(old_series, new_series, rtol, atol) if old_series or new_series else None
    )
    evidence = Evidence(
        original_status=original.status,
        original_exit=original.process.exit_code if original.process else None,
        rerun_status=rerun.status,
        rerun_exit=rerun.process.exit_code if rerun.process else None,
        outputs_compared=compared,
        outputs_differ=differ,
        outputs_paired=paired,
        outputs_equal_but=equal_but,
        has_outputs=bool(original.outputs or rerun.outputs),
        metrics=metrics,
        log=_logs(store, original, rerun, root, tree, rtol, atol),
    )
    return decide(evidence, likely_causes(store, original, rerun, root), rtol, atol)


def _outputs(
    store: Store,
    old: tuple[TreeRef, ...],
    new: tuple[TreeRef, ...],
    new_replacements: list[tuple[str, str]],
) -> tuple[int, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(files compared, files that differ marked + - ~, the pairings of files whose names carry
    run-specific parts, files equal but for what Hydra varies), over every output path."""
    before = {t.path: t for t in old}
    after = {t.path: t for t in new}
    differ: list[str] = []
    paired: list[str] = []
    equal_but: list[str] = []
    for path in sorted(before.keys() | after.keys()):
        diff = _paired(
            diff_encoded(_manifest(store, before.get(path)), _manifest(store, after.get(path))),
            lambda a, b: paired.append(f"{path}/{a} ↔ {path}/{b}"),  # noqa: B023 (called now)
        )
        changed = [("+", e.path) for e in diff.added] + [("-", e.path) for e in diff.removed]
        for old_entry, new_entry in diff.modified:
            if _hydra_equal(store, old_entry, new_entry, new_replacements):
                equal_but.append(f"{path}/{new_entry.path}: equal but for {SET_ASIDE}")
            else:
                changed.append(("~", new_entry.path))
        for mark, rel in sorted(changed, key=lambda item: item[1]):
            # A single-file output's manifest names the file itself.
            shown = path if path.rsplit("/", 1)[-1] == rel else f"{path}/{rel}"
            differ.append(f"{mark} {shown}")
    return sum(t.files for t in old), tuple(differ), tuple(paired), tuple(equal_but)


def _paired(diff: ManifestDiff, report: Callable[[str, str], None]) -> ManifestDiff:
    """`diff` with each file paired across the runs (`verdict.pairing`) taken as one file."""
    paired = pair_renamed(diff.removed, diff.added)
    for a, b in paired.shown:
        report(a, b)
    modified = sorted((*diff.modified, *paired.changed), key=lambda pair: pair[1].path)
    return ManifestDiff(added=paired.added, removed=paired.removed, modified=tuple(modified))


def _hydra_equal(
    store: Store, old: ManifestEntry, new: ManifestEntry, new_replacements: list[tuple[str, str]]
) -> bool:
    """Whether a Hydra file (`verdict.hydra`) is equal once its timestamps and run folders
    are masked; any other file, or one over the cap or not stored, differs by its hash."""
    if (
        not may_be_hydra(new.path)
        or old.hash is None
        or new.hash is None
        or max(old.size, new.size) > HYDRA_CAP
    ):
        return False
    try:
        old_bytes, new_bytes = store.get_bytes(old.hash), store.get_bytes(new.hash)
    except StoreError:  # imported without its outputs: the hashes are all there is
        return False
    return is_hydra_file(new.path, new_bytes[:64]) and hydra_equal(
        new.path, old_bytes, new_bytes, new_replacements
    )


def _manifest(store: Store, ref: TreeRef | None) -> bytes:
    return MANIFEST_HEADER if ref is None else store.get_bytes(ref.manifest_object)


def _logs(
    store: Store,
    original: RunRecord,
    rerun: RunRecord,
    root: Path,
    tree: Path,
    rtol: float,
    atol: float,
) -> LogComparison | None:
    sides = []
    for record, extra in ((original, []), (rerun, [(str(tree), str(root))])):
        run_dir = store.run_dir(record.id)
        try:
            data = (run_dir / RUN_LOG_FILENAME).read_bytes()
        except OSError:
            return None
        # Run-specific strings (the child may print REPRO_RUN_DIR) become placeholders.
        replacements = [(str(run_dir), "<run-dir>"), (record.id, "<run-id>"), *extra]
        sides.append(normalize_log(data, replacements))
    return compare_logs(sides[0], sides[1], rtol, atol)
