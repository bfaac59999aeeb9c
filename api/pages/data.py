"""What the pages show, read with the API's own queries (ClickHouse I/O here; shaping in `pages.series`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from alerting.incidents.silences import Silence
from alerting.policy.baseline import Baseline, Selector, read_baseline
from alerting.policy.store import PolicyStore
from alerting.rules.period_cache import floor_to
from alerting.rules.window_query import period_range_query
from api.incidents_api import IncidentQuery, read_incidents
from api.pages.series import INTERVAL_NAMES, LATENCY_LEVELS, SloCounts
from api.usage_api import shape
from api.usage_query import StatsQuery, TimeseriesQuery, stats_sql, timeseries_sql
from runtime.clickhouse import ClickHouseClient
from schemas.alert_policy import AlertPolicy, Dimension
from schemas.prices import PriceTable
from storage.events import API_METRICS_1M


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at


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


def incidents(clickhouse: ClickHouseClient, now: datetime, state: str = "open", start: datetime | None = None,
              end: datetime | None = None, route: Dimension | None = None) -> list[dict[str, Any]]:
    """Incidents as `/v1/incidents` answers them: open ones, or all of [start, end) (of one route when given)."""
    asked: dict[str, Any] = {"state": state, "from": start, "to": end}
    if route is not None:
        asked.update(zip(("provider", "model", "client"), route, strict=True))
    return read_incidents(clickhouse, IncidentQuery.model_validate({k: v for k, v in asked.items() if v is not None}), now)


def silences(clickhouse: ClickHouseClient, now: datetime) -> list[Silence]:
    """Silences active or pending at `now`."""
    return PolicyStore(clickhouse).silences(now)


def silence(clickhouse: ClickHouseClient, silence_id: str) -> Silence | None:
    return PolicyStore(clickhouse).silence(silence_id)


def save_silence(clickhouse: ClickHouseClient, silence: Silence, now: datetime) -> None:
    PolicyStore(clickhouse).save_silence(silence, now)


def usage_stats(clickhouse: ClickHouseClient, prices: PriceTable, now: datetime, group_by: str, start: datetime,
                end: datetime) -> tuple[list[dict[str, Any]], dict[str, Any] | None, str]:
    """(groups, total, source) of `/v1/usage/stats` for [start, end) by one dimension."""
    built = stats_sql(StatsQuery.model_validate({"group_by": group_by, "from": start, "to": end}), prices, now)
    result = clickhouse.query(built.sql, built.params)
    groups, total = shape(built, list(result.column_names), result.result_rows)
    return groups, total, built.source


def usage_points(clickhouse: ClickHouseClient, prices: PriceTable, now: datetime, step_s: int, start: datetime,
                 end: datetime, route: Dimension | None = None) -> list[dict[str, Any]]:
    """`/v1/usage/timeseries` points (every bucket, zeros included) for [start, end), of one route when given."""
    asked: dict[str, Any] = {"from": start, "to": end, "interval": INTERVAL_NAMES[step_s]}
    if route is not None:
        asked.update(zip(("provider", "model", "client"), ([name] for name in route), strict=True))
    built = timeseries_sql(TimeseriesQuery.model_validate(asked), prices, now)
    result = clickhouse.query(built.sql, built.params)
    points, _ = shape(built, list(result.column_names), result.result_rows)
    return points


ROUTE_DIGESTS = {"complete_ms": "complete_ms_digest", "ttfb_ms": "ttfb_ms_digest", "ttft_ms": "ttft_ms_digest",
                 "tpot_ms": "tpot_ms_digest"}
"""What a route's latency charts read: complete time, time to first byte, time to first token (streamed requests) and
time per output token (streamed answers of 16+ tokens), each a t-digest of the per-minute rollup."""


def route_latency(clickhouse: ClickHouseClient, route: Dimension, start: datetime, end: datetime,
                  step_s: int) -> dict[str, dict[datetime, dict[str, float]]]:
    """p50/p90/p99 of each of ROUTE_DIGESTS over one route's successful requests per bucket, merged from the rollup's
    t-digests (the levels of the latency SLOs): {"complete_ms" | "ttfb_ms" | "ttft_ms" | "tpot_ms": {bucket: {level:
    ms}}}; a bucket where a measure counted nothing (no streamed request) has no levels for it."""
    provider, model, client = route
    merged = ", ".join(f"quantilesTDigestMerge(0.5, 0.9, 0.99)({digest}) AS {name}" for name, digest in ROUTE_DIGESTS.items())
    result = clickhouse.query(
        f"SELECT toStartOfInterval(minute, INTERVAL {int(step_s)} SECOND) AS t, {merged} FROM {API_METRICS_1M} "
        "WHERE minute >= {start:DateTime} AND minute < {end:DateTime} AND provider = {provider:String} "
        "AND resolved_model = {model:String} AND client_name = {client:String} AND status_code < 400 GROUP BY t",
        {"start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None), "provider": provider, "model": model,
         "client": client})
    found: dict[str, dict[datetime, dict[str, float]]] = {name: {} for name in ROUTE_DIGESTS}
    for at, *measures in result.result_rows:
        for name, values in zip(ROUTE_DIGESTS, measures, strict=True):
            levels = {level: float(v) for level, v in zip(LATENCY_LEVELS, values, strict=True) if math.isfinite(v)}
            if levels:
                found[name][_utc(at)] = levels
    return found


def baseline(clickhouse: ClickHouseClient, policy: AlertPolicy, route: Dimension, now: datetime) -> Baseline:
    provider, model, client = route
    return read_baseline(clickhouse, policy, Selector(model, provider, client), now)
