"""Per-route, per-minute counts read in one pass, and the window sums, first bad minutes and trip candidates a replay needs.

What the tick's SQL computes per minute end, computed here for every minute end at once with cumulative sums;
the decisions themselves stay with the evaluator's own code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from alerting.rules.burn_rate import WindowCount
from alerting.rules.window_query import WindowCounts, minute_rows_query, on_rollup, routes_query, window_minutes
from schemas.alert_policy import AlertPolicy, Dimension
from schemas.slo_spec import BurnWindow, SloSpec

Counts = npt.NDArray[np.int64]


class MinuteSource(Protocol):
    """The part of a clickhouse-connect client a replay reads with: rows, and rows as numpy columns."""

    def query(self, query: str, parameters: Any = None, settings: Any = None) -> Any: ...
    def query_np(self, query: str, parameters: Any = None, settings: Any = None) -> Any: ...


MINUTE = timedelta(minutes=1)


def _ratio_reaches(bad: Counts, total: Counts, limit: Fraction) -> npt.NDArray[np.bool_]:
    """`burn_rate.reaches` over arrays: total > 0 and bad / total >= limit, in integers."""
    return (total > 0) & (bad * limit.denominator >= limit.numerator * total)


@dataclass
class SpecMinutes:
    """One effective SLO's units per route and minute: requests (or judged minutes) and bad ones, and their running sums."""

    spec: SloSpec
    total: Counts
    bad: Counts
    cum_total: Counts = field(init=False)
    cum_bad: Counts = field(init=False)

    def __post_init__(self) -> None:
        zero = np.zeros((self.total.shape[0], 1), dtype=np.int64)
        self.cum_total = np.concatenate([zero, np.cumsum(self.total, axis=1)], axis=1)
        self.cum_bad = np.concatenate([zero, np.cumsum(self.bad, axis=1)], axis=1)

    def window(self, route: int, end: int, minutes: int) -> WindowCount:
        """Minutes [end - minutes, end) of one route."""
        start = max(0, end - minutes)
        return WindowCount(int(self.cum_bad[route, end] - self.cum_bad[route, start]),
                           int(self.cum_total[route, end] - self.cum_total[route, start]))

    def minute_bad(self, window: BurnWindow) -> npt.NDArray[np.bool_]:
        """The tick query's `_minute_bad`: a bad minute (per-minute SLOs), or one that alone burns at the tier's rate."""
        if self.spec.per_minute:
            return self.bad > 0
        return (self.bad > 0) & _ratio_reaches(self.bad, self.total, window.threshold * self.spec.budget)

    def candidates(self, ends: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Routes × ends where some tier of this SLO may trip: every condition of `tier_trips` but the noise gate,
        so never fewer than trip (the evaluator decides)."""
        spec = self.spec
        found = np.zeros((self.total.shape[0], len(ends)), dtype=bool)
        for w in spec.windows:
            limit = w.threshold * spec.budget
            long_total = self.cum_total[:, ends] - self.cum_total[:, ends - w.long_minutes]
            long_bad = self.cum_bad[:, ends] - self.cum_bad[:, ends - w.long_minutes]
            short_total = self.cum_total[:, ends] - self.cum_total[:, ends - w.short_minutes]
            short_bad = self.cum_bad[:, ends] - self.cum_bad[:, ends - w.short_minutes]
            gate = spec.gate_for_window()
            found |= ((long_total >= gate) & (short_total >= gate) & (long_bad >= spec.min_bad_events)
                      & _ratio_reaches(long_bad, long_total, limit) & _ratio_reaches(short_bad, short_total, limit))
        return found


def _units(spec: SloSpec, n: Counts, b: Counts) -> tuple[Counts, Counts]:
    """Requests and bad requests; for per-minute SLOs judged minutes and bad minutes (the tick query's outer sums)."""
    if not spec.per_minute:
        return n, b
    assert spec.latency is not None
    rest = 1 - spec.latency.quantile
    judged = n >= spec.min_requests
    bad = judged & (b * rest.denominator > rest.numerator * n)
    return judged.astype(np.int64), bad.astype(np.int64)


@dataclass
class Minutes:
    """Routes × minutes from `start` (index 0) for every distinct effective SLO of the policies replayed."""

    start: datetime
    count: int
    routes: list[Dimension]
    by_spec: dict[SloSpec, SpecMinutes]
    _route_index: dict[Dimension, int] = field(default_factory=dict)
    _first_bad_cache: dict[tuple[SloSpec, BurnWindow], npt.NDArray[np.bool_]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._route_index = {route: i for i, route in enumerate(self.routes)}

    def index_of(self, at: datetime) -> int:
        return int((at - self.start) / MINUTE)

    def route(self, dimension: Dimension) -> int | None:
        return self._route_index.get(dimension)

    def counts(self, policy: AlertPolicy, route: int, end: int) -> WindowCounts:
        """What `parse_rows` gives for one route at the window end `end` (no status classes or latency details:
        those only word messages)."""
        dimension = self.routes[route]
        counts: dict[tuple[str, int], WindowCount] = {}
        first_bad: dict[tuple[str, str], datetime] = {}
        for declared in policy.slos:
            resolved = policy.resolve(declared.name, dimension)
            if resolved is None or not resolved.enabled:
                continue
            minutes = self.by_spec[resolved.spec]
            for m in window_minutes(resolved.spec):
                counts[(declared.name, m)] = minutes.window(route, end, m)
            for w in resolved.spec.windows:
                found = self._first_bad(minutes, w, route, end)
                if found is not None:
                    first_bad[(declared.name, w.name)] = found
        return WindowCounts(counts, {}, {}, {}, first_bad)

    def _first_bad(self, minutes: SpecMinutes, window: BurnWindow, route: int, end: int) -> datetime | None:
        key = (minutes.spec, window)
        if key not in self._first_bad_cache:
            self._first_bad_cache[key] = minutes.minute_bad(window)
        row = self._first_bad_cache[key][route, max(0, end - window.long_minutes):end]
        hits = np.flatnonzero(row)
        return self.start + MINUTE * (max(0, end - window.long_minutes) + int(hits[0])) if len(hits) else None

    def candidates(self, policy: AlertPolicy, ends: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Routes × ends where some SLO of the route (its effective spec) may trip."""
        found = np.zeros((len(self.routes), len(ends)), dtype=bool)
        for declared in policy.slos:
            rows_by_spec: dict[SloSpec, list[int]] = {}
            for i, route in enumerate(self.routes):
                resolved = policy.resolve(declared.name, route)
                if resolved is not None and resolved.enabled:
                    rows_by_spec.setdefault(resolved.spec, []).append(i)
            for spec, rows in rows_by_spec.items():
                picked = np.array(rows)
                found[picked] |= self.by_spec[spec].candidates(ends)[picked]
        return found


def specs_of(*policies: AlertPolicy) -> list[SloSpec]:
    specs: list[SloSpec] = []
    for policy in policies:
        specs += [spec for _, spec in policy.columns() if spec not in specs]
    return specs


def read_minutes(client: MinuteSource, specs: list[SloSpec], start: datetime, end: datetime) -> Minutes:
    """Two queries over [start, end): the routes, then every route-minute's counts for each spec (one pass)."""
    rollup = on_rollup(specs)
    listed = client.query(routes_query(rollup, start, end, specs)).result_rows
    found = sorted((int(h), (str(p), str(m), str(c))) for h, p, m, c in listed)
    count = int((end - start) / MINUTE)
    hashes = np.array([h for h, _ in found], dtype=np.uint64)
    n = [np.zeros((len(found), count), dtype=np.int64) for _ in specs]
    b = [np.zeros((len(found), count), dtype=np.int64) for _ in specs]
    rows = client.query_np(minute_rows_query(specs, start, end)) if found else None
    if rows is not None and len(rows):
        route = np.searchsorted(hashes, rows["route"].astype(np.uint64))
        at = rows["at"].astype(np.int64)
        for i in range(len(specs)):
            n[i][route, at] = rows[f"n{i}"]
            b[i][route, at] = rows[f"b{i}"]
    by_spec = {spec: SpecMinutes(spec, *_units(spec, n[i], b[i])) for i, spec in enumerate(specs)}
    return Minutes(start, count, [route for _, route in found], by_spec)
