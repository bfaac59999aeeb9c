"""From counted buckets to what the pages draw (pure): counts per SLO, burn per hour and per tier, budget burn-down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from alerting.rules.burn_rate import WindowCount, burn_rate
from api.read_question import INTERVALS
from schemas.alert_policy import Dimension

RANGES: dict[str, tuple[timedelta, int]] = {
    "1h": (timedelta(hours=1), 60),
    "6h": (timedelta(hours=6), 300),
    "24h": (timedelta(hours=24), 900),
    "7d": (timedelta(days=7), 3600),
}
"""A page's time range → (its length, the bucket in seconds its charts are drawn at)."""
LATENCY_LEVELS = ("p50", "p90", "p99")
"""The latency percentiles a route's charts draw: the levels of the latency SLOs."""
INTERVAL_NAMES = {seconds: name for name, seconds in INTERVALS.items()}
"""A bucket in seconds → its name in `/v1/usage/timeseries`."""


@dataclass(frozen=True)
class Bucket:
    start: datetime
    total: int
    bad: int


def buckets(start: datetime, end: datetime, step_s: int, counted: dict[datetime, tuple[int, int]]) -> list[Bucket]:
    """Every bucket of [start, end) in order, zero where nothing was counted."""
    found, at = [], start
    while at < end:
        total, bad = counted.get(at, (0, 0))
        found.append(Bucket(at, total, bad))
        at += timedelta(seconds=step_s)
    return found


def burn(total: int, bad: int, budget: Fraction) -> float | None:
    """How many times faster than sustainable these counts spend the budget; None without traffic."""
    return float(burn_rate(WindowCount(bad, total), budget)) if total else None


def rolling_burn(series: Sequence[Bucket], window: int, budget: Fraction, first: int) -> list[tuple[datetime, float | None]]:
    """The burn over the `window` buckets ending with each bucket from index `first` on (what a tier's long window
    saw at that time), drawn at the bucket's end."""
    found: list[tuple[datetime, float | None]] = []
    total = bad = 0
    for i, bucket in enumerate(series):
        total, bad = total + bucket.total, bad + bucket.bad
        if i >= window:
            total, bad = total - series[i - window].total, bad - series[i - window].bad
        if i >= first:
            step = (series[1].start - series[0].start) if len(series) > 1 else timedelta(0)
            found.append((bucket.start + step, burn(total, bad, budget)))
    return found


def burn_down(series: Sequence[Bucket], budget: Fraction) -> list[tuple[datetime, float | None]]:
    """Error budget left after each bucket of the period: 1 − (bad share so far) / budget, as `budget_left` is."""
    found: list[tuple[datetime, float | None]] = []
    total = bad = 0
    for bucket in series:
        total, bad = total + bucket.total, bad + bucket.bad
        found.append((bucket.start, float(1 - burn_rate(WindowCount(bad, total), budget)) if total else None))
    return found


@dataclass(frozen=True)
class SloCounts:
    """Per SLO (declared name) of the routes asked for: bucket start → (units counted, bad units)."""

    counts: dict[tuple[str, Dimension], dict[datetime, tuple[int, int]]]

    def series(self, slo: str, dimension: Dimension, start: datetime, end: datetime, step_s: int) -> list[Bucket]:
        return buckets(start, end, step_s, self.counts.get((slo, dimension), {}))
