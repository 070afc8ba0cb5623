"""The pure comparison behind `repro diff` and the rerun verdict: every section, the ranking."""

from __future__ import annotations

from typing import Any

import pytest

from repro_run.compare import (
    CodeHistory,
    PairFacts,
    Snapshot,
    compare_snapshots,
    likely_causes,
    snapshot_of_record,
)
from repro_run.compare.versions import compare_versions
from repro_run.core.record import replace
from repro_run.models import (
    CodeState,
    CommandInfo,
    CondaList,
    CondaPackage,
    ConfigFile,
    ContainerInfo,
    CudaLibraries,
    Determinism,
    DirtyPath,
    EnvCapture,
    GpuDevice,
    GpuInfo,
    Package,
    PackageList,
    ProcessResult,
    RunRecord,
    Supervisor,
    SystemInfo,
    TreeRef,
    Unavailable,
)
from repro_run.models.comparison import (
    CURRENT,
    NOT_COMPARED,
    SECTION_NAMES,
    DirectoryCount,
    FieldChange,
    FileChanges,
    FileStat,
    RunComparison,
    Side,
)

DIGEST_A, DIGEST_B = "a" * 64, "b" * 64
COMMIT_A, COMMIT_B = "1" * 40, "2" * 40


PROCESS = ProcessResult(0, None, 100.0, 90.0, 2 * 10**9, None, 10, 0)


def record(run_id: str = "2q0000000a", **fields: Any) -> RunRecord:
    """A complete record of a plausible run; keyword arguments replace its fields."""
    base = RunRecord(
        id=run_id,
        status="succeeded",
        created="2026-01-02T03:04:05.000+00:00",
        repro_version="0.1.0",
        supervisor=Supervisor(1, 1.0, "host", None),
        code=CodeState(COMMIT_A, "main", None, (), False),
        command=CommandInfo(("train.py", "--lr", "0.1"), ("python", "train.py"), ".", "/py", "/py"),
        determinism=Determinism(7, "cli", {"PYTHONHASHSEED": "7", "REPRO_RUN_ID": run_id}, {}),
        env=EnvCapture({"LANG": "C.UTF-8"}, ("HOME",), ("API_TOKEN",)),
        system=SystemInfo(
            "host", "Linux", "Debian 12", "6.1", "x86_64", "3.11.7", "CPython", "Xeon", 8, 4, 2**34
        ),
        packages=Unavailable("replaced by the snapshot"),
        gpu=GpuInfo(
            "550.54", "12.4", (GpuDevice(0, "NVIDIA H100", "GPU-1", 80 * 10**9, "9.0", 132),)
        ),
        cuda=CudaLibraries("12.4", "9.1.0", "2.21.5"),
        configs=(ConfigFile("cfg.yaml", "yaml", DIGEST_A, {"optim.lr": 0.1, "model.depth": 4}),),
        data=(TreeRef("data", DIGEST_A, 1000, 4_000_000, DIGEST_A),),
        outputs=(TreeRef("out", DIGEST_A, 2, 100, DIGEST_A),),
        process=PROCESS,
    )
    return replace(base, **fields)


PACKAGES = PackageList("/py", "3.11.7", (Package("numpy", "1.26.4"), Package("torch", "2.3.0")))


def snap(
    rec: RunRecord | None = None, packages: PackageList | Unavailable = PACKAGES, **kw: Any
) -> Snapshot:
    return snapshot_of_record(rec or record(), packages, **kw)


def compare(a: Snapshot, b: Snapshot, facts: PairFacts | None = None) -> RunComparison:
    return compare_snapshots(a, b, facts)


def differences(c: RunComparison, name: str) -> dict[str, FieldChange]:
    return {f.key: f for f in c.section(name).differences}


# --- the whole comparison ---------------------------------------------------------------------
def test_a_run_compared_with_itself_differs_nowhere() -> None:
    c = compare(snap(), snap())
    assert not c.differs
    assert [s.status for s in c.sections] == ["equal"] * len(SECTION_NAMES)


