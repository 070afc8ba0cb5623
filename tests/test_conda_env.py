"""A run in a conda environment: its conda packages read from `$CONDA_PREFIX/conda-meta`,
written back as a conda explicit list, and compared by `repro diff` and the rerun's causes.

No conda here: tests/helpers/conda.py writes conda-meta records as conda writes them, and
CONDA_PREFIX points at them, as `conda activate` sets it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from helpers.cli import assert_one_line_error, record_of, repro, store_bytes
from helpers.conda import CONDA_FORGE, OLD_MTIME_NS, age, link_package, unlink_package
from helpers.repos import MakeRepo

from repro_run.models import CondaList, CondaPackage
from repro_run.models.conda_explicit import explicit_lines

# Reads the environment's conda-meta: what it prints differs when a package changed, as the
# numbers of a program linked against another MKL build would.
PROGRAM = "import os\nprint(sorted(os.listdir(os.environ['CONDA_PREFIX'] + '/conda-meta')))\n"


def conda_env(tmp_path: Path) -> Path:
    prefix = tmp_path / "envs" / "train"
    link_package(prefix, "_openmp_mutex", "4.5", "2_gnu")
    link_package(prefix, "llvm-openmp", "17.0.6", "h4dfa4b3_0", depends=("_openmp_mutex >=4.5",))
    link_package(prefix, "mkl", "2023.2.0", "h84fe81f_50496", depends=("llvm-openmp >=16",))
    link_package(prefix, "openssl", "3.2.0", "hd590300_1", depends=())
    return prefix


def run_in(root: Path, prefix: Path) -> str:
    done = repro(root, "run", "train.py", env={"CONDA_PREFIX": str(prefix)})
    assert done.returncode == 0, done.stderr
    return str(record_of(root)["id"])


def test_a_run_in_a_conda_environment_records_its_conda_packages(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"train.py": PROGRAM})
    prefix = conda_env(tmp_path)
    run_in(root, prefix)
    conda = record_of(root)["conda"]
    assert (conda["prefix"], conda["count"], conda["source"]) == (str(prefix), 4, "conda-meta")
    listed = json.loads(
        repro(root, "show", "--packages", "--format", "conda", "--json", "@").stdout
    )
    mkl = next(p for p in listed["packages"] if p["name"] == "mkl")
    assert (mkl["version"], mkl["build"]) == ("2023.2.0", "h84fe81f_50496")
    assert mkl["channel"] == f"{CONDA_FORGE}/linux-64"
    assert mkl["depends"] == ["llvm-openmp"]


def test_show_format_conda_writes_an_explicit_list_in_link_order(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"train.py": PROGRAM})
    prefix = conda_env(tmp_path)
    run_in(root, prefix)
    done = repro(root, "show", "--packages", "--format", "conda", "@")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        "# This file may be used to create an environment using:",
        "# $ conda create --name <env> --file <this file>",
        "# platform: linux-64",
        "@EXPLICIT",
    ]
    urls = [line.partition("#")[0] for line in lines[4:]]
    base = f"{CONDA_FORGE}/linux-64"
    assert urls == [  # what a package depends on first, by name otherwise
        f"{base}/_openmp_mutex-4.5-2_gnu.conda",
        f"{base}/openssl-3.2.0-hd590300_1.conda",
        f"{base}/llvm-openmp-17.0.6-h4dfa4b3_0.conda",
        f"{base}/mkl-2023.2.0-h84fe81f_50496.conda",
    ]
    md5 = json.loads((prefix / "conda-meta" / "mkl-2023.2.0-h84fe81f_50496.json").read_text())
    assert lines[-1] == f"{urls[-1]}#{md5['md5']}"


def test_an_anaconda_token_in_a_channel_url_never_reaches_the_store(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"train.py": PROGRAM})
    prefix = conda_env(tmp_path)
    token = "ab-5f3c9e1d-7a2b-4c8e-9f10-3d6e8a1b2c4f"
    link_package(
        prefix, "inhouse", "1.0", "0", channel=f"https://conda.anaconda.org/t/{token}/acme"
    )
    run_in(root, prefix)
    assert token.encode() not in store_bytes(root)
    explicit = repro(root, "show", "--packages", "--format", "conda", "@").stdout
    assert "https://conda.anaconda.org/acme/linux-64/inhouse-1.0-0.conda#" in explicit
    assert token not in explicit


def test_an_unchanged_conda_meta_is_read_from_the_cache_and_a_change_is_seen(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"train.py": PROGRAM})
    prefix = conda_env(tmp_path)
    age(prefix)  # an environment installed long ago: its stat keys can be trusted
    run_in(root, prefix)
    run_in(root, prefix)
    assert record_of(root)["conda"]["source"] == "cache"
    link_package(prefix, "tzdata", "2024a", "h0c530f3_0")
    run_in(root, prefix)
    assert (record_of(root)["conda"]["source"], record_of(root)["conda"]["count"]) == (
        "conda-meta",
        5,
    )


def test_show_format_conda_of_a_run_outside_conda_is_a_one_line_error(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"train.py": "print('ok')\n"})
    assert repro(root, "run", "train.py", env={"CONDA_PREFIX": ""}).returncode == 0
    done = repro(root, "show", "--packages", "--format", "conda", "@")
    assert_one_line_error(done, 35, "recorded no conda packages", "CONDA_PREFIX was not set")


def test_diff_shows_conda_packages_changed_added_and_removed(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"train.py": PROGRAM})
    prefix = conda_env(tmp_path)
    a = run_in(root, prefix)
    unlink_package(prefix, "mkl")  # `conda install mkl=2023.2.0=<another build>`
    link_package(prefix, "mkl", "2023.2.0", "h84fe81f_50500", depends=("llvm-openmp >=16",))
    unlink_package(prefix, "openssl")
    link_package(prefix, "tzdata", "2024a", "h0c530f3_0")
    b = run_in(root, prefix)
    done = repro(root, "diff", "--json", "--section", "conda", a, b)
    assert done.returncode == 1, done.stderr
    (section,) = json.loads(done.stdout)["sections"]
    changed = {c["key"]: c for c in section["changes"] if c["change"] != "equal"}
    assert changed["mkl"]["old"] == "2023.2.0=h84fe81f_50496"
    assert changed["mkl"]["new"] == "2023.2.0=h84fe81f_50500"
    assert (changed["openssl"]["change"], changed["tzdata"]["change"]) == ("removed", "added")
    assert set(changed) == {"mkl", "openssl", "tzdata"}
    shown = repro(root, "diff", a, b).stdout
    assert "Conda packages" in shown and "h84fe81f_50500" in shown


def test_a_rerun_after_an_mkl_build_changed_names_it_first_among_the_causes(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"train.py": PROGRAM})
    prefix = conda_env(tmp_path)
    original = run_in(root, prefix)
    unlink_package(prefix, "mkl")
    link_package(prefix, "mkl", "2023.2.0", "h84fe81f_50500", depends=("llvm-openmp >=16",))
    done = repro(root, "rerun", original, env={"CONDA_PREFIX": str(prefix)})
    assert "DIVERGED" in done.stdout, done.stdout + done.stderr
    causes = record_of(root)["verdict"]["causes"]
    assert causes[0] == "conda: mkl 2023.2.0=h84fe81f_50496 → 2023.2.0=h84fe81f_50500"


def test_a_package_conda_cannot_fetch_from_the_list_is_a_comment_saying_why() -> None:
    local = CondaPackage(
        "inhouse", "1.0", "0", "local", subdir="linux-64", fn="inhouse-1.0-0.conda"
    )
    built = CondaPackage(
        "patched", "2.0", "1", "file:///home/me/conda-bld", url="file:///home/me/b/p.conda"
    )
    lines = explicit_lines(CondaList("/opt/conda", (local, built)))
    assert (
        "# inhouse==1.0=0: conda-meta records no URL and not the URL of its channel"
        in "\n".join(lines)
    )
    assert "inhouse-1.0-0.conda" not in "".join(x for x in lines if not x.startswith("#"))
    where = lines.index("file:///home/me/b/p.conda")
    assert lines[where - 1] == "# patched==2.0=1: a local archive of the machine the run ran on"


def test_gc_keeps_the_conda_package_list_a_record_names(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"train.py": PROGRAM})
    run_in(root, conda_env(tmp_path))
    objects = root / ".repro" / "objects"
    for path in objects.glob("*/*"):  # older than gc's grace period
        os.utime(path, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
    assert repro(root, "gc").returncode == 0
    done = repro(root, "show", "--packages", "--format", "conda", "@")
    assert done.returncode == 0 and "mkl-2023.2.0-h84fe81f_50496.conda" in done.stdout, done.stderr


def test_a_plain_rerun_warns_before_it_runs_that_a_numerics_conda_package_changed(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"train.py": PROGRAM})
    prefix = conda_env(tmp_path)
    original = run_in(root, prefix)
    unlink_package(prefix, "openssl")
    link_package(prefix, "openssl", "3.2.1", "hd590300_0")
    unlink_package(prefix, "mkl")
    link_package(prefix, "mkl", "2023.2.0", "h84fe81f_50500", depends=("llvm-openmp >=16",))
    done = repro(root, "rerun", original, env={"CONDA_PREFIX": str(prefix)})
    warning = next(line for line in done.stderr.splitlines() if "differs from run" in line)
    drift = warning.split("'s: ", 1)[1].split("; ")
    assert drift[:2] == [
        "conda: mkl 2023.2.0=h84fe81f_50496 → 2023.2.0=h84fe81f_50500",
        "conda: openssl 3.2.0=hd590300_1 → 3.2.1=hd590300_0 (upgraded)",
    ]
    assert done.stderr.index(warning) < done.stderr.index(" started: ")


def test_show_names_the_conda_prefix_its_package_count_and_how_to_list_them(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"train.py": PROGRAM})
    prefix = conda_env(tmp_path)
    run_id = run_in(root, prefix)
    shown = repro(root, "show", run_id).stdout
    conda = shown.split("\nConda\n")[1].split("\nContainer\n")[0].splitlines()
    assert [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in conda[:2]] == [
        ["prefix", str(prefix)],
        ["packages", f"4 conda packages (repro show --packages --format conda {run_id})"],
    ]
