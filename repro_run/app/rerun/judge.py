"""Gather the evidence of a finished rerun (outputs, metrics, logs) and decide its verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from io import BytesIO
from pathlib import Path

from repro_run.app.rerun.causes import likely_causes
from repro_run.app.run.metrics import load_series
from repro_run.core.constants import RUN_LOG_FILENAME
from repro_run.core.errors import StoreError
from repro_run.core.pathglob import compile_pattern, matches
from repro_run.core.record import Record
from repro_run.fingerprint.diff import ManifestDiff, diff_encoded
from repro_run.fingerprint.manifest import MANIFEST_HEADER
from repro_run.metrics import timeless
from repro_run.metrics.read import metrics_format
from repro_run.models import ManifestEntry, RunRecord, TreeRef, Verdict
from repro_run.store import Store
from repro_run.verdict.checkpoints import checkpoint_equal_but_for, is_checkpoint
from repro_run.verdict.content import CONTENT_CAP, HEAD_BYTES, equal_but_for, understood
from repro_run.verdict.decide import Evidence, decide
from repro_run.verdict.hydra import HYDRA_CAP, SET_ASIDE, hydra_equal, is_hydra_file, may_be_hydra
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
    ignore: Sequence[tuple[str, str]] = (),
) -> Verdict:
    """`ignore`: (source, pattern) pairs, "--ignore" or "[tool.repro] ignore" and a
    gitignore-like pattern (`core.pathglob`) of output files not compared."""
    outputs = compare_outputs(
        store, original.outputs, rerun.outputs, ignore, [(str(tree), str(root))]
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
        outputs_compared=outputs.compared,
        outputs_differ=outputs.differ,
        outputs_paired=outputs.paired,
        outputs_equal_but=outputs.equal_but,
        ignore=tuple(f"{source} {pattern}" for source, pattern in ignore),
        outputs_ignored=outputs.ignored,
        has_outputs=bool(original.outputs or rerun.outputs),
        metrics=metrics,
        log=_logs(store, original, rerun, root, tree, rtol, atol),
    )
    return decide(evidence, likely_causes(store, original, rerun, root), rtol, atol)


class OutputComparison(Record):
    compared: int  # files of the original's outputs, less the ignored ones that differ
    differ: tuple[str, ...]  # marked + - ~
    equal_but: tuple[str, ...]  # "out/metrics.csv: equal but for its time column"
    ignored: tuple[str, ...]  # "logs/a.txt (--ignore logs/**)"
    paired: tuple[str, ...] = ()  # "outputs/<date>/<time>/ ↔ outputs/<date>/<time>/"


def compare_outputs(
    store: Store,
    old: tuple[TreeRef, ...],
    new: tuple[TreeRef, ...],
    ignore: Sequence[tuple[str, str]] = (),
    new_replacements: Sequence[tuple[str, str]] = (),
) -> OutputComparison:
    """Every archived output path's files, compared by hash, then by content where the format
    is understood; files matching an ignore pattern (source, pattern) are set aside; files
    whose names carry run-specific parts are paired across the runs first (`verdict.pairing`).
    `new_replacements`: the rerun's directories as the original's (Hydra files name them)."""
    rules = [(compile_pattern(pattern), f"{source} {pattern}") for source, pattern in ignore]
    before = {t.path: t for t in old}
    after = {t.path: t for t in new}
    differ: list[str] = []
    equal_but: list[str] = []
    paired: list[str] = []
    ignored: list[str] = []
    ignored_in_original = 0
    for path in sorted(before.keys() | after.keys()):
        diff = _paired(
            diff_encoded(_manifest(store, before.get(path)), _manifest(store, after.get(path))),
            lambda a, b: paired.append(f"{path}/{a} ↔ {path}/{b}"),  # noqa: B023 (called now)
        )
        changed = [("+", e, e) for e in diff.added] + [("-", e, e) for e in diff.removed]
        changed += [("~", old_entry, new_entry) for old_entry, new_entry in diff.modified]
        for mark, old_entry, new_entry in sorted(changed, key=lambda item: item[2].path):
            shown = _shown(path, new_entry)
            rule = next((label for regex, label in rules if matches(regex, shown)), None)
            if rule is not None:
                ignored.append(f"{shown} ({rule})")
                ignored_in_original += mark != "+"
            elif mark == "~" and (
                but := _equal_but_for(store, old_entry, new_entry, new_replacements)
            ):
                equal_but.append(f"{shown}: equal but for {but}")
            else:
                differ.append(f"{mark} {shown}")
    compared = sum(t.files for t in old) - ignored_in_original
    return OutputComparison(
        compared, tuple(differ), tuple(equal_but), tuple(ignored), tuple(paired)
    )


def _paired(diff: ManifestDiff, report: Callable[[str, str], None]) -> ManifestDiff:
    """`diff` with each file paired across the runs (`verdict.pairing`) taken as one file."""
    pairs = pair_renamed(diff.removed, diff.added)
    for a, b in pairs.shown:
        report(a, b)
    modified = sorted((*diff.modified, *pairs.changed), key=lambda pair: pair[1].path)
    return ManifestDiff(added=pairs.added, removed=pairs.removed, modified=tuple(modified))


def _shown(path: str, entry: ManifestEntry) -> str:
    # A single-file output's manifest names the file itself.
    return path if path.rsplit("/", 1)[-1] == entry.path else f"{path}/{entry.path}"


SNIFF_ABOVE = 1 << 20  # bytes: a larger file is read whole only once its format is understood


def _equal_but_for(
    store: Store,
    old: ManifestEntry,
    new: ManifestEntry,
    new_replacements: Sequence[tuple[str, str]],
) -> str | None:
    """What the two files' writer varied, or None: they differ. Hydra's files by name
    (`verdict.hydra`: timestamps, run folders); CSV and JSON logs and TensorBoard's
    event files by name (`metrics.timeless`: a wall-time column, streamed; events' scalars by
    tag and step); torch checkpoints by their first bytes, of any size (`verdict.checkpoints`:
    the run folders they name); plots and documents by their first
    bytes (`verdict.content`), only under the cap and when the format is understood; the rest
    differ by their hashes. A small file is read at once (one open, not two: 10,000 plots,
    bench/output_content.py)."""
    if old.hash is None or new.hash is None or old.executable != new.executable:
        return None
    if may_be_hydra(new.path) and max(old.size, new.size) <= HYDRA_CAP:
        return _hydra_equal(store, old.hash, new.hash, new.path, new_replacements)
    timing = None
    if metrics_format(new.path) is not None:  # no paths built for the other 10,000 plots
        timing = timeless.equal_but_for_timing(
            new.path, store.object_path(old.hash), store.object_path(new.hash)
        )
    if timing is not None:
        return timing
    big = max(old.size, new.size) > CONTENT_CAP
    if big or old.size > SNIFF_ABOVE:
        head = _head(store, old.hash)
        if is_checkpoint(head):  # torch's zip, of any size: its records are streamed
            return checkpoint_equal_but_for(
                store.object_path(old.hash), store.object_path(new.hash), new_replacements
            )
        if big or not understood(head):
            return None
    try:
        old_bytes, new_bytes = store.get_bytes(old.hash), store.get_bytes(new.hash)
    except StoreError:  # not stored (imported without outputs) or corrupt: the hashes differ
        return None
    if is_checkpoint(old_bytes):
        return checkpoint_equal_but_for(BytesIO(old_bytes), BytesIO(new_bytes), new_replacements)
    ignored = equal_but_for(old_bytes, new_bytes)
    return " and ".join(ignored) if ignored else None  # equal bytes, other hashes: cannot be


def _hydra_equal(
    store: Store, old: str, new: str, name: str, new_replacements: Sequence[tuple[str, str]]
) -> str | None:
    try:
        old_bytes, new_bytes = store.get_bytes(old), store.get_bytes(new)
    except StoreError:  # imported without its outputs: the hashes are all there is
        return None
    equal = is_hydra_file(name, new_bytes[:64]) and hydra_equal(
        name, old_bytes, new_bytes, list(new_replacements)
    )
    return SET_ASIDE if equal else None


def _head(store: Store, digest: str) -> bytes:
    try:
        with open(store.object_path(digest), "rb") as file:
            return file.read(HEAD_BYTES)
    except OSError:
        return b""


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
        run_dir = store.files_dir(record)
        try:
            data = (run_dir / RUN_LOG_FILENAME).read_bytes()
        except OSError:
            return None
        # Run-specific strings (the child may print REPRO_RUN_DIR) become placeholders.
        replacements = [(str(run_dir), "<run-dir>"), (record.id, "<run-id>"), *extra]
        sides.append(normalize_log(data, replacements))
    return compare_logs(sides[0], sides[1], rtol, atol)
