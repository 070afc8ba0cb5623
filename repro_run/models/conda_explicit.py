"""`repro show --packages --format conda`: a run's conda packages as a conda explicit list.

The format `conda list --explicit --md5` writes and `conda create --file` reads: `@EXPLICIT`,
then one archive URL a line (`URL#md5`), in link order (what a package depends on first).
https://docs.conda.io/projects/conda/en/latest/user-guide/tasks/manage-environments.html#building-identical-conda-environments
A package whose URL cannot be known is a comment saying why, so that the list stays usable.
"""

from __future__ import annotations

from collections import Counter

from repro_run.core.humanize import printable
from repro_run.models.environment import CondaList, CondaPackage


def explicit_lines(listed: CondaList) -> list[str]:
    subdirs = Counter(p.subdir for p in listed.packages if p.subdir and p.subdir != "noarch")
    lines = [
        "# This file may be used to create an environment using:",
        "# $ conda create --name <env> --file <this file>",
    ]
    if subdirs:
        lines.append(f"# platform: {_one_line(subdirs.most_common(1)[0][0])}")
    lines += [f"# not read from conda-meta: {_one_line(p)}" for p in listed.problems]
    lines.append("@EXPLICIT")
    for package in link_order(listed.packages):
        url, why = package_url(package)
        if url is None:
            lines.append(f"# {_pin(package)}: {why}")
            continue
        if why:
            lines.append(f"# {_pin(package)}: {why}")
        lines.append(
            f"{_one_line(url)}#{_one_line(package.md5)}" if package.md5 else _one_line(url)
        )
    return lines


def package_url(p: CondaPackage) -> tuple[str | None, str]:
    """The archive's URL and a caveat, or None and why it cannot be fetched from this list."""
    url = p.url
    if url is None and "://" in p.channel and p.fn:
        # conda-meta's channel is the channel's URL, with the subdir (conda >= 4) or without it.
        channel = p.channel.rstrip("/")
        url = (
            f"{channel}/{p.fn}"
            if channel.endswith(f"/{p.subdir}")
            else f"{channel}/{p.subdir}/{p.fn}"
        )
    if url is None:
        missing = "its file name" if not p.fn else f"the URL of its channel ({p.channel or 'none'})"
        return None, f"conda-meta records no URL and not {missing}: it cannot be fetched"
    if url.startswith("file:"):
        return url, "a local archive of the machine the run ran on"
    return url, ""


def link_order(packages: tuple[CondaPackage, ...]) -> list[CondaPackage]:
    """Dependencies before their dependents (conda links in that order), by name otherwise;
    a cycle's packages follow the rest, by name."""
    by_name = {p.name: p for p in packages}
    waiting = {p.name: {d for d in p.depends if d in by_name and d != p.name} for p in packages}
    ordered: list[CondaPackage] = []
    while waiting:
        ready = sorted(name for name, needs in waiting.items() if not needs)
        if not ready:  # a cycle
            ordered += [by_name[name] for name in sorted(waiting)]
            break
        for name in ready:
            ordered.append(by_name[name])
            del waiting[name]
        for needs in waiting.values():
            needs.difference_update(ready)
    return ordered


def _pin(p: CondaPackage) -> str:
    return _one_line(f"{p.name}=={p.version}={p.build}")


def _one_line(value: str) -> str:
    """Recorded text kept on its line: a newline in a hostile conda-meta file must not make a
    line of its own in a list that conda reads."""
    return printable(value).replace("\n", "\\x0a").replace("\r", "\\x0d")
