"""`/v1/sessions/…`: finished agent sessions, failed and stuck ones, tool calls and errors, tokens, cost and percentiles;
the latest sessions (the export: api.export)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from api.auth import ApiAuth
from api.read_answers import ask
from api.responses import json_response
from api.session_list import sessions_sql
from api.session_query import (
    LEVELS,
    Built,
    SessionRecentQuery,
    SessionStatsQuery,
    SessionTimeseriesQuery,
    stats_sql,
    timeseries_sql,
)
from runtime.clickhouse import ClickHouseClient

METHOD = ("Time to first response (sessions that reported one) and session duration: p50, p95 and p99 from t-digests, "
          "approximate; counts, tokens and cost are exact.")
_LEVEL_NAMES = tuple(f"p{round(level * 100)}" for level in LEVELS)


def _levels(values: Any) -> dict[str, float | None]:
    numbers = list(values or [])
    if len(numbers) != len(_LEVEL_NAMES) or any(math.isnan(v) for v in numbers):
        return dict.fromkeys(_LEVEL_NAMES)
    return {name: round(v, 1) for name, v in zip(_LEVEL_NAMES, numbers, strict=True)}


def session_entry(values: Mapping[str, Any]) -> dict[str, Any]:
    """The measures of one group, total or time bucket."""
    sessions, failed, calls, tool_errors = (int(values[k]) for k in ("sessions", "failed_sessions", "tool_calls",
                                                                      "tool_errors"))
    return {
        "sessions": sessions, "failed_sessions": failed, "failure_rate": round(failed / sessions, 6) if sessions else None,
        "stuck_sessions": int(values["stuck_sessions"]), "stuck_tool_calls": int(values["stuck_tool_calls"]),
        "turns": int(values["turns"]), "steps": int(values["steps"]), "tool_calls": calls, "tool_errors": tool_errors,
        "tool_error_rate": round(tool_errors / calls, 6) if calls else None, "errors": int(values["errors"]),
        "tokens": {kind: int(values[f"{kind}_tokens"]) for kind in ("input", "output", "reasoning", "cache_read",
                                                                     "cache_write")},
        "cost_usd": round(float(values["cost_usd"]), 6),
        "first_response_ms": _levels(values["first_response_ms"]), "duration_ms": _levels(values["duration_ms"]),
    }


def shape(built: Built, column_names: list[str], rows: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(groups or points, the total row if there is one)."""
    found, total = [], None
    for row in rows:
        values = dict(zip(column_names, row, strict=True))
        if values.get("is_total"):
            total = session_entry(values)
            continue
        entry = {("t" if k == "bucket" else k): values["bucket" if k == "bucket" else f"d_{k}"] for k in built.keys}
        if isinstance(entry.get("t"), datetime):
            entry["t"] = entry["t"].replace(tzinfo=timezone.utc).isoformat()
        found.append({**entry, **session_entry(values)})
    return found, total


def session_dict(values: dict[str, Any]) -> dict[str, Any]:
    received = values["received_at"]
    if isinstance(received, datetime):
        values["received_at"] = received.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
    return values


class SessionsApi:
    """Read tokens; every question is validated first (400 with every reason), ClickHouse failures are 503."""

    def __init__(self, auth: ApiAuth, clickhouse: ClickHouseClient) -> None:
        self._auth, self._clickhouse = auth, clickhouse

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/sessions/stats", self.stats)
        app.router.add_get("/v1/sessions/timeseries", self.timeseries)
        app.router.add_get("/v1/sessions/recent", self.recent)

    async def _measured(self, request: web.Request, model: type[Any], built: list[Built]) -> web.Response | tuple[
            Any, list[dict[str, Any]], dict[str, Any] | None]:
        def build(query: Any, now: datetime) -> tuple[str, dict[str, Any]]:
            made = stats_sql(query, now) if model is SessionStatsQuery else timeseries_sql(query, now)
            built.append(made)
            return made.sql, made.params

        asked = await ask(request, self._auth, self._clickhouse, model, build)
        if isinstance(asked, web.Response):
            return asked
        query, result = asked
        return query, *shape(built[0], list(result.column_names), result.result_rows)

    def _window(self, built: Built, query: Any, found: list[dict[str, Any]]) -> dict[str, Any]:
        return {"from": built.start.isoformat(), "to": built.end.isoformat(), "source": built.source,
                "group_by": list(query.group_by), "percentiles": METHOD, "truncated": len(found) > query.limit}

    async def stats(self, request: web.Request) -> web.Response:
        built: list[Built] = []
        answer = await self._measured(request, SessionStatsQuery, built)
        if isinstance(answer, web.Response):
            return answer
        query, groups, total = answer
        return json_response({**self._window(built[0], query, groups), "total": total, "groups": groups[:query.limit]})

    async def timeseries(self, request: web.Request) -> web.Response:
        built: list[Built] = []
        answer = await self._measured(request, SessionTimeseriesQuery, built)
        if isinstance(answer, web.Response):
            return answer
        query, points, _ = answer
        return json_response({**self._window(built[0], query, points), "interval": query.interval,
                              "points": points[:query.limit]})

    async def recent(self, request: web.Request) -> web.Response:
        asked = await ask(request, self._auth, self._clickhouse, SessionRecentQuery,
                          lambda q, now: sessions_sql(q, now, q.limit))
        if isinstance(asked, web.Response):
            return asked
        _, result = asked
        return json_response({"sessions": [session_dict(dict(zip(result.column_names, row, strict=True)))
                                           for row in result.result_rows]})
