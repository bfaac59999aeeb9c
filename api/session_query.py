"""Session questions as SQL (pure): stats, time series, the latest sessions and the export of `o11y.session_metrics`.

Whole days and hours are read from `o11y.sessions_1d` and `o11y.sessions_1h`, the rest of a range from the raw table
with the same measures, so counts, tokens and cost are exact for any range (percentiles are t-digests, as the rollups
keep them). A question about tool types (`tool_type` as a filter or a group) reads the raw table's by-type maps: a
session counts once in each tool type it called, its tool calls and errors are that type's, and the total counts
each session once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from alerting.rules.period_cache import floor_to, split
from api.read_question import (
    INTERVALS,
    Bucketed,
    ExportRange,
    Name,
    Sql,
    TimeRange,
    at,
    distinct,
    points_in,
    spans,
    split_names,
)
from schemas.session_event import TerminationReason
from storage.agent_sessions import SESSION_METRICS, SESSIONS_1D, SESSIONS_1H

SessionDimension = Literal["platform", "model", "client", "termination_reason", "tool_type"]
DIMENSIONS: tuple[SessionDimension, ...] = ("platform", "model", "client", "termination_reason", "tool_type")
_COLUMNS = {"platform": "platform", "model": "model", "client": "client_name", "termination_reason": "termination_reason"}
"""API name → column, the same in the raw table and the rollups (`tool_type` is a key of the by-type maps)."""
ROLLUPS = ((SESSIONS_1D, "day", 86_400), (SESSIONS_1H, "hour", 3600))
LEVELS = (0.5, 0.95, 0.99)
_DIGEST = f"quantilesTDigest({', '.join(map(str, LEVELS))})"
_KEYS = "arrayConcat(mapKeys(e.tool_calls_by_type), mapKeys(e.tool_errors_by_type))"

SUMS: dict[str, tuple[str, str]] = {
    "sessions": ("count()", "sessions"),
    "failed_sessions": ("countIf(e.termination_reason = 'error')", "if(termination_reason = 'error', sessions, 0)"),
    "stuck_sessions": ("countIf(e.stuck_tool_call_count > 0)", "stuck_sessions"),
    "stuck_tool_calls": ("sum(e.stuck_tool_call_count)", "stuck_tool_calls"),
    "turns": ("sum(e.total_turns)", "turns"),
    "steps": ("sum(e.total_steps)", "steps"),
    "tool_calls": ("sum({calls})", "tool_calls"),
    "tool_errors": ("sum({errors})", "tool_errors"),
    "errors": ("sum(e.total_errors)", "errors"),
    **{f"{kind}_tokens": (f"sum(e.{kind}_tokens)", f"{kind}_tokens")
       for kind in ("input", "output", "reasoning", "cache_read", "cache_write")},
}
"""Measure → (its expression over raw sessions `e`, its value in a rollup row); each is summed over the row set."""
DIGESTS: dict[str, tuple[str, str]] = {
    "first_response_ms": (f"{_DIGEST.replace('(', 'StateIf(', 1)}(assumeNotNull(e.time_to_first_response_ms), "
                          "e.time_to_first_response_ms IS NOT NULL)", "first_response_ms_digest"),
    "duration_ms": (f"{_DIGEST.replace('(', 'State(', 1)}(e.session_duration_ms)", "duration_ms_digest"),
}
AGGREGATES = ", ".join([*(f"sum(m_{name}) AS {name}" for name in SUMS), "sum(m_cost_usd) AS cost_usd",
                        *(f"{_DIGEST.replace('(', 'Merge(', 1)}(m_{name}) AS {name}" for name in DIGESTS)])


class SessionFilters(TimeRange):
    """Filters every session question takes; a repeated parameter (`model=a&model=b`) means any of them."""

    client: tuple[Name, ...] = Field(default=(), max_length=100, description="Client name(s).")
    platform: tuple[Name, ...] = Field(default=(), max_length=100, description="Platform(s), e.g. `vscode`.")
    model: tuple[Name, ...] = Field(default=(), max_length=100, description="Model(s).")
    termination_reason: tuple[TerminationReason, ...] = Field(default=(), max_length=5, description="How sessions ended.")
    tool_type: tuple[Name, ...] = Field(default=(), max_length=100,
                                        description="Sessions that called any of these tool types; their calls only.")

    def filters(self) -> dict[str, tuple[str, ...]]:
        return {name: values for name in (*_COLUMNS, "tool_type") if (values := getattr(self, name))}


class SessionStatsQuery(SessionFilters):
    group_by: Annotated[tuple[SessionDimension, ...], BeforeValidator(split_names), AfterValidator(distinct)] = Field(
        default=(), description="Comma-separated: any of platform, model, client, termination_reason, tool_type.")
    limit: int = Field(default=1000, ge=1, le=10_000, description="At most this many groups, most sessions first.")


class SessionTimeseriesQuery(Bucketed, SessionStatsQuery):
    pass


class SessionRecentQuery(SessionFilters):
    limit: int = Field(default=100, ge=1, le=1000, description="At most this many sessions, newest first.")


class SessionExportQuery(ExportRange, SessionFilters):
    pass


@dataclass(frozen=True)
class Rows:
    """How one row set reads the raw table: grouped by tool type (`by_tool`), the tool types asked (`tools`)."""

    filters: dict[str, tuple[str, ...]]
    dims: tuple[str, ...]
    by_tool: bool

    def where(self, sql: Sql, raw: bool) -> list[str]:
        clauses = []
        for name, values in self.filters.items():
            bound = sql.bind(f"f_{name}", list(values), "Array(String)")
            if name != "tool_type":
                clauses.append(f"{'e.' if raw else ''}{_COLUMNS[name]} IN {bound}")
            else:
                clauses.append(f"tool_type IN {bound}" if self.by_tool else f"hasAny({_KEYS}, {bound})")
        return clauses

    def tool_counts(self, sql: Sql) -> dict[str, str]:
        """The tool calls and errors a raw row counts: its tool type's, those of the types asked, or all."""
        if self.by_tool:
            return {"calls": "e.tool_calls_by_type[tool_type]", "errors": "e.tool_errors_by_type[tool_type]"}
        if "tool_type" in self.filters:
            tools = sql.bind("f_tool_type", list(self.filters["tool_type"]), "Array(String)")
            return {kind: f"arraySum(arrayMap(t -> e.tool_{kind}_by_type[t], {tools}))" for kind in ("calls", "errors")}
        return {"calls": "e.tool_calls", "errors": "e.tool_errors"}