def test_sections_come_ranked_causes_first_then_results() -> None:
    c = compare(snap(), snap())
    assert [s.name for s in c.sections] == list(SECTION_NAMES)
    assert SECTION_NAMES[:5] == ("data", "code", "config", "command", "seed")
    assert [s.rank for s in c.sections] == list(range(1, len(SECTION_NAMES) + 1))
    assert [s.role for s in c.sections][-3:] == ["result"] * 3


def test_likely_causes_are_the_differing_causes_in_rank_order() -> None:
    b = record(
        "2q0000000b",
        determinism=Determinism(8, "cli", {}, {}),
        data=(TreeRef("data", DIGEST_B, 1, 1, DIGEST_B),),
        outputs=(),
        configs=(ConfigFile("cfg.yaml", "yaml", DIGEST_B, {"optim.lr": 0.2, "model.depth": 4}),),
    )
    causes = likely_causes(compare(snap(), snap(b)))
    assert [s.name for s in causes] == ["data", "config", "seed", "determinism"]


def test_only_keeps_the_asked_sections_in_rank_order() -> None:
    c = compare(snap(), snap(record(determinism=Determinism(8, "cli", {}, {})))).only(
        ("seed", "data")
    )
    assert [s.name for s in c.sections] == ["data", "seed"]
    assert c.differs


def test_current_environment_has_no_run_sections_and_they_do_not_count() -> None:
    current = replace(snap(), side=Side(CURRENT), run=None)
    c = compare(snap(), current)
    skipped = {s.name for s in c.sections if s.status == NOT_COMPARED}
    assert skipped == {
        "command",
        "seed",
        "framework",
        "nodes",
        "determinism",
        "metrics",
        "outputs",
        "resources",
        "parts",
    }
    assert not c.differs


# --- data and outputs ---------------------------------------------------------------------------
NEW_IMAGES = FileChanges(
    added=3201,
    removed=0,
    modified=2,
    bytes_added=412_000_000,
    bytes_removed=0,
    by_directory=(DirectoryCount("train", 3201, 0, 2, 412_000_000, 0),),
    first_paths=("+ train/img_0001.png", "~ train/labels.csv"),
)


def test_changed_dataset_shows_digests_counts_directories_and_first_paths() -> None:
    b = record(data=(TreeRef("data", DIGEST_B, 4201, 416_000_000, DIGEST_B),))
    c = compare(snap(), snap(b), PairFacts(trees={(DIGEST_A, DIGEST_B): NEW_IMAGES}))
    data = differences(c, "data")["data"]
    assert (data.old_text, data.new_text) == ("aaaaaaaaaaaa", "bbbbbbbbbbbb")
    assert data.details[0] == "1,000 → 4,201 files, 4.0 MB → 416.0 MB"
    assert "+3,201 added, -0 removed, ~2 modified" in data.details
    assert "train/: +3,201 files, ~2 modified (+412.0 MB)" in data.details
    assert "+ train/img_0001.png" in data.details
    assert data.extra["files"]["added"] == 3201
    assert c.section("data").summary == "1 dataset changed: data (+3,201 -0 ~2 files)"


def test_dataset_in_one_run_only_is_added_or_removed() -> None:
    b = record(
        data=(
            TreeRef("data", DIGEST_A, 1000, 4_000_000, DIGEST_A),
            TreeRef("val", DIGEST_B, 5, 50, DIGEST_B),
        )
    )
    c = compare(snap(b), snap())
    assert differences(c, "data")["val"].change == "removed"
    assert compare(snap(), snap(b)).section("data").differences[0].change == "added"


def test_a_single_dataset_under_a_new_path_is_compared_with_the_old_one() -> None:
    b = record(data=(TreeRef("data-v2", DIGEST_B, 1000, 4_000_000, DIGEST_B),))
    (moved,) = compare(snap(), snap(b)).section("data").differences
    assert (moved.key, moved.change) == ("data → data-v2", "changed")


