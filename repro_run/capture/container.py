"""The container a run runs in, from what its runtime puts inside: Apptainer's (Singularity's)
variables and labels, Podman's `/run/.containerenv`, Docker's `/.dockerenv`.

Every path is read under `root` ("/" for a run; a test gives a directory of its own).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from repro_run.core.constants import ENV_CONTAINER_IMAGE, SECRET_MASK
from repro_run.core.redaction import looks_secret_value
from repro_run.models import ContainerInfo, Unavailable

# podman-run(1): "a container environment file is created in each container ... /run/.containerenv";
# with --privileged it holds engine, name, id, image, imageid and rootless lines.
PODMAN_FILE = "run/.containerenv"
DOCKER_FILE = ".dockerenv"  # created empty by Docker in every container
APPTAINER_LABELS = ".singularity.d/labels.json"  # the image's %labels, with the build's own
_MAX_FILE_BYTES = 1024 * 1024
_MAX_LABELS = 64
_MAX_VALUE_CHARS = 500


def capture_container(environ: Mapping[str, str], root: str = "/") -> ContainerInfo | None:
    """What identifies the container, or None where no runtime left a trace."""
    for runtime in ("apptainer", "singularity"):
        prefix = runtime.upper()
        if environ.get(f"{prefix}_CONTAINER") or environ.get(f"{prefix}_NAME"):
            return _apptainer(environ, root, runtime, prefix)
    if os.path.exists(os.path.join(root, PODMAN_FILE)):
        return _podman(environ, root)
    if os.path.exists(os.path.join(root, DOCKER_FILE)):
        return _with_declared_image(environ, "docker", (f"/{DOCKER_FILE}",))
    declared = environ.get("container")  # systemd's convention: podman, systemd-nspawn, oci
    if declared:
        return _with_declared_image(environ, declared, ("the container variable",))
    return None


def _apptainer(environ: Mapping[str, str], root: str, runtime: str, prefix: str) -> ContainerInfo:
    image = environ.get(f"{prefix}_CONTAINER") or environ.get(f"{prefix}_NAME")
    found = [f"{prefix}_{v}" for v in ("CONTAINER", "NAME") if environ.get(f"{prefix}_{v}")]
    labels = _labels(os.path.join(root, APPTAINER_LABELS))
    missing: dict[str, str] = {}
    if isinstance(labels, Unavailable):
        missing["labels"] = labels.reason
        labels = {}
    digest = next((v for k, v in labels.items() if k.lower().endswith("digest")), None)
    if digest is None:
        missing["image_id"] = f"no digest among the image's labels (/{APPTAINER_LABELS})"
    return ContainerInfo(runtime, image, digest, labels, tuple(found), missing)


def _podman(environ: Mapping[str, str], root: str) -> ContainerInfo:
    fields: dict[str, str] = {}
    try:
        with open(os.path.join(root, PODMAN_FILE), encoding="utf-8", errors="replace") as f:
            for line in f.read(_MAX_FILE_BYTES).splitlines():
                key, sep, value = line.partition("=")
                if sep:
                    fields[key.strip()] = value.strip().strip('"')
    except OSError:
        pass  # present but unreadable: what it says is unknown, that it is Podman's is not
    evidence = (f"/{PODMAN_FILE}",)
    if not fields.get("image"):
        declared = _with_declared_image(environ, "podman", evidence)
        if declared.image is not None:
            return declared
        why = f"/{PODMAN_FILE} names no image (Podman writes it with --privileged)"
        return ContainerInfo("podman", evidence=evidence, missing={"image": why})
    image_id = fields.get("imageid") or None
    return ContainerInfo("podman", fields["image"], image_id, evidence=evidence)


def _with_declared_image(
    environ: Mapping[str, str], runtime: str, evidence: tuple[str, ...]
) -> ContainerInfo:
    """A runtime that does not tell the container its image: REPRO_CONTAINER_IMAGE may."""
    image = environ.get(ENV_CONTAINER_IMAGE) or None
    if image is None:
        why = f"{runtime} does not tell a container its image: set {ENV_CONTAINER_IMAGE}"
        return ContainerInfo(runtime, evidence=evidence, missing={"image": why})
    # "name@sha256:<hex>": the digest is the image's identity; a tag may move.
    digest = image.partition("@")[2] or None
    return ContainerInfo(runtime, image, digest, evidence=(*evidence, ENV_CONTAINER_IMAGE))


def _labels(path: str) -> dict[str, str] | Unavailable:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read(_MAX_FILE_BYTES) or b"{}")  # cut short: not JSON
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        return Unavailable(f"/{APPTAINER_LABELS}: {exc}")
    if not isinstance(data, dict):
        return Unavailable(f"/{APPTAINER_LABELS} is not a JSON object")
    labels = {}
    for key, value in sorted(data.items())[:_MAX_LABELS]:
        text = str(value)[:_MAX_VALUE_CHARS]
        labels[str(key)[:_MAX_VALUE_CHARS]] = SECRET_MASK if looks_secret_value(text) else text
    return labels
