"""Two runs' metric curves: bitwise equal, within tolerance, or where they first part."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from repro_run.core.record import Record
from repro_run.models import MetricDivergence
from repro_run.models.comparison import bitwise_equal

Points = Sequence[tuple[int | None, float]]


class MetricComparison(Record):
    compared: int  # value pairs compared
    bitwise_equal: bool
    within_tolerance: bool  # every pair within rtol/atol (also true when bitwise equal)
    differ: tuple[str, ...]  # metrics with any pair not bitwise equal
    first: MetricDivergence | None  # the earliest point beyond tolerance


def within(original: float, rerun: float, rtol: float, atol: float) -> bool:
    """numpy.isclose's rule, with the original as the reference value."""
    if bitwise_equal(original, rerun) or original == rerun:
        return True
    if math.isnan(original) or math.isnan(rerun) or math.isinf(original) or math.isinf(rerun):
        return False
    return abs(original - rerun) <= atol + rtol * abs(original)


def compare_series(
    original: Mapping[str, Points], rerun: Mapping[str, Points], rtol: float, atol: float
) -> MetricComparison:
    compared = 0
    differ: list[str] = []
    parted: list[tuple[tuple[int, str], MetricDivergence]] = []
    for name in sorted(set(original) | set(rerun)):
        a, b = original.get(name, ()), rerun.get(name, ())
        compared += min(len(a), len(b))
        first = _first_parting(name, a, b, rtol, atol)
        if first is not None:
            parted.append(first)
        if len(a) != len(b) or any(
            pa[0] != pb[0] or not bitwise_equal(pa[1], pb[1]) for pa, pb in zip(a, b, strict=False)
        ):
            differ.append(name)
    parted.sort(key=lambda item: item[0])
    return MetricComparison(
        compared=compared,
        bitwise_equal=not differ,
        within_tolerance=not parted,
        differ=tuple(differ),
        first=parted[0][1] if parted else None,
    )


def _first_parting(
    name: str, a: Points, b: Points, rtol: float, atol: float
) -> tuple[tuple[int, str], MetricDivergence] | None:
    """The first position where the curves part: a value beyond tolerance, a different step,
    or a point only one run has. Ordered by step (position when there is none)."""
    for index in range(max(len(a), len(b))):
        pa = a[index] if index < len(a) else None
        pb = b[index] if index < len(b) else None
        if pa and pb and pa[0] == pb[0] and within(pa[1], pb[1], rtol, atol):
            continue
        step = (pa or pb or (None, 0.0))[0]
        divergence = MetricDivergence(
            metric=name,
            step=step,
            original=pa[1] if pa is not None else None,
            rerun=pb[1] if pb is not None else None,
        )
        return (step if step is not None else index, name), divergence
    return None