def test_unknown_file_level_changes_say_why() -> None:
    b = record(data=(TreeRef("data", DIGEST_B, 1000, 4_000_000, DIGEST_B),))
    facts = PairFacts(trees={(DIGEST_A, DIGEST_B): "file-level changes unknown: object missing"})
    data = differences(compare(snap(), snap(b), facts), "data")["data"]
    assert "file-level changes unknown: object missing" in data.details


def test_outputs_list_the_files_that_differ() -> None:
    b = record(outputs=(TreeRef("out", DIGEST_B, 2, 100, DIGEST_B),))
    weights = FileChanges(0, 0, 1, 0, 0, (DirectoryCount("", 0, 0, 1, 0, 0),), ("~ model.bin",))
    c = compare(snap(), snap(b), PairFacts(trees={(DIGEST_A, DIGEST_B): weights}))
    assert "~ model.bin" in differences(c, "outputs")["out"].details
    assert "./: ~1 modified" in differences(c, "outputs")["out"].details


# --- code, config, command, seed, determinism ------------------------------------------------------
def test_commits_that_differ_carry_the_diff_stat() -> None:
    b = record(code=CodeState(COMMIT_B, "main", None, (), False))
    stat = (FileStat("train.py", 3, 1), FileStat("weights.bin", None, None))
    commit = differences(compare(snap(), snap(b), PairFacts(code=CodeHistory(stat=stat))), "code")[
        "commit"
    ]
    assert commit.details == (
        "git diff --stat: 2 files changed, +3 -1",
        "  train.py  +3 -1",
        "  weights.bin  binary",
    )
    assert commit.extra["files"][0] == {"path": "train.py", "added": 3, "deleted": 1}


def test_a_commit_missing_from_the_repository_is_named() -> None:
    b = record(code=CodeState(COMMIT_B, "main", None, (), False))
    facts = PairFacts(code=CodeHistory(missing_commits=(COMMIT_A,)))
    commit = differences(compare(snap(), snap(b), facts), "code")["commit"]
    assert commit.details == (
        "commit 111111111111 is not in this repository (rebased or force-pushed?)",
    )


def test_a_patch_in_one_run_lists_its_changed_paths() -> None:
    dirty = CodeState(
        COMMIT_A, "main", None, (), True, (DirtyPath("train.py", "modified"),), DIGEST_B
    )
    patch = differences(compare(snap(), snap(record(code=dirty))), "code")["patch"]
    assert (patch.change, patch.old_text, patch.new_text) == (
        "added",
        "none (clean tree)",
        "bbbbbbbbbbbb",
    )
    assert patch.details == ("B: modified train.py",)


def test_hyperparameters_changed_added_and_removed() -> None:
    b = record(
        configs=(ConfigFile("cfg.yaml", "yaml", DIGEST_B, {"optim.lr": 0.05, "optim.wd": 0.01}),)
    )
    changes = differences(compare(snap(), snap(b)), "config")
    assert {k: (f.change, f.old, f.new) for k, f in changes.items()} == {
        "optim.lr": ("changed", 0.1, 0.05),
        "optim.wd": ("added", None, 0.01),
        "model.depth": ("removed", 4, None),
    }


def test_a_value_that_changes_type_is_a_change() -> None:
    a = record(configs=(ConfigFile("c.yaml", "yaml", DIGEST_A, {"amp": 1}),))
    b = record(configs=(ConfigFile("c.yaml", "yaml", DIGEST_B, {"amp": True}),))
    assert differences(compare(snap(a), snap(b)), "config")["amp"].change == "changed"


def test_config_content_that_differs_with_equal_parameters_is_a_difference() -> None:
    # `a: {b: 1}` and `a.b: 1`, or a comment: other bytes, the same flattened parameters.
    b = record(configs=(replace(record().configs[0], object=DIGEST_B),))
    c = compare(snap(), snap(b))
    assert c.differs and c.section("config").differs
    content = differences(c, "config")["file content"]
    assert (content.change, content.old, content.new) == ("changed", DIGEST_A, DIGEST_B)
    assert content.details == ("cfg.yaml: content differs (no parameter changed)",)


