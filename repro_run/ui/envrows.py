"""The `repro show` rows of what the Python package list does not show: the conda environment
and the container the run ran in (none when the run recorded neither)."""

from __future__ import annotations

from repro_run.core.humanize import count
from repro_run.models import ContainerInfo, RunRecord, Unavailable

_LABELS_SHOWN = 10  # Apptainer images carry many; `repro show --json` has them all


def conda_rows(record: RunRecord) -> list[tuple[str, str]]:
    ref = record.conda
    if ref is None:
        return []
    if isinstance(ref, Unavailable):
        return [("unavailable", ref.reason)]
    listed = (
        f"{count(ref.count, 'conda package')} (repro show --packages --format conda {record.id})"
    )
    return [("prefix", ref.prefix), ("packages", listed)]


def container_rows(record: RunRecord) -> list[tuple[str, str]]:
    c = record.container
    if c is None:
        return []
    if isinstance(c, Unavailable):
        return [("unavailable", c.reason)]
    rows = [
        ("runtime", c.runtime),
        ("image", _known(c, "image", c.image)),
        ("image id", _known(c, "image_id", c.image_id)),
        ("seen by", ", ".join(c.evidence) or "-"),
        *((f"missing {k}", why) for k, why in c.missing.items() if k not in ("image", "image_id")),
    ]
    labels = sorted(c.labels.items())
    rows += [(f"label {key}", value) for key, value in labels[:_LABELS_SHOWN]]
    if len(labels) > _LABELS_SHOWN:
        rows.append(("labels", f"{len(labels) - _LABELS_SHOWN} more (repro show --json)"))
    return rows


def _known(c: ContainerInfo, name: str, value: str | None) -> str:
    return (
        value
        if value is not None
        else f"not known: {c.missing.get(name, 'the runtime does not give it')}"
    )
