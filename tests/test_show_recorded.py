"""What was recorded is visible: `repro show --packages`, the dirty/tainted/secret_in_patch
flags and the `--repeat` group in `show` and `list`, `list --group`, `report GROUP`, and the
report's variance, which does not pool reruns with the runs they replay (issue 17, items 2, 5).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

# The accuracy depends on the seed only, so a test knows every final value in advance.
TRAIN = """\
import os
import repro_run
repro_run.log_metrics(step=0, accuracy=0.5 + int(os.environ["REPRO_SEED"]) / 100)
"""


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": TRAIN, "settings.py": "name = 'demo'\n"})


def _section(stdout: str, title: str) -> dict[str, str]:
    """A `repro show` section as {key: value}; a value wrapped over lines is joined again."""
    rows: dict[str, str] = {}
    lines = stdout.splitlines()
    start = lines.index(title) + 1
    key = ""
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        name, _, value = line[2:].partition("  ")
        if name.strip():
            key = name.strip()
            rows[key] = value.strip()
        else:
            rows[key] += " " + value.strip()
    return rows


def _listed(root: Path, *args: str) -> list[dict[str, Any]]:
    done = repro(root, "list", "--json", *args)
    assert done.returncode == 0, done.stderr
    runs: list[dict[str, Any]] = json.loads(done.stdout)
    return runs


def _group(output: str) -> str:
    return output.split("repro stats ")[-1].split()[0]


# --- repro show --packages --------------------------------------------------------------------
def _dist(site: Path, name: str, version: str, direct_url: dict[str, Any] | None = None) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))


def test_show_packages_prints_what_pip_freeze_prints(project: Path, tmp_path: Path) -> None:
    """Distributions of every kind pip knows (plain, archive URL, VCS, local directory,
    editable), against the real `pip freeze`; pip's comment line names what repro could not
    know (whether the editable location is under version control), so comments are left out."""
    site, source = tmp_path / "site", tmp_path / "delta-src"
    source.mkdir()
    _dist(site, "Alpha", "1.0")
    _dist(site, "beta", "2.0", {"url": "https://example.com/beta-2.0.tar.gz", "archive_info": {}})
    commit = "0123456789abcdef0123456789abcdef01234567"
    vcs = {"vcs": "git", "commit_id": commit}
    _dist(site, "gamma", "3.0", {"url": "https://example.com/o/gamma.git", "vcs_info": vcs})
    _dist(site, "delta", "0.1", {"url": source.as_uri(), "dir_info": {"editable": True}})
    _dist(site, "Epsilon", "5.0", {"url": source.as_uri(), "dir_info": {}})
    assert repro(project, "run", "train.py", env={"PYTHONPATH": str(site)}).returncode == 0
    done = repro(project, "show", "--packages", "@")
    assert done.returncode == 0, done.stderr
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--path", str(site)],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = [line for line in freeze.stdout.splitlines() if not line.startswith("#")]
    assert len(expected) == 5 and f"-e {source}" in expected
    shown = [line for line in done.stdout.splitlines() if not line.startswith("#")]
    assert [line for line in shown if line in expected] == expected
    assert "# Editable install (delta==0.1)" in done.stdout  # the version pip's comment names
    names = [line.split("==")[0].split(" @ ")[0] for line in shown if not line.startswith("-e")]
    assert names == sorted(names, key=str.lower)


def test_show_packages_json_prints_the_package_records(project: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    _dist(site, "alpha", "1.0", {"url": "https://example.com/alpha.whl", "archive_info": {}})
    assert repro(project, "run", "train.py", env={"PYTHONPATH": str(site)}).returncode == 0
    done = repro(project, "show", "--packages", "--json", "@")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["python_version"] and document["interpreter"]
    (alpha,) = [p for p in document["packages"] if p["name"] == "alpha"]
    assert alpha == {
        "name": "alpha",
        "version": "1.0",
        "editable": None,
        "vcs": None,
        "url": "https://example.com/alpha.whl",
        "modules": [],  # its import names: this distribution lists no files (no RECORD)
        "project": None,  # not an editable install of the project
    }


def test_show_packages_keeps_a_hostile_url_on_its_line(project: Path, tmp_path: Path) -> None:
    """A direct_url.json is anyone's file: a newline in its URL must not add a requirement
    line (`pip install -r` would install it), an escape sequence must not reach the terminal."""
    site = tmp_path / "site"
    hostile = "https://example.com/a.tar.gz\nevil==6.6.6\x1b]0;pwned\x07"
    _dist(site, "alpha", "1.0", {"url": hostile, "archive_info": {}})
    assert repro(project, "run", "train.py", env={"PYTHONPATH": str(site)}).returncode == 0
    done = repro(project, "show", "--packages", "@")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "evil==6.6.6" not in lines and "\x1b" not in done.stdout
    (alpha,) = [line for line in lines if line.startswith("alpha")]
    assert alpha.startswith("alpha @ https://example.com/a.tar.gz") and "evil==6.6.6" in alpha


def test_show_packages_of_a_run_without_a_package_list_says_why(
    project: Path, tmp_path: Path
) -> None:
    """An interpreter that cannot list its packages: the run goes on, its record says why, and
    `show --packages` prints that reason in one line and exits 35, never an empty list."""
    wrapper = tmp_path / "bin" / "python"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-c" ]; then echo "listing refused" >&2; exit 3; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    wrapper.chmod(0o755)
    assert repro(project, "run", "--", str(wrapper), "train.py").returncode == 0
    done = repro(project, "show", "--packages", "@")
    assert done.returncode == 35 and done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert "has no package list" in done.stderr and "listing refused" in done.stderr


# --- flags and groups in show and list -------------------------------------------------------
def test_a_dirty_run_is_flagged_in_show(project: Path) -> None:
    (project / "settings.py").write_text("name = 'changed'\n")
    assert repro(project, "run", "--allow-dirty", "train.py").returncode == 0
    run = _section(repro(project, "show", "@").stdout, "Run")
    assert run["flags"] == "dirty" and "uncommitted changes" in run["dirty"]
    assert _listed(project)[0]["dirty"] is True


def test_a_clean_run_shows_no_flags(project: Path) -> None:
    assert repro(project, "run", "train.py").returncode == 0
    run = _section(repro(project, "show", "@").stdout, "Run")
    assert run["flags"] == "none" and "group" not in run
    assert "FLAGS" not in repro(project, "list").stdout


def test_a_tainted_run_is_flagged_in_show_and_list(project: Path) -> None:
    edit = "open('train.py', 'a').write('# changed during the run\\n')"
    assert repro(project, "run", "--", sys.executable, "-c", edit).returncode == 0
    run = _section(repro(project, "show", "@").stdout, "Run")
    assert run["flags"] == "tainted" and "train.py (modified)" in run["tainted"]
    assert _listed(project)[0]["flags"] == ["tainted"]
    header, row = repro(project, "list").stdout.splitlines()[:2]
    assert "FLAGS" in header and "tainted" in row


def test_a_secret_in_the_patch_is_flagged_in_show_and_list(project: Path) -> None:
    (project / "settings.py").write_text("name = 'demo'\napi_key = \"rpr_CANARY_5f2c9e0dx9Qz\"\n")
    assert repro(project, "run", "--allow-dirty", "train.py").returncode == 0
    run = _section(repro(project, "show", "@").stdout, "Run")
    assert run["flags"] == "dirty, secret_in_patch"
    assert run["secret in patch"].startswith("settings.py:2 (assignment)")
    assert _listed(project)[0]["flags"] == ["secret_in_patch"]
    header, row = repro(project, "list").stdout.splitlines()[:2]
    assert "FLAGS" in header and "secret" in row and "*" in row  # `*`: dirty, next to COMMIT


def test_a_repeat_group_shows_in_show_and_list(project: Path) -> None:
    done = repro(project, "run", "--repeat", "2", "train.py")
    assert done.returncode == 0, done.stderr
    group = _group(done.stderr)
    assert _section(repro(project, "show", "@").stdout, "Run")["group"].startswith(group)
    assert [run["group"] for run in _listed(project)] == [group, group]
    header, *rows = repro(project, "list").stdout.splitlines()
    assert "GROUP" in header and all(f" {group} " in row for row in rows)


def test_list_group_lists_only_that_group(project: Path) -> None:
    assert repro(project, "run", "train.py").returncode == 0
    done = repro(project, "run", "--repeat", "2", "train.py")
    group = _group(done.stderr)
    assert repro(project, "run", "train.py").returncode == 0
    listed = _listed(project, "--group", group)
    assert [run["group"] for run in listed] == [group, group]
    assert len(_listed(project)) == 4


def test_list_group_of_an_unknown_group_lists_nothing(project: Path) -> None:
    assert repro(project, "run", "train.py").returncode == 0
    done = repro(project, "list", "--group", "grp-0000000000")
    assert done.returncode == 0 and done.stdout.strip() == "No runs match."


def test_an_index_from_the_previous_version_is_rebuilt_with_flags_and_groups(
    project: Path,
) -> None:
    """A store indexed by repro before the flags and group columns: `list` rebuilds its index
    (a cache) and shows them."""
    done = repro(project, "run", "--repeat", "2", "train.py")
    group = _group(done.stderr)
    index = project / ".repro" / "index.sqlite"
    index.unlink(missing_ok=True)
    with sqlite3.connect(index) as conn:  # the index that version 2 wrote
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('index_version', '2')")
        conn.execute(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, created TEXT NOT NULL, status TEXT NOT NULL,"
            " duration REAL, command BLOB NOT NULL, commit_sha TEXT NOT NULL, seed TEXT NOT NULL,"
            " exit_code INTEGER, dirty INTEGER NOT NULL, record_mtime_ns INTEGER NOT NULL,"
            " rerun_of TEXT, verdict TEXT, metrics TEXT)"
        )
    conn.close()
    assert [run["group"] for run in _listed(project, "--group", group)] == [group, group]


# --- groups in report, and reruns in its variance ---------------------------------------------
def _variance(root: Path, output: str) -> str:
    html = (root / output).read_text(encoding="utf-8")
    return html.split('id="variance"')[1].split("</section>")[0]


def test_report_of_a_group_reports_its_runs(project: Path) -> None:
    done = repro(project, "run", "--repeat", "3", "train.py")
    group = _group(done.stderr)
    assert repro(project, "run", "train.py").returncode == 0  # not in the group
    done = repro(project, "report", group, "-o", "r.html")
    assert done.returncode == 0, done.stderr
    assert "(3 run(s))" in done.stdout
    assert "<td>accuracy</td><td>3</td><td>0.51</td>" in _variance(project, "r.html")


def test_report_variance_does_not_pool_a_rerun_with_its_run(project: Path) -> None:
    for seed in ("1", "3"):
        assert repro(project, "run", "--seed", seed, "train.py").returncode == 0
    first, second = str(record_of(project, "@~1")["id"]), str(record_of(project, "@")["id"])
    assert repro(project, "rerun", first).returncode == 0
    rerun = str(record_of(project, "@")["id"])
    done = repro(project, "report", first, second, rerun, "-o", "r.html")
    assert done.returncode == 0, done.stderr
    variance = _variance(project, "r.html")
    assert "<td>accuracy</td><td>2</td><td>0.52</td>" in variance  # first and second only
    assert f"{rerun} (rerun of {first})" in variance


def test_report_of_a_group_id_that_no_run_has_is_not_found(project: Path) -> None:
    assert repro(project, "run", "train.py").returncode == 0
    done = repro(project, "report", "grp-0000000000")
    assert done.returncode == 7 and "no run belongs to group grp-0000000000" in done.stderr