def test_config_with_the_same_content_is_equal() -> None:
    same = record(configs=(replace(record().configs[0]),))
    assert not compare(snap(), snap(same)).section("config").differs


def test_two_config_files_are_told_apart_by_path() -> None:
    two = (*record().configs, ConfigFile("model.yaml", "yaml", DIGEST_A, {"depth": 4}))
    b = record(
        configs=(record().configs[0], ConfigFile("model.yaml", "yaml", DIGEST_B, {"depth": 8}))
    )
    assert set(differences(compare(snap(record(configs=two)), snap(b)), "config")) == {
        "model.yaml: depth"
    }


def test_command_arguments_that_differ() -> None:
    b = record(command=replace(record().command, argv=("train.py", "--lr", "0.2")))
    argv = differences(compare(snap(), snap(b)), "command")["argv"]
    assert (argv.old, argv.new) == ("train.py --lr 0.1", "train.py --lr 0.2")


def test_seed_change_says_where_each_seed_came_from() -> None:
    b = record(determinism=Determinism(99, "random", {"PYTHONHASHSEED": "99"}, {}))
    c = compare(snap(), snap(b))
    seed = differences(c, "seed")["seed"]
    assert (seed.old, seed.new, seed.details) == (7, 99, ("source: cli → random",))
    assert not c.section("determinism").differs  # PYTHONHASHSEED follows the seed


def test_determinism_settings_and_who_set_them() -> None:
    b = record(
        determinism=Determinism(
            7,
            "cli",
            {"PYTHONHASHSEED": "7", "CUBLAS_WORKSPACE_CONFIG": ":4096:8"},
            {"OMP_NUM_THREADS": "4"},
        )
    )
    changes = differences(compare(snap(), snap(b)), "determinism")
    assert changes["CUBLAS_WORKSPACE_CONFIG"].change == "added"
    assert changes["OMP_NUM_THREADS"].details == ("B: set by you, not by repro",)
    assert "REPRO_RUN_ID" not in changes  # names the run, steers nothing


def test_the_package_digest_handed_to_ranks_is_no_determinism_difference() -> None:
    """REPRO_PACKAGES_DIGEST names where the packages are and their digest: the packages
    section compares them; a reinstall alone must not read as a determinism change."""
    handed = {"PYTHONHASHSEED": "7", "REPRO_PACKAGES_DIGEST": "0" * 32 + " /v/site-packages:1:2:3"}
    b = record(determinism=Determinism(7, "cli", handed, {}))
    assert "REPRO_PACKAGES_DIGEST" not in differences(compare(snap(), snap(b)), "determinism")


# --- packages, GPU, env, system -------------------------------------------------------------------
def test_packages_upgraded_downgraded_added_removed_with_versions() -> None:
    old = PackageList(
        "/py",
        "3.11.7",
        (Package("numpy", "1.26.4"), Package("torch", "2.3.0"), Package("six", "1.16")),
    )
    new = PackageList(
        "/py",
        "3.11.7",
        (Package("NumPy", "2.0.0"), Package("torch", "2.2.2"), Package("pandas", "2.2.0")),
    )
    section = compare(snap(packages=old), snap(packages=new)).section("packages")
    changes = {f.key: (f.change, f.old_text, f.new_text) for f in section.differences}
    assert changes == {
        "numpy": ("upgraded", "1.26.4", "2.0.0"),
        "torch": ("downgraded", "2.3.0", "2.2.2"),
        "pandas": ("added", "", "2.2.0"),
        "six": ("removed", "1.16", ""),
    }
    assert section.summary.startswith("1 upgraded, 1 downgraded, 1 added, 1 removed: ")


def test_same_version_from_another_commit_is_a_change() -> None:
    old = PackageList("/py", "3.11", (Package("mylib", "0.1", vcs="git+https://h/r@aaa"),))
    new = PackageList("/py", "3.11", (Package("mylib", "0.1", vcs="git+https://h/r@bbb"),))
    (change,) = compare(snap(packages=old), snap(packages=new)).section("packages").differences
    assert change.change == "changed" and change.new_text == "0.1 (git+https://h/r@bbb)"


