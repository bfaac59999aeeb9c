"""`/v1/usage/…`: requests, errors, latency percentiles, tokens and cost; recent events (the export: api.export)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from api.auth import ApiAuth
from api.read_answers import Build, ask
from api.responses import json_response
from api.usage_query import (
    Built,
    RecentQuery,
    StatsQuery,
    TimeseriesQuery,
    events_sql,
    stats_sql,
    timeseries_sql,
)
from runtime.clickhouse import ClickHouseClient
from schemas.latency_measures import DEFAULT_MIN_OUTPUT_TOKENS, tokens_per_second
from schemas.prices import PriceTable
from schemas.usage_columns import ACCURACY, LEVELS

log = logging.getLogger(__name__)

PERCENTILES = (f"p{round(level * 100)}" for level in LEVELS)
METHOD = (f"Successful requests (status < 400) only. Each percentile is within {ACCURACY:.0%} of the exact value at rank "
          "floor(q × (n − 1)) of the sorted latencies (0-based), from mergeable DDSketch sketches. ttft_ms: streamed "
          "requests only. output_tokens_per_second: 1000 / the time per output token's percentile, of streamed requests "
          f"with at least {DEFAULT_MIN_OUTPUT_TOKENS} output tokens; its p95 is the speed 95 % of them reach or beat.")
_NULL_WHEN_EMPTY = ("inference_provider", "organization")
_LEVEL_NAMES = tuple(PERCENTILES)


def _levels(values: Any) -> dict[str, float | None]:
    """A merged sketch's percentiles by name, unrounded; None each when the sketch counted nothing."""
    numbers = list(values or [])
    if len(numbers) != len(_LEVEL_NAMES) or any(math.isnan(v) for v in numbers):
        return dict.fromkeys(_LEVEL_NAMES)
    return dict(zip(_LEVEL_NAMES, numbers, strict=True))


def _percentiles(values: Any) -> dict[str, float | None]:
    return {name: None if v is None else round(v, 1) for name, v in _levels(values).items()}


def _speeds(tpot_ms: Any) -> dict[str, float | None]:
    """Output tokens per second from the time per output token's percentiles: at TPOT's p95, the speed 95 % of the
    answers reach or beat (the slower answers have the higher TPOT). None at a TPOT of 0 ms: no speed to measure."""
    return {name: None if tpot is None or tpot <= 0 else round(tokens_per_second(tpot), 1)
            for name, tpot in _levels(tpot_ms).items()}


def usage_entry(values: Mapping[str, Any]) -> dict[str, Any]:
    """The measures of one group, total or time bucket."""
    requests, e4, e5 = int(values["requests"]), int(values["errors_4xx"]), int(values["errors_5xx"])
    priced = int(values["priced_requests"])
    return {
        "requests": requests,
        "errors": {"4xx": e4, "5xx": e5, "total": e4 + e5},
        "error_rate": round((e4 + e5) / requests, 6) if requests else None,
        "ttfb_ms": _percentiles(values["ttfb_ms"]),
        "complete_ms": _percentiles(values["complete_ms"]),
        "ttft_ms": _percentiles(values["ttft_ms"]),
        "output_tokens_per_second": _speeds(values["tpot_ms"]),
        "tokens": {"input": int(values["input_tokens"]), "output": int(values["output_tokens"]),
                   "cache_write": int(values["cache_write_tokens"]), "cache_hit": int(values["cache_hit_tokens"]),
                   "total": int(values["total_tokens"])},
        "requests_with_tokens": int(values["requests_with_tokens"]),
        "cost": {"usd": round(float(values["cost_usd"]), 6) if priced else None, "priced_requests": priced,
                 "unpriced_requests": int(values["unpriced_requests"]), "unpriced_models": list(values["unpriced_models"])},
    }


def _key(name: str, value: Any) -> Any:
    if name == "bucket":
        return value.replace(tzinfo=timezone.utc).isoformat() if isinstance(value, datetime) else value
    if name in _NULL_WHEN_EMPTY and value == "":
        return None
    return value


def shape(built: Built, column_names: list[str], rows: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(groups or points, the total row if there is one)."""
    found, total = [], None
    for row in rows:
        values = dict(zip(column_names, row, strict=True))
        entry = {("t" if k == "bucket" else k): _key(k, values["bucket" if k == "bucket" else f"d_{k}"])
                 for k in built.keys}
        entry.update(usage_entry(values))
        if values.get("is_total"):
            total = usage_entry(values)
        else:
            found.append(entry)
    return found, total


def _window(built: Built) -> dict[str, Any]:
    return {"from": built.start.isoformat(), "to": built.end.isoformat(), "source": built.source}


class UsageApi:
    """Read tokens; every question is validated first (400 with every reason), ClickHouse failures are 503."""

    def __init__(self, auth: ApiAuth, clickhouse: ClickHouseClient, prices: PriceTable) -> None:
        self._auth, self._clickhouse, self._prices = auth, clickhouse, prices

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/usage/stats", self.stats)
        app.router.add_get("/v1/usage/timeseries", self.timeseries)
        app.router.add_get("/v1/usage/recent", self.recent)

    async def _ask(self, request: web.Request, model: type[Any], build: Build) -> tuple[Any, Any] | web.Response:
        return await ask(request, self._auth, self._clickhouse, model, build)

    async def _measured(self, request: web.Request, model: type[Any], sql_of: Callable[[Any, PriceTable, datetime], Built],
                        answer: Callable[[Any, list[dict[str, Any]], dict[str, Any] | None], dict[str, Any]]) -> web.Response:
        """Stats and time series: the measures of each group or bucket, shaped alike."""
        built: list[Built] = []

        def build(query: Any, now: datetime) -> tuple[str, dict[str, Any]]:
            built.append(sql_of(query, self._prices, now))
            return built[0].sql, built[0].params

        asked = await self._ask(request, model, build)
        if isinstance(asked, web.Response):
            return asked
        query, result = asked
        found, total = shape(built[0], list(result.column_names), result.result_rows)
        return json_response({**_window(built[0]), "group_by": list(query.group_by), "percentiles": METHOD,
                              **answer(query, found, total), "truncated": len(found) > query.limit})

    async def stats(self, request: web.Request) -> web.Response:
        return await self._measured(request, StatsQuery, stats_sql, lambda query, groups, total: {
            "total": total, "groups": groups[:query.limit]})

    async def timeseries(self, request: web.Request) -> web.Response:
        return await self._measured(request, TimeseriesQuery, timeseries_sql, lambda query, points, _: {
            "interval": query.interval, "points": points[:query.limit]})

    async def recent(self, request: web.Request) -> web.Response:
        asked = await self._ask(request, RecentQuery, lambda q, now: events_sql(q, self._prices, now, q.limit))
        if isinstance(asked, web.Response):
            return asked
        _, result = asked
        events = [event_dict(dict(zip(result.column_names, row, strict=True))) for row in result.result_rows]
        return json_response({"events": events})


def event_dict(values: dict[str, Any]) -> dict[str, Any]:
    received = values["received_at"]
    if isinstance(received, datetime):
        values["received_at"] = received.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
    values["tools_available"] = list(values["tools_available"])
    values["tools_used"] = list(values["tools_used"])
    return values
