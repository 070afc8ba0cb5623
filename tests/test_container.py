"""The container a run ran in, told by the files and variables its runtime puts inside.

No container runtime runs here: `capture_container` takes the root its paths are read under
(`root=tmp_path` in these tests, "/" for a run), and the tests write there what Docker, Podman
and Apptainer write (`/.dockerenv`, `/run/.containerenv`, `/.singularity.d/labels.json`) and
pass the variables they set.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

from repro_run.capture.container import capture_container

DIGEST = "sha256:" + "3f" * 32


def test_docker_is_told_by_dockerenv_and_its_image_by_the_documented_variable(
    tmp_path: Path,
) -> None:
    (tmp_path / ".dockerenv").touch()
    image = f"ghcr.io/acme/train@{DIGEST}"
    found = capture_container({"REPRO_CONTAINER_IMAGE": image}, root=str(tmp_path))
    assert found is not None
    assert (found.runtime, found.image, found.image_id) == ("docker", image, DIGEST)


def test_docker_without_the_variable_says_why_its_image_is_unknown(tmp_path: Path) -> None:
    (tmp_path / ".dockerenv").touch()
    found = capture_container({}, root=str(tmp_path))
    assert found is not None and found.image is None
    assert "REPRO_CONTAINER_IMAGE" in found.missing["image"]


def test_podman_containerenv_gives_the_image_and_its_id(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".containerenv").write_text(
        'engine="podman-5.2.2"\nname="train-1"\nid="8e1c"\n'
        'image="docker.io/library/python:3.12"\nimageid="a1b2c3"\nrootless=1\n'
    )
    found = capture_container({"container": "podman"}, root=str(tmp_path))
    assert found is not None
    assert (found.runtime, found.image, found.image_id) == (
        "podman",
        "docker.io/library/python:3.12",
        "a1b2c3",
    )


def test_an_unprivileged_podman_containerenv_names_no_image_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".containerenv").touch()  # podman writes it empty without --privileged
    found = capture_container({"container": "podman"}, root=str(tmp_path))
    assert found is not None and (found.runtime, found.image) == ("podman", None)
    assert "--privileged" in found.missing["image"]


def test_apptainer_variables_and_labels_identify_the_image(tmp_path: Path) -> None:
    (tmp_path / ".singularity.d").mkdir()
    labels = {
        "org.label-schema.build-date": "Monday_2_December_2026_10:1:2_UTC",
        "org.label-schema.usage.singularity.deffile.from": "nvcr.io/nvidia/pytorch:24.05-py3",
        "org.opencontainers.image.digest": DIGEST,
    }
    (tmp_path / ".singularity.d" / "labels.json").write_text(json.dumps(labels))
    environ = {"APPTAINER_CONTAINER": "/images/train.sif", "APPTAINER_NAME": "train.sif"}
    found = capture_container(environ, root=str(tmp_path))
    assert found is not None
    assert (found.runtime, found.image, found.image_id) == (
        "apptainer",
        "/images/train.sif",
        DIGEST,
    )
    assert found.labels == labels


def test_no_trace_of_a_runtime_is_no_container(tmp_path: Path) -> None:
    assert capture_container({}, root=str(tmp_path)) is None


def test_diff_and_the_rerun_causes_name_a_different_apptainer_image(make_repo: MakeRepo) -> None:
    program = "import os\nprint(os.environ['APPTAINER_CONTAINER'])\n"
    root = make_repo({"train.py": program})
    first = {"APPTAINER_CONTAINER": "/images/train-v1.sif"}
    assert repro(root, "run", "train.py", env=first).returncode == 0
    original = record_of(root)
    assert original["container"]["runtime"] == "apptainer"
    second = {"APPTAINER_CONTAINER": "/images/train-v2.sif"}
    done = repro(root, "rerun", original["id"], env=second)
    assert "DIVERGED" in done.stdout, done.stdout + done.stderr
    rerun = record_of(root)
    diffed = repro(root, "diff", "--json", "--section", "container", original["id"], rerun["id"])
    (section,) = json.loads(diffed.stdout)["sections"]
    image = next(c for c in section["changes"] if c["key"] == "image")
    assert (image["old"], image["new"]) == ("/images/train-v1.sif", "/images/train-v2.sif")
    assert any(c.startswith("container: image ") for c in rerun["verdict"]["causes"])


def test_a_plain_rerun_in_another_image_warns_before_it_runs_naming_both(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"train.py": "print('trained')\n"})
    first = {"APPTAINER_CONTAINER": "/images/train-v1.sif"}
    assert repro(root, "run", "train.py", env=first).returncode == 0
    second = {"APPTAINER_CONTAINER": "/images/train-v2.sif"}
    done = repro(root, "rerun", "@", env=second)
    warning = next(line for line in done.stderr.splitlines() if "differs from run" in line)
    assert "container: image /images/train-v1.sif → /images/train-v2.sif" in warning
    assert done.stderr.index(warning) < done.stderr.index(" started: ")


def test_show_names_the_runtime_the_image_and_why_its_id_is_not_known(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print('trained')\n"})
    env = {"APPTAINER_CONTAINER": "/images/train-v1.sif"}
    assert repro(root, "run", "train.py", env=env).returncode == 0
    shown = repro(root, "show", "@").stdout
    rows = [
        re.split(r"\s{2,}", line.strip(), maxsplit=1)
        for line in shown.split("\nContainer\n")[1].splitlines()[:4]
    ]
    assert rows == [
        ["runtime", "apptainer"],
        ["image", "/images/train-v1.sif"],
        ["image id", "not known: no digest among the image's labels (/.singularity.d/labels.json)"],
        ["seen by", "APPTAINER_CONTAINER"],
    ]


def test_show_of_a_record_without_conda_or_container_shows_neither(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print('trained')\n"})
    env = {"APPTAINER_CONTAINER": "/images/train-v1.sif", "CONDA_PREFIX": str(root / "env")}
    assert repro(root, "run", "train.py", env=env).returncode == 0
    run_json = root / ".repro" / "runs" / str(record_of(root)["id"]) / "run.json"
    document = json.loads(run_json.read_text())
    assert document["conda"] and document["container"]
    del document["conda"], document["container"]  # as repro before issue 18 wrote it
    run_json.write_text(json.dumps(document))
    shown = repro(root, "show", "@").stdout
    assert "\nPackages\n" in shown
    assert "\nConda\n" not in shown and "\nContainer\n" not in shown