def test_packages_not_captured_are_not_compared_and_say_why() -> None:
    section = compare(snap(), snap(packages=Unavailable("python2 gone"))).section("packages")
    assert section.status == NOT_COMPARED and "B: python2 gone" in section.summary


@pytest.mark.parametrize(
    ("old", "new", "order"),
    [
        ("1.0", "1.0.0", 0),
        ("1.9", "1.10", 1),
        ("2.0.0rc1", "2.0.0", 1),
        ("2.0.0.dev1", "2.0.0a1", 1),
        ("1.0", "1.0.post1", 1),
        ("1!0.1", "2.0", -1),
        ("2.1.0+cu121", "2.1.0+cpu", 0),
        ("abc", "1.0", None),
    ],
)
def test_versions_order_like_pep_440(old: str, new: str, order: int | None) -> None:
    assert compare_versions(old, new) == order


def test_gpu_driver_cuda_libraries_and_devices() -> None:
    b = record(
        gpu=GpuInfo(
            "535.1", "12.2", (GpuDevice(0, "NVIDIA A100", "GPU-2", 40 * 10**9, "8.0", 108),)
        ),
        cuda=CudaLibraries("12.2", None, "2.21.5"),
    )
    changes = differences(compare(snap(), snap(b)), "gpu")
    assert changes["driver"].old == "550.54" and changes["driver"].new == "535.1"
    assert changes["gpu 0"].new == "NVIDIA A100, 40.0 GB, sm 8.0, 108 SMs"
    assert (changes["cudnn"].change, changes["cudnn"].new_text) == ("removed", "not found")
    assert "nccl" not in changes


def test_gpu_present_in_one_run_only() -> None:
    c = compare(snap(), snap(record(gpu=Unavailable("no NVIDIA driver"))))
    gpus = differences(c, "gpu")["gpus"]
    assert (gpus.old, gpus.new, gpus.details) == (
        "1 x NVIDIA H100",
        "unavailable",
        ("B: no NVIDIA driver",),
    )


def test_env_values_compared_secrets_by_name_only() -> None:
    b = record(env=EnvCapture({"LANG": "C", "OMP_NUM_THREADS": "2"}, (), ("API_TOKEN", "HF_TOKEN")))
    changes = differences(compare(snap(), snap(b)), "env")
    assert (changes["LANG"].old, changes["LANG"].new) == ("C.UTF-8", "C")
    assert changes["OMP_NUM_THREADS"].change == "added"
    assert changes["HF_TOKEN"].new == "(secret; by name only)"
    assert changes["HOME"].change == "removed"
    assert "API_TOKEN" not in changes  # secret in both: its value was never recorded


def test_system_python_kernel_cpu_and_memory() -> None:
    other = replace(
        record().system, python_version="3.12.1", kernel="6.8", memory_total=2**35, cpu_model="EPYC"
    )
    changes = differences(compare(snap(), snap(record(system=other))), "system")
    assert set(changes) == {"python", "kernel", "cpu", "memory"}
    assert (changes["memory"].old_text, changes["memory"].new_text) == ("17.2 GB", "34.4 GB")


# --- framework facts, metrics, resources ------------------------------------------------------------
def test_framework_facts_recorded_inside_the_child() -> None:
    a = snap(framework={"torch.version": "2.3.0", "cudnn.benchmark": "False"})
    b = snap(framework={"torch.version": "2.3.0", "cudnn.benchmark": "True"})
    assert set(differences(compare(a, b), "framework")) == {"cudnn.benchmark"}


def test_without_metrics_the_section_is_empty_and_equal() -> None:
    section = compare(snap(), snap()).section("metrics")
    assert section.fields == () and not section.differs
    assert section.notes == ("no metrics recorded on either side",)


def test_metrics_final_values_and_deltas() -> None:
    c = compare(snap(metrics={"loss": 0.5, "acc": 0.9}), snap(metrics={"loss": 0.4, "acc": 0.9}))
    loss = differences(c, "metrics")["loss"]
    assert loss.details == ("Δ -0.1 (-20.00%)",)
    assert loss.extra["delta"] == pytest.approx(-0.1)


