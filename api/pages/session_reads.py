"""What the sessions page reads, with the sessions API's own queries (ClickHouse I/O here; drawing in `agent_sessions`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.pages.series import INTERVAL_NAMES
from api.session_api import shape
from api.session_query import SessionStatsQuery, SessionTimeseriesQuery, stats_sql, timeseries_sql
from runtime.clickhouse import ClickHouseClient


@dataclass(frozen=True)
class SessionReads:
    total: dict[str, Any] | None
    tools: list[dict[str, Any]]
    """`/v1/sessions/stats` by tool type."""
    routes: list[dict[str, Any]]
    """`/v1/sessions/stats` by platform, model and client."""
    reasons: list[dict[str, Any]]
    """`/v1/sessions/timeseries` points by termination reason."""
    source: str


def read_sessions(clickhouse: ClickHouseClient, filters: dict[str, Any], start: datetime, end: datetime, step_s: int,
                  now: datetime) -> SessionReads:
    """`filters`: the page's (`platform`, `model`, `client`, `tool_type`), each a list of names."""
    asked = {**filters, "from": start, "to": end}

    def stats(group_by: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None, str]:
        built = stats_sql(SessionStatsQuery.model_validate({**asked, "group_by": group_by}), now)
        result = clickhouse.query(built.sql, built.params)
        return *shape(built, list(result.column_names), result.result_rows), built.source

    tools, total, source = stats("tool_type")
    routes, _, _ = stats("platform,model,client")
    built = timeseries_sql(SessionTimeseriesQuery.model_validate(
        {**asked, "group_by": "termination_reason", "interval": INTERVAL_NAMES[step_s]}), now)
    result = clickhouse.query(built.sql, built.params)
    reasons, _ = shape(built, list(result.column_names), result.result_rows)
    return SessionReads(total, tools, routes, reasons, source)