def row_set(rows: Rows, start: datetime, end: datetime, step: int | None, sql: Sql, force_raw: bool = False,
            prefix: str = "") -> tuple[str, str]:
    """(SQL of rows `t, d_<dim>…, m_<measure>…`; where they come from). `step`: the time series' bucket in seconds, or
    None for one answer over the range. Whole days and hours come from the rollups unless tool types are asked.
    `prefix` keeps the times this row set binds apart from another's in the same query."""
    tools = rows.by_tool or "tool_type" in rows.filters
    grains = tuple(g for _, _, g in ROLLUPS if not (tools or force_raw) and (step is None or step >= g))
    parts, sources = [], []
    for grain, ranges in split(start, end, grains):
        if grain is None:
            parts.append(_raw_part(rows, ranges, step, start, sql, prefix))
            sources.append("raw")
            continue
        parts.append(_rollup_part(rows, grain, ranges, step, sql, prefix))
        sources.append("rollup")
    return " UNION ALL ".join(parts), "+".join(dict.fromkeys(sources))


def _rollup_part(rows: Rows, grain: int, ranges: list[tuple[datetime, datetime]], step: int | None, sql: Sql,
                 prefix: str) -> str:
    table, time = next((t, c) for t, c, g in ROLLUPS if g == grain)
    columns = "".join(f", {_COLUMNS[d]} AS d_{d}" for d in rows.dims)
    measures = ", ".join([*(f"toUInt64({kept}) AS m_{name}" for name, (_, kept) in SUMS.items()),
                          "toFloat64(cost_usd) AS m_cost_usd", *(f"{kept} AS m_{name}" for name, (_, kept) in DIGESTS.items())])
    where = " AND ".join([spans(time, ranges, f"{prefix}{table.name}_", "DateTime", sql), *rows.where(sql, raw=False)])
    return (f"SELECT toStartOfInterval({time}, INTERVAL {step or grain} SECOND) AS t{columns}, {measures} "
            f"FROM {table} WHERE {where}")