def test_metric_values_read_with_the_digits_that_tell_them_apart() -> None:
    a = {"loss": 0.004226727357769632, "total": 1976.7880859375, "acc": 0.912345678}
    b = {"loss": 0.004516690888080384, "total": 1976.78955078125, "acc": 0.912345678}
    section = compare(snap(metrics=a), snap(metrics=b)).section("metrics")
    shown = {f.key: (f.old_text, f.new_text) for f in section.fields}
    assert shown["loss"] == ("0.00422673", "0.00451669")
    assert shown["total"] == ("1976.788", "1976.79")  # equal to six digits: one more is shown
    assert shown["acc"] == ("0.912346", "0.912346")
    assert "acc" not in {f.key for f in section.differences}
    loss = {f.key: f for f in section.fields}["loss"]
    assert (loss.old, loss.new) == (a["loss"], b["loss"])  # the JSON keeps every digit
    added = compare(snap(), snap(metrics={"acc": 0.98765432101})).section("metrics").fields[0]
    assert (added.change, added.new_text) == ("added", "0.987654")


def test_metric_values_are_compared_bit_for_bit() -> None:
    nan, zero = float("nan"), 0.0
    same_nan = compare(snap(metrics={"x": nan}), snap(metrics={"x": nan})).section("metrics")
    assert not same_nan.differs  # the same NaN is the same result
    zeros = compare(snap(metrics={"x": zero}), snap(metrics={"x": -zero})).section("metrics")
    assert zeros.differs and (zeros.fields[0].old_text, zeros.fields[0].new_text) == ("0", "-0")


def test_resources_within_measurement_noise_are_equal() -> None:
    noisy = replace(PROCESS, wall_time=105.0, peak_rss=2 * 10**9 + 10**6)
    assert not compare(snap(), snap(record(process=noisy))).section("resources").differs


def test_resources_status_exit_code_and_a_slower_run() -> None:
    slow = replace(PROCESS, exit_code=3, wall_time=300.0)
    c = compare(snap(), snap(record(status="failed", process=slow)))
    assert set(differences(c, "resources")) == {"status", "exit code", "duration"}
    assert differences(c, "resources")["duration"].new_text == "300.0s"


# --- conda packages and the container -------------------------------------------------------
def _conda(*packages: CondaPackage) -> CondaList:
    return CondaList("/opt/conda/envs/train", packages)


MKL = CondaPackage("mkl", "2023.2.0", "h84fe81f_50496", "https://conda.anaconda.org/conda-forge")
OPENSSL = CondaPackage("openssl", "3.2.0", "hd590300_1", "https://conda.anaconda.org/conda-forge")
OTHER_ENV = EnvCapture({"LANG": "C"}, ("HOME",), ("API_TOKEN",))


def test_a_changed_numerics_conda_package_ranks_just_after_the_python_packages() -> None:
    rebuilt = replace(MKL, build="h84fe81f_50500")
    a = snap(conda=_conda(MKL, OPENSSL))
    b = snap(record(env=OTHER_ENV), conda=_conda(rebuilt, OPENSSL))
    assert [s.name for s in likely_causes(compare(a, b))] == ["conda", "env"]


def test_a_conda_change_without_a_numerics_library_ranks_last_among_the_causes() -> None:
    a = snap(conda=_conda(MKL, OPENSSL))
    b = snap(record(env=OTHER_ENV), conda=_conda(MKL, replace(OPENSSL, version="3.2.1")))
    assert [s.name for s in likely_causes(compare(a, b))] == ["env", "conda"]


def test_a_different_container_image_is_a_likely_cause() -> None:
    a = snap(record(container=ContainerInfo("podman", "docker.io/acme/train:1", "aaa")))
    b = snap(record(container=ContainerInfo("podman", "docker.io/acme/train:2", "bbb")))
    c = compare(a, b)
    assert [s.name for s in likely_causes(c)] == ["container"]
    assert set(differences(c, "container")) == {"image", "image id"}
