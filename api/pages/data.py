"""What the pages show, read with the API's own queries (ClickHouse I/O here; shaping in `pages.series`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from alerting.baseline import Selector, read_baseline
from alerting.period_cache import floor_to
from alerting.policy_store import PolicyStore
from alerting.silences import Silence
from alerting.slo_status import SloStatus
from alerting.window_query import period_range_query
from api.incidents_api import IncidentQuery, read_incidents
from api.pages.series import INTERVAL_NAMES, Bucket, buckets, burn
from api.usage_api import shape
from api.usage_query import StatsQuery, TimeseriesQuery, stats_sql, timeseries_sql
from runtime.clickhouse import ClickHouseClient
from schemas.alert_policy import AlertPolicy, Dimension
from schemas.prices import PriceTable
from storage.events import API_METRICS_1M

Query = Callable[..., Any]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at


@dataclass(frozen=True)
class SloCounts:
    """Per SLO (declared name) of the routes asked for: bucket start → (units counted, bad units)."""

    counts: dict[tuple[str, Dimension], dict[datetime, tuple[int, int]]]

    def series(self, slo: str, dimension: Dimension, start: datetime, end: datetime, step_s: int) -> list[Bucket]:
        return buckets(start, end, step_s, self.counts.get((slo, dimension), {}))


def slo_counts(clickhouse: ClickHouseClient, policy: AlertPolicy, start: datetime, end: datetime, step_s: int,
               route: Dimension | None = None) -> SloCounts:
    """Each SLO's counts per bucket, as the evaluator counts them (requests, or judged minutes for percentile SLOs)."""
    result = clickhouse.query(period_range_query(policy, start, end, step_s=step_s, route=route))
    names = list(result.column_names)
    found: dict[tuple[str, Dimension], dict[datetime, tuple[int, int]]] = {}
    for row in result.result_rows:
        values = dict(zip(names, row, strict=True))
        dimension = (str(values["provider"]), str(values["resolved_model"]), str(values["client_name"]))
        for declared in policy.slos:
            resolved = policy.resolve(declared.name, dimension)
            if resolved is None or not resolved.enabled:
                continue
            column = resolved.column
            found.setdefault((declared.name, dimension), {})[_utc(values["bucket"])] = (
                int(values[f"t_{column}"]), int(values[f"b_{column}"]))
    return SloCounts(found)


HOUR = timedelta(hours=1)


@dataclass
class HourlyCounts:
    """`slo_counts` per hour for every route, with hours that ended long enough ago kept: the overview's sparklines
    then read only the last hour or two on each view."""

    key: str | None = None
    hours: dict[datetime, dict[tuple[str, Dimension], tuple[int, int]]] = field(default_factory=dict)

    def read(self, clickhouse: ClickHouseClient, policy: AlertPolicy, start: datetime, end: datetime,
             settled_before: datetime) -> SloCounts:
        key = repr(policy.columns())
        if key != self.key:
            self.key, self.hours = key, {}
        settled = max(start, min(end, floor_to(settled_before, 3600)))
        wanted = [start + HOUR * i for i in range(int((settled - start) / HOUR))]
        missing = [hour for hour in wanted if hour not in self.hours]
        if missing:
            found = slo_counts(clickhouse, policy, missing[0], missing[-1] + HOUR, 3600)
            for hour in missing:
                self.hours[hour] = {}
            for name, by_hour in found.counts.items():
                for hour, counted in by_hour.items():
                    self.hours.setdefault(hour, {})[name] = counted
        self.hours = {hour: self.hours[hour] for hour in wanted}
        merged: dict[tuple[str, Dimension], dict[datetime, tuple[int, int]]] = {}
        for hour, routes in self.hours.items():
            for name, value in routes.items():
                merged.setdefault(name, {})[hour] = value
        if settled < end:
            for name, by_hour in slo_counts(clickhouse, policy, settled, end, 3600).counts.items():
                merged.setdefault(name, {}).update(by_hour)
        return SloCounts(merged)


def hourly_burn(counts: SloCounts, policy: AlertPolicy, status: SloStatus, start: datetime, hours: int) -> list[float | None]:
    """The burn of each of the last `hours` hours of one SLO of one route: the overview's sparkline."""
    spec = policy.slo_for(status.slo, status.dimension)
    if spec is None:
        return []
    series = counts.series(status.slo, status.dimension, start, start + timedelta(hours=hours), 3600)
    return [burn(b.total, b.bad, spec.budget) for b in series]


def incidents(clickhouse: ClickHouseClient, now: datetime, **filters: Any) -> list[dict[str, Any]]:
    return read_incidents(clickhouse, IncidentQuery.model_validate(filters), now)


def silences(clickhouse: ClickHouseClient, now: datetime) -> list[Silence]:
    return PolicyStore(clickhouse).silences(now)


def usage_stats(clickhouse: ClickHouseClient, prices: PriceTable, now: datetime,
                **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None, str]:
    """(groups, total, source) of `/v1/usage/stats` for these parameters."""
    built = stats_sql(StatsQuery.model_validate(params), prices, now)
    result = clickhouse.query(built.sql, built.params)
    groups, total = shape(built, list(result.column_names), result.result_rows)
    return groups, total, built.source


def usage_points(clickhouse: ClickHouseClient, prices: PriceTable, now: datetime, step_s: int,
                 **params: Any) -> list[dict[str, Any]]:
    """`/v1/usage/timeseries` points (every bucket, zeros included) for these parameters."""
    built = timeseries_sql(TimeseriesQuery.model_validate({**params, "interval": INTERVAL_NAMES[step_s]}), prices, now)
    result = clickhouse.query(built.sql, built.params)
    points, _ = shape(built, list(result.column_names), result.result_rows)
    return points


LATENCY_LEVELS = ("p50", "p90", "p99")


def route_latency(clickhouse: ClickHouseClient, route: Dimension, start: datetime, end: datetime,
                  step_s: int) -> dict[str, dict[datetime, dict[str, float]]]:
    """p50/p90/p99 of complete time and TTFB of one route's successful requests per bucket, merged from the per-minute
    rollup's t-digests (the levels of the latency SLOs): {"complete_ms" | "ttfb_ms": {bucket: {level: ms}}}."""
    provider, model, client = route
    result = clickhouse.query(
        f"SELECT toStartOfInterval(minute, INTERVAL {int(step_s)} SECOND) AS t, "
        "quantilesTDigestMerge(0.5, 0.9, 0.99)(complete_ms_digest) AS complete_ms, "
        f"quantilesTDigestMerge(0.5, 0.9, 0.99)(ttfb_ms_digest) AS ttfb_ms FROM {API_METRICS_1M} "
        "WHERE minute >= {start:DateTime} AND minute < {end:DateTime} AND provider = {provider:String} "
        "AND resolved_model = {model:String} AND client_name = {client:String} AND status_code < 400 GROUP BY t",
        {"start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None), "provider": provider, "model": model,
         "client": client})
    found: dict[str, dict[datetime, dict[str, float]]] = {"complete_ms": {}, "ttfb_ms": {}}
    for at, complete, ttfb in result.result_rows:
        for name, values in (("complete_ms", complete), ("ttfb_ms", ttfb)):
            found[name][_utc(at)] = dict(zip(LATENCY_LEVELS, map(float, values), strict=True))
    return found


def baseline(clickhouse: ClickHouseClient, policy: AlertPolicy, dimension: Dimension, now: datetime) -> dict[str, Any]:
    provider, model, client = dimension
    return read_baseline(clickhouse, policy, Selector(model, provider, client), now).as_dict()
