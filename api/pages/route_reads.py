"""What a route's page reads (ClickHouse I/O): the range it draws, and from before it what its charts need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alerting.policy.baseline import Baseline
from alerting.rules.period_cache import floor_to
from api.pages import data
from api.pages.series import RANGES, SloCounts
from runtime.clickhouse import ClickHouseClient
from schemas.alert_policy import AlertPolicy, Dimension
from schemas.prices import PriceTable


@dataclass(frozen=True)
class RouteWindow:
    """The range drawn, [start, end) in buckets of `step` seconds, and what the charts read before it: the SLOs'
    longest window (from `counts_start`) and the SLO period by the hour (from `hours_start`)."""

    span: str
    start: datetime
    end: datetime
    step: int
    period_start: datetime
    counts_start: datetime
    hours_start: datetime

    @property
    def incidents_start(self) -> datetime:
        return min(self.start, self.counts_start, self.hours_start)


@dataclass(frozen=True)
class RouteReads:
    """What the page read of one route."""

    points: list[dict[str, Any]]
    latency: dict[str, dict[datetime, dict[str, float]]]
    counts: SloCounts
    hourly: SloCounts
    incidents: list[dict[str, Any]]
    baseline: Baseline


def route_window(now: datetime, span: str, policy: AlertPolicy) -> RouteWindow:
    length, step = RANGES[span]
    end = floor_to(now, 60)
    start = floor_to(end - length, step)
    longest = max(w.long_minutes for s in policy.slos for w in s.windows)
    period_start = end - timedelta(days=policy.period_days)
    return RouteWindow(span, start, end, step, period_start, floor_to(start - timedelta(minutes=longest), step),
                       floor_to(period_start, 3600))


def read_route(clickhouse: ClickHouseClient, prices: PriceTable, policy: AlertPolicy, route: Dimension, window: RouteWindow,
               now: datetime) -> RouteReads:
    w = window
    return RouteReads(
        data.usage_points(clickhouse, prices, now, w.step, w.start, w.end, route),
        data.route_latency(clickhouse, route, w.start, w.end, w.step),
        data.slo_counts(clickhouse, policy, w.counts_start, w.end, w.step, route),
        data.slo_counts(clickhouse, policy, w.hours_start, w.end, 3600, route),
        data.incidents(clickhouse, now, "all", w.incidents_start, now, route),
        data.baseline(clickhouse, policy, route, now))
