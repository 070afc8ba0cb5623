"""Reports of the maintenance and audit commands: fsck, gc, doctor, stats."""

from __future__ import annotations

from repro_run.core.record import Record


# --- maintenance reports (repro fsck, repro gc) --------------------------------------------
class FsckReport(Record):
    objects: int  # objects whose content was hashed against their name
    runs: int  # run records read
    indexed: int  # rows of the rebuilt index
    repaired: tuple[str, ...]  # what fsck changed (temp files removed, corrupt objects set aside)
    damage: tuple[str, ...]  # what it cannot repair: unreadable records, missing objects
    notes: tuple[str, ...] = ()  # facts worth knowing: crashed runs, runs still starting

    @property
    def ok(self) -> bool:
        return not self.damage


class CachedEnv(Record):
    """A rebuilt environment in the user cache, as `repro gc --envs` saw it."""

    key: str
    size: int  # bytes
    idle: float  # seconds since a rerun last used it (or built it)


class EnvsRemoved(Record):
    """`repro gc --envs`: the rebuilt environments removed from the user cache."""

    removed: tuple[CachedEnv, ...]
    in_use: tuple[str, ...]  # kept: a rerun is running in them
    recent: tuple[str, ...]  # kept: a rerun used them within the grace period
    freed: int  # bytes (the removed environments and what dead builds left)
    grace: float  # seconds
    dry_run: bool = False


class GcReport(Record):
    dry_run: bool
    removed: tuple[str, ...]  # digests removed (or that would be, with --dry-run)
    bytes_freed: int
    kept_referenced: int  # objects some run references
    kept_recent: int  # unreferenced, but younger than the grace period: a run may be archiving
    joins: int = 0  # join files removed: groups whose run is gone or whose window has closed


# --- repro doctor (issue 4) ------------------------------------------------------------------
SEVERITIES = ("high", "medium", "low")
# Gundersen et al. 2022, "Sources of irreproducibility in machine learning: a review".
FACTORS = ("algorithmic", "implementation", "observation")


class Finding(Record):
    code: str  # stable name: "dirty-tree", "cudnn-benchmark", ...
    severity: str  # one of SEVERITIES
    factor: str  # one of FACTORS
    title: str
    evidence: tuple[str, ...]  # "train.py:12: torch.backends.cudnn.benchmark = True", ...
    fix: str


class DoctorReport(Record):
    root: str
    checks: tuple[str, ...]  # what was examined
    findings: tuple[Finding, ...]


# --- variance over repeated runs (repro stats, issue 8) -------------------------------------
class MetricStats(Record):
    """One final metric over a set of runs: n, mean, sample std, range, 95% CI of the mean."""

    metric: str
    n: int
    mean: float
    std: float | None  # None for a single run
    minimum: float
    maximum: float
    ci95_low: float | None  # Student's t interval of the mean; None for a single run
    ci95_high: float | None
