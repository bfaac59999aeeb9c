"""The SLO period's counts with settled blocks remembered, so that `/v1/slo/status` reads only what can still change.

A period of 30 days is read per minute (latency SLOs count judged and bad minutes), which costs seconds on a busy
rollup. Counts add up across blocks, so whole days and hours that the loader has long passed are kept per route after
the first read; each later read asks ClickHouse for the new hours and the minutes at both ends only. A change of the
effective SLOs (the file or a runtime override) forgets everything. Each route's first minute with requests in the
period is kept the same way (the earliest of its blocks'): how much of the period its budget has seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from alerting.rules.burn_rate import WindowCount
from alerting.rules.window_query import parse_period, period_range_query
from schemas.alert_policy import AlertPolicy, Dimension

DAY, HOUR = 86_400, 3600
SETTLE = timedelta(minutes=30)
"""Blocks ending this long before the loader's watermark are final (late rows are not expected after it)."""

Block = tuple[datetime, int]


@dataclass
class Tally:
    """Per route: the column groups' counts (they add up across blocks) and its first minute with requests."""

    counts: dict[Dimension, tuple[int, ...]] = field(default_factory=dict)
    first: dict[Dimension, datetime] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        for dimension, values in other.counts.items():
            now = self.counts.get(dimension)
            self.counts[dimension] = values if now is None else tuple(a + b for a, b in zip(now, values, strict=True))
        for dimension, at in other.first.items():
            self.first[dimension] = min(at, self.first.get(dimension, at))

    def add_row(self, values: dict[str, Any], names: list[str]) -> None:
        """One row of `period_range_query`: its route's counts and first minute."""
        dimension = (str(values["provider"]), str(values["resolved_model"]), str(values["client_name"]))
        self.add(Tally({dimension: tuple(int(values[v]) for v in names)},
                       {dimension: values["first_minute"].replace(tzinfo=timezone.utc)}))


@dataclass(frozen=True)
class Period:
    counts: dict[Dimension, dict[str, WindowCount]]
    """`parse_period`'s answer: per route, each evaluated SLO's units over the period."""
    first_seen: dict[Dimension, datetime]
    """Per route, its first minute with requests within the period."""


def floor_to(at: datetime, seconds: int) -> datetime:
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, timezone.utc)


def ceil_to(at: datetime, seconds: int) -> datetime:
    floor = floor_to(at, seconds)
    return floor if floor == at else floor + timedelta(seconds=seconds)


def split(start: datetime, end: datetime, grains: tuple[int, ...]) -> list[tuple[int | None, list[tuple[datetime, datetime]]]]:
    """Which grain answers which parts of [start, end): the coarsest whole units first, then finer ones, the rest (None)
    last. Each grain gets at most two ranges: before and after what a coarser one took."""
    remaining = [(start, end)]
    found: list[tuple[int | None, list[tuple[datetime, datetime]]]] = []
    for grain in grains:
        taken, rest = [], []
        for a, b in remaining:
            lo, hi = ceil_to(a, grain), floor_to(b, grain)
            if lo < hi:
                taken.append((lo, hi))
                rest += [(a, lo), (hi, b)]
            else:
                rest.append((a, b))
        remaining = [(a, b) for a, b in rest if a < b]
        if taken:
            found.append((grain, taken))
    if remaining:
        found.append((None, remaining))
    return found


def blocks(start: datetime, end: datetime) -> tuple[list[Block], list[tuple[datetime, datetime]]]:
    """(the whole days and hours of [start, end), the minutes at its ends)."""
    found: list[Block] = []
    minutes: list[tuple[datetime, datetime]] = []
    for grain, ranges in split(start, end, (DAY, HOUR)):
        if grain is None:
            minutes += ranges
            continue
        for a, b in ranges:
            found += [(a + timedelta(seconds=i * grain), grain) for i in range(int((b - a).total_seconds()) // grain)]
    return found, minutes


def _values(policy: AlertPolicy) -> list[str]:
    return [f"{kind}_{name}" for name, _ in policy.columns() for kind in ("t", "b")]


@dataclass
class PeriodCache:
    """Per-route counts of settled days and hours of the SLO period; the rest is read on every call."""

    _key: str | None = None
    _blocks: dict[Block, Tally] = field(default_factory=dict)

    def period(self, query: Callable[[str], Any], policy: AlertPolicy, end: datetime, settled_before: datetime) -> Period:
        """The `period_days` before `end`; blocks ending by `settled_before` are kept."""
        key = repr(policy.columns())
        if key != self._key:
            self._key, self._blocks = key, {}
        start = end - timedelta(days=policy.period_days)
        settled = max(start, min(end, floor_to(settled_before - SETTLE, HOUR)))
        wanted, edges = blocks(start, settled)
        self._fold(wanted)
        missing = [b for b in wanted if b not in self._blocks]
        if missing:
            self._read(query, policy, missing)
        self._blocks = {b: self._blocks[b] for b in wanted}
        totals = Tally()
        for tally in self._blocks.values():
            totals.add(tally)
        for a, b in [*edges, (settled, end)]:
            if a < b:
                totals.add(self._counts(query, policy, a, b))
        names = ["provider", "resolved_model", "client_name", *_values(policy)]
        counts = parse_period(policy, names, [(*dimension, *values) for dimension, values in totals.counts.items()])
        return Period(counts, totals.first)

    def _fold(self, wanted: list[Block]) -> None:
        """A day whose 24 hours are all kept becomes one block."""
        for start, grain in wanted:
            hours = [(start + timedelta(hours=h), HOUR) for h in range(24)]
            if grain == DAY and (start, DAY) not in self._blocks and all(h in self._blocks for h in hours):
                day = Tally()
                for hour in hours:
                    day.add(self._blocks.pop(hour))
                self._blocks[(start, DAY)] = day

    def _read(self, query: Callable[[str], Any], policy: AlertPolicy, missing: list[Block]) -> None:
        first = min(start for start, _ in missing)
        last = max(start + timedelta(seconds=grain) for start, grain in missing)
        result = query(period_range_query(policy, first, last, by_hour=True))
        names, values = list(result.column_names), _values(policy)
        found: dict[Block, Tally] = {b: Tally() for b in missing}
        for row in result.result_rows:
            row_values = dict(zip(names, row, strict=True))
            hour = row_values["hour"].replace(tzinfo=timezone.utc)
            block = (hour, HOUR) if (hour, HOUR) in found else (floor_to(hour, DAY), DAY)
            if block in found:
                found[block].add_row(row_values, values)
        self._blocks.update(found)

    @staticmethod
    def _counts(query: Callable[[str], Any], policy: AlertPolicy, start: datetime, end: datetime) -> Tally:
        result = query(period_range_query(policy, start, end))
        names, found = list(result.column_names), Tally()
        for row in result.result_rows:
            found.add_row(dict(zip(names, row, strict=True)), _values(policy))
        return found
