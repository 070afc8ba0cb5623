"""`repro rerun --times N`: the spread of each metric's final value over the runs (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from repro_run.core.record import Record


class MetricSpread(Record):
    metric: str
    runs: int  # runs that logged it
    minimum: float
    maximum: float

    @property
    def spread(self) -> float:
        return self.maximum - self.minimum


def metric_spreads(finals: Sequence[Mapping[str, float]]) -> list[MetricSpread]:
    """Per metric, over the runs' final values (the original first, then each rerun)."""
    names = sorted({name for final in finals for name in final})
    spreads = []
    for name in names:
        values = [final[name] for final in finals if name in final]
        spreads.append(MetricSpread(name, len(values), min(values), max(values)))
    return spreads
