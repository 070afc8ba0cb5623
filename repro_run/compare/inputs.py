"""Sections about what went into a run: code, config, command, seed, determinism settings."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from repro_run.compare.fields import change, mapping_changes, section
from repro_run.compare.snapshot import CodeHistory, Snapshot, pair_up
from repro_run.core.constants import (
    ENV_DETERMINISTIC,
    ENV_METRICS,
    ENV_PACKAGES_DIGEST,
    ENV_PYTHONHASHSEED,
    ENV_PYTHONPATH,
    ENV_RUN_DIR,
    ENV_RUN_ID,
    ENV_SEED,
    ENV_SOURCE_DATE_EPOCH,
    ENV_THREADS,
)
from repro_run.core.humanize import count
from repro_run.core.record import replace
from repro_run.core.redaction import digests_comparable
from repro_run.core.runparts import normalise
from repro_run.models import CommandInfo, ConfigFile, Determinism, DirtyPath, Param
from repro_run.models.comparison import EQUAL, FieldChange, FileStat, SectionDiff
from repro_run.models.params import other_arguments

_STAT_LINES = 10
_DIRTY_SHOWN = 5
# Injected into every run but naming the run (or where its packages are: the packages section
# compares them), not steering it; the seed has its own section.
_RUN_IDENTITY = frozenset({ENV_RUN_ID, ENV_RUN_DIR, ENV_SEED, ENV_METRICS, ENV_PACKAGES_DIGEST})
_FOLLOWS_SEED = "(the seed)"
_FOLLOWS_COMMIT = "(the commit's time)"


def code_section(old: Snapshot, new: Snapshot, history: CodeHistory) -> SectionDiff:
    a, b = old.code, new.code
    details: list[str] = []
    extra: dict[str, object] = {}
    if a.commit != b.commit:
        for commit in history.missing_commits:
            details.append(
                f"commit {commit[:12]} is not in this repository (rebased or force-pushed?)"
            )
        if history.stat is not None:
            details += stat_lines(history.stat)
            extra["files"] = [
                {"path": s.path, "added": s.added, "deleted": s.deleted} for s in history.stat
            ]
        elif history.unavailable and not history.missing_commits:
            details.append(history.unavailable)
    patch_details = [
        *_dirty_lines("A", a.dirty_paths),
        *_dirty_lines("B", b.dirty_paths),
    ]
    fields = [
        change("commit", a.commit, b.commit, details=details, extra=extra),
        change(
            "patch",
            a.patch_object,
            b.patch_object,
            none_text="none (clean tree)",
            details=patch_details if a.patch_object != b.patch_object else (),
        ),
    ]
    # The commit names the code; a branch only names where it was checked out (a rerun runs
    # its commit on a detached HEAD). A different branch is told, never counted as a cause.
    branches = (a.branch or "(detached HEAD)", b.branch or "(detached HEAD)")
    notes = [f"branch: {branches[0]} → {branches[1]}"] if branches[0] != branches[1] else []
    return section("code", fields, notes=notes)


def stat_lines(stat: Sequence[FileStat]) -> list[str]:
    """`git diff --stat` in short: a total, then one line per file."""
    added = sum(s.added or 0 for s in stat)
    deleted = sum(s.deleted or 0 for s in stat)
    lines = [f"git diff --stat: {count(len(stat), 'file')} changed, +{added} -{deleted}"]
    for s in stat[:_STAT_LINES]:
        lines.append(
            f"  {s.path}  " + ("binary" if s.added is None else f"+{s.added} -{s.deleted}")
        )
    if len(stat) > _STAT_LINES:
        lines.append(f"  … and {len(stat) - _STAT_LINES} more files")
    return lines


def _dirty_lines(label: str, dirty: Sequence[DirtyPath]) -> list[str]:
    if not dirty:
        return []
    shown = ", ".join(f"{d.state} {d.path}" for d in dirty[:_DIRTY_SHOWN])
    more = f", … and {len(dirty) - _DIRTY_SHOWN} more" if len(dirty) > _DIRTY_SHOWN else ""
    return [f"{label}: {shown}{more}"]


def config_section(old: Snapshot, new: Snapshot) -> SectionDiff:
    # Hydra's per-job config files are named by their run's date folder: paired without it.
    pairs = pair_up(old.configs, new.configs, name=normalise)
    fields: list[FieldChange] = []
    for key, a, b in pairs:
        prefix = f"{key}: " if len(pairs) > 1 else ""
        same = a is not None and b is not None and normalise(a.path) == normalise(b.path)
        if not same:
            fields.append(change(f"{prefix}file", a.path if a else None, b.path if b else None))
        params = mapping_changes(a.params if a else {}, b.params if b else {}, prefix=prefix)
        if a and b and same and not any(f.differs for f in params):
            fields += _content_changes(prefix, a, b)
        fields += params
    notes = () if pairs else ("no config file among the arguments of either side",)
    return section("config", fields, notes=notes)


def _content_changes(prefix: str, a: ConfigFile, b: ConfigFile) -> list[FieldChange]:
    """The file's digest when its bytes differ but no parameter does: `a: {b: 1}` and `a.b: 1`
    flatten alike, and comments are dropped, yet the two files are not the same input."""
    if a.object == b.object:
        return []
    details = [f"{a.path}: content differs (no parameter changed)"]
    return [change(f"{prefix}file content", a.object, b.object, details=details)]


def command_section(a: CommandInfo, b: CommandInfo) -> SectionDiff:
    """The arguments; where both runs recorded their parameters, those by name (`lr 20 → 10`)
    and the rest of argv apart, so that a changed parameter is not also a changed argv."""
    params, notes = [], []
    if a.params is None or b.params is None:
        arguments = change("argv", shlex.join(a.argv), shlex.join(b.argv))
    else:
        arguments = change(
            "other arguments",
            shlex.join(other_arguments(a.argv)),
            shlex.join(other_arguments(b.argv)),
        )
        for f in mapping_changes(_param_values(a.params), _param_values(b.params)):
            if f.differs and not digests_comparable(str(f.old), str(f.new)):
                notes.append(f"{f.key}: secret, masked with another store's key: not compared")
                f = replace(f, change=EQUAL)
            params.append(f)
    fields = [
        *params,
        arguments,
        change("cwd", a.cwd, b.cwd),
        change("executable", a.executable, b.executable),
        change("interpreter", a.interpreter, b.interpreter, none_text="none"),
    ]
    return section("command", fields, notes=notes)


def _param_values(params: Sequence[Param]) -> dict[str, str | list[str]]:
    """Name -> the value as shown; a name given more than once keeps every value, in order."""
    values: dict[str, list[str]] = {}
    for param in params:
        values.setdefault(param.name, []).append(param.shown)
    return {name: shown[0] if len(shown) == 1 else shown for name, shown in values.items()}


def seed_section(a: Determinism, b: Determinism) -> SectionDiff:
    details = (
        [f"source: {a.seed_source} → {b.seed_source}"] if a.seed_source != b.seed_source else []
    )
    return section(
        "seed", [change("seed", a.seed, b.seed, details=details if a.seed != b.seed else ())]
    )


def determinism_section(a: Determinism, b: Determinism) -> SectionDiff:
    """Every variable repro set, or would have set but the user had set first."""
    before, after = _settings(a), _settings(b)
    fields = []
    for f in mapping_changes(before, after):
        yours = [
            f"{label}: set by you, not by repro"
            for label, d in (("A", a), ("B", b))
            if f.key in d.user_set
        ]
        fields.append(change(f.key, f.old, f.new, details=yours if f.differs else ()))
    return section("determinism", fields)


def _settings(d: Determinism) -> dict[str, str]:
    merged = {**d.injected, **d.user_set}
    if d.injected.get(ENV_PYTHONHASHSEED) == str(d.seed):
        merged[ENV_PYTHONHASHSEED] = _FOLLOWS_SEED  # repro derived it: the seed section says it
    if ENV_SOURCE_DATE_EPOCH in d.injected:  # derived from the commit: the code section says it
        merged[ENV_SOURCE_DATE_EPOCH] = _FOLLOWS_COMMIT
    # The hook's place on PYTHONPATH and its own variables are said by the three flags; the
    # user's PYTHONPATH is compared in the env section.
    for name in (ENV_PYTHONPATH, ENV_DETERMINISTIC, ENV_THREADS):
        merged.pop(name, None)
    merged["(determinism switches)"] = "on" if d.deterministic else "off"
    merged["(thread count)"] = str(d.threads) if d.threads else "not fixed"
    merged["(seeding hook)"] = "on" if d.hook else "off"
    return {k: v for k, v in merged.items() if k not in _RUN_IDENTITY}