def _raw_part(rows: Rows, ranges: list[tuple[datetime, datetime]], step: int | None, start: datetime, sql: Sql,
              prefix: str) -> str:
    counts = rows.tool_counts(sql)
    columns = "".join(f", {'tool_type' if d == 'tool_type' else 'e.' + _COLUMNS[d]} AS d_{d}" for d in rows.dims)
    measures = ", ".join([*(f"toUInt64({expr.format(**counts)}) AS m_{name}" for name, (expr, _) in SUMS.items()),
                          "toFloat64(sum(e.total_cost)) AS m_cost_usd",
                          *(f"{expr} AS m_{name}" for name, (expr, _) in DIGESTS.items())])
    joined = f" ARRAY JOIN arrayDistinct({_KEYS}) AS tool_type" if rows.by_tool else ""
    where = " AND ".join([spans("e.received_at", ranges, f"{prefix}raw_", "DateTime64(3)", sql), *rows.where(sql, raw=True)])
    bucket = (f"toDateTime(toStartOfInterval(e.received_at, INTERVAL {step} SECOND), 'UTC')" if step
              else f"toDateTime({sql.bind('whole', at(start), 'DateTime')}, 'UTC')")
    names = ", ".join(["t", *(f"d_{d}" for d in rows.dims)])
    return f"SELECT {bucket} AS t{columns}, {measures} FROM {SESSION_METRICS} AS e{joined} WHERE {where} GROUP BY {names}"


@dataclass(frozen=True)
class Built:
    sql: str
    params: dict[str, Any]
    keys: tuple[str, ...]
    """Columns before the measures: `bucket` for a time series, then the group_by dimensions."""
    source: str
    start: datetime
    end: datetime


def stats_sql(query: SessionStatsQuery, now: datetime, force_raw: bool = False) -> Built:
    """The total row (`is_total`, each session once) first, then one row per group, most sessions first."""
    start, end = query.span(now)
    sql, filters = Sql(), query.filters()
    total, source = row_set(Rows(filters, (), False), start, end, None, sql, force_raw)
    text = f"SELECT 1 AS is_total, {AGGREGATES} FROM ({total})"
    if query.group_by:
        keys = ", ".join(f"d_{d}" for d in query.group_by)
        groups, more = row_set(Rows(filters, query.group_by, "tool_type" in query.group_by), start, end, None, sql, force_raw,
                               "g_")
        source = "+".join(dict.fromkeys((*source.split("+"), *more.split("+"))))
        blanks = ", ".join(f"'' AS d_{d}" for d in query.group_by)
        text = (f"SELECT * FROM (SELECT 1 AS is_total, {blanks}, {AGGREGATES} FROM ({total}) UNION ALL "
                f"SELECT 0 AS is_total, {', '.join(f'toString(d_{d}) AS d_{d}' for d in query.group_by)}, {AGGREGATES} "
                f"FROM ({groups}) GROUP BY {keys}) ORDER BY is_total DESC, sessions DESC, {keys} LIMIT {query.limit + 1}")
    return Built(text, sql.params, query.group_by, source, start, end)


def timeseries_sql(query: SessionTimeseriesQuery, now: datetime) -> Built:
    """One row per bucket (and group); with no group_by, buckets without sessions are there with zeros."""
    start, end = query.span(now)
    step = INTERVALS[query.interval]
    points_in(start, end, step, query.interval)
    sql = Sql()
    rows, source = row_set(Rows(query.filters(), query.group_by, "tool_type" in query.group_by), start, end, step, sql)
    keys = "".join(f", d_{d}" for d in query.group_by)
    fill = ""
    if not query.group_by:
        fill = (f" WITH FILL FROM {sql.bind('fill_from', at(floor_to(start, step)), 'DateTime')} "
                f"TO {sql.bind('fill_to', at(end), 'DateTime')} STEP {step}")
    text = (f"SELECT toStartOfInterval(t, INTERVAL {step} SECOND) AS bucket{keys}, {AGGREGATES} FROM ({rows}) "
            f"GROUP BY bucket{keys} ORDER BY bucket{fill}{keys} LIMIT {query.limit + 1}")
    return Built(text, sql.params, ("bucket", *query.group_by), source, start, end)
