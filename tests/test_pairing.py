"""Output files paired across run and rerun by names with run-specific parts (verdict.pairing)."""

from __future__ import annotations

from repro_run.core.runparts import as_glob, normalise
from repro_run.models import ManifestEntry
from repro_run.verdict.pairing import pair_renamed


def _entry(path: str, content: str = "a") -> ManifestEntry:
    return ManifestEntry(path, 1, content * 64)


def test_hydra_lightning_and_tensorboard_names_become_placeholders() -> None:
    assert normalise("2026-12-07/20-47-39/.hydra/config.yaml") == "<date>/<time>/.hydra/config.yaml"
    assert normalise("logs/mnist/version_12/metrics.csv") == "logs/mnist/version_<n>/metrics.csv"
    assert normalise("runs/a/events.out.tfevents.1765140459.host.42.0") == (
        "runs/a/events.out.tfevents.<run>"
    )
    assert normalise("multirun/2026-12-07/20-47-39/3/out.txt").endswith("/<time>/3/out.txt")


def test_a_compact_date_and_time_folder_becomes_placeholders_and_a_glob() -> None:
    assert normalise("logs/fit/20261207-204739/a.pt") == "logs/fit/<yyyymmdd>-<hhmmss>/a.pt"
    assert normalise("out/run_20261207_204739/x") == "out/run_<yyyymmdd>_<hhmmss>/x"
    assert as_glob("logs/20261207T204739/m.csv") == f"logs/{'[0-9]' * 8}T{'[0-9]' * 6}/m.csv"
    # Eight digits alone, or not a date and a time of day, are kept: a seed, a count.
    for kept in ("out/20261207/x", "out/20261307-204739/x", "out/12345678-999999/x"):
        assert normalise(kept) == kept


def test_a_lightning_version_folder_pairs_and_equal_files_are_no_difference() -> None:
    paired = pair_renamed(
        [_entry("lightning_logs/version_1/metrics.csv")],
        [_entry("lightning_logs/version_0/metrics.csv")],
    )
    assert paired.removed == () and paired.added == () and paired.changed == ()
    assert paired.shown == (("lightning_logs/version_1/", "lightning_logs/version_0/"),)


def test_a_paired_file_whose_content_differs_is_changed() -> None:
    old, new = (
        _entry("runs/events.out.tfevents.1.h.1.0"),
        _entry("runs/events.out.tfevents.2.h.9.0", "b"),
    )
    paired = pair_renamed([old], [new])
    assert paired.changed == ((old, new),)
    assert paired.shown == ((old.path, new.path),)  # a file: shown whole, no trailing slash


def test_an_ambiguous_match_pairs_nothing() -> None:
    removed = [_entry("2026-12-07/20-47-39/r.txt"), _entry("2026-12-07/20-48-00/r.txt")]
    added = [_entry("2026-12-07/20-49-02/r.txt")]
    paired = pair_renamed(removed, added)
    assert paired.shown == () and paired.removed == tuple(removed) and paired.added == tuple(added)


def test_multirun_jobs_pair_by_their_number() -> None:
    removed = [
        _entry("m/2026-12-07/20-47-39/0/r.txt", "a"),
        _entry("m/2026-12-07/20-47-39/1/r.txt", "b"),
    ]
    added = [
        _entry("m/2026-12-07/20-49-02/1/r.txt", "b"),
        _entry("m/2026-12-07/20-49-02/0/r.txt", "a"),
    ]
    assert pair_renamed(removed, added).changed == ()


def test_a_path_with_run_specific_parts_has_a_glob_for_another_runs_name() -> None:
    assert as_glob("logs/lightning_logs/version_1/metrics.csv") == (
        "logs/lightning_logs/version_*/metrics.csv"
    )
    assert as_glob("logs/metrics.csv") is None
