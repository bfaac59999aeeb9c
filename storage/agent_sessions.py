"""The session events' tables: one row per finished agent session, the per-minute rollups the session SLOs read, the
hourly and daily rollups the read API answers from."""

from __future__ import annotations

from schemas.session_event import SESSIONS
from storage.event_tables import raw_table
from storage.table import DEDUP, Column, Table, View

_DERIVED = {
    "tool_errors_by_type": (
        Column("tool_calls", "UInt64", "All tool calls: `arraySum(mapValues(tool_calls_by_type))`. Select it by name.",
               "MATERIALIZED arraySum(mapValues(tool_calls_by_type))"),
        Column("tool_errors", "UInt64", "All failed tool calls: `arraySum(mapValues(tool_errors_by_type))`. Select it "
               "by name.", "MATERIALIZED arraySum(mapValues(tool_errors_by_type))"),
    ),
}
SESSION_METRICS = raw_table("session_metrics", "One row per finished agent session, stored once whatever the retries.",
                            SESSIONS.fields, SESSIONS.key_fields, since=13, derived=_DERIVED)
SESSION_SHARDING = SESSION_METRICS.sharding

_ROUTE = (
    Column("client_name", "LowCardinality(String)", "The authenticated client."),
    Column("platform", "LowCardinality(String)", "The client surface the sessions ran on."),
    Column("model", "LowCardinality(String)", "The sessions' model (empty when not sent)."),
)
_SUM = "SimpleAggregateFunction(sum, UInt64)"
_DIGEST = "AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), UInt64)"
_ROLLUP = f"{DEDUP}, ttl_only_drop_parts = 1"

SESSION_METRICS_1M = Table(
    "session_metrics_1m", "Per minute, route (client, platform, model), termination reason and whether a tool call got "
                          "stuck: what the session failure SLOs read.",
    (
        Column("minute", "DateTime('UTC')", "`toStartOfMinute(received_at)`."),
        *_ROUTE,
        Column("termination_reason", "LowCardinality(String)", "How the sessions ended."),
        Column("stuck", "Bool", "True for sessions with at least one stuck tool call."),
        Column("sessions", _SUM, "Sessions: aggregate with `sum(sessions)`."),
    ),
    engine="AggregatingMergeTree", order_by="(minute, client_name, platform, model, termination_reason, stuck)",
    since=13, partition_by="toDate(minute)", ttl=lambda r: f"minute + INTERVAL {r.rollup_days} DAY", settings=_ROLLUP,
    sharding=SESSION_SHARDING,
)
SESSION_METRICS_1M_MV = View("session_metrics_1m_mv", SESSION_METRICS_1M, """
SELECT toStartOfMinute(received_at) AS minute, client_name, platform, model, termination_reason,
    stuck_tool_call_count > 0 AS stuck, count() AS sessions
FROM {source}
GROUP BY minute, client_name, platform, model, termination_reason, stuck""", SESSION_METRICS)

SESSION_TOOLS_1M = Table(
    "session_tools_1m", "Per minute, client and tool type: tool calls and failed ones, from every session's by-type "
                        "maps (what the tool error SLOs read).",
    (
        Column("minute", "DateTime('UTC')", "`toStartOfMinute(received_at)`."),
        Column("client_name", "LowCardinality(String)", "The authenticated client."),
        Column("platform", "LowCardinality(String)", "The client surface the sessions ran on."),
        Column("model", "LowCardinality(String)", "The sessions' model (empty when not sent)."),
        Column("tool_type", "LowCardinality(String)", "The tool type (a key of `tool_calls_by_type` or "
                                                       "`tool_errors_by_type`)."),
        Column("calls", _SUM, "Tool calls: aggregate with `sum(calls)`."),
        Column("errors", _SUM, "Failed tool calls: aggregate with `sum(errors)`."),
    ),
    engine="AggregatingMergeTree", order_by="(minute, client_name, tool_type, platform, model)", since=13,
    partition_by="toDate(minute)", ttl=lambda r: f"minute + INTERVAL {r.rollup_days} DAY", settings=_ROLLUP,
    sharding=SESSION_SHARDING,
)
SESSION_TOOLS_1M_MV = View("session_tools_1m_mv", SESSION_TOOLS_1M, """
SELECT toStartOfMinute(received_at) AS minute, client_name, platform, model, tool_type,
    sum(tool_calls_by_type[tool_type]) AS calls, sum(tool_errors_by_type[tool_type]) AS errors
FROM {source}
ARRAY JOIN arrayDistinct(arrayConcat(mapKeys(tool_calls_by_type), mapKeys(tool_errors_by_type))) AS tool_type
GROUP BY minute, client_name, platform, model, tool_type""", SESSION_METRICS)


def _usage(name: str, unit: str, time: str, start: str) -> tuple[Table, View]:
    table = Table(
        name, f"Per {unit}, route (client, platform, model) and termination reason: what the sessions API reads.",
        (
            Column(time, "DateTime('UTC')", f"`{start}(received_at)`."),
            *_ROUTE,
            Column("termination_reason", "LowCardinality(String)", "How the sessions ended."),
            Column("sessions", _SUM, "Sessions: `sum(sessions)`."),
            Column("stuck_sessions", _SUM, "Sessions with at least one stuck tool call."),
            Column("stuck_tool_calls", _SUM, "Tool calls that never finished."),
            Column("turns", _SUM, "User turns."),
            Column("steps", _SUM, "Agent steps."),
            Column("tool_calls", _SUM, "Tool calls."),
            Column("tool_errors", _SUM, "Failed tool calls."),
            Column("errors", _SUM, "Errors of any type."),
            Column("duration_ms", _SUM, "Session time, summed (ms)."),
            Column("input_tokens", _SUM, "Prompt tokens."),
            Column("output_tokens", _SUM, "Generated tokens."),
            Column("reasoning_tokens", _SUM, "Reasoning tokens."),
            Column("cache_read_tokens", _SUM, "Prompt tokens read from the cache."),
            Column("cache_write_tokens", _SUM, "Prompt tokens written to the cache."),
            Column("cost_usd", "SimpleAggregateFunction(sum, Float64)", "Cost in USD, summed."),
            Column("first_response_ms_digest", _DIGEST, "Sketch of the time to first response: "
                   "`quantilesTDigestMerge(0.5, 0.95, 0.99)(first_response_ms_digest)`."),
            Column("duration_ms_digest", _DIGEST, "Sketch of the session duration: "
                   "`quantilesTDigestMerge(0.5, 0.95, 0.99)(duration_ms_digest)`."),
        ),
        engine="AggregatingMergeTree", order_by=f"({time}, client_name, platform, model, termination_reason)",
        since=13, partition_by=f"toYYYYMM({time})", ttl=lambda r: f"{time} + INTERVAL {r.rollup_days} DAY",
        settings=_ROLLUP, sharding=SESSION_SHARDING,
    )
    view = View(f"{name}_mv", table, f"""
SELECT {start}(received_at) AS {time}, client_name, platform, model, termination_reason,
    count() AS sessions, countIf(stuck_tool_call_count > 0) AS stuck_sessions,
    sum(stuck_tool_call_count) AS stuck_tool_calls, sum(total_turns) AS turns, sum(total_steps) AS steps,
    sum(tool_calls) AS tool_calls, sum(tool_errors) AS tool_errors, sum(total_errors) AS errors,
    sum(session_duration_ms) AS duration_ms, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
    sum(reasoning_tokens) AS reasoning_tokens, sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_write_tokens) AS cache_write_tokens, sum(total_cost) AS cost_usd,
    quantilesTDigestStateIf(0.5, 0.95, 0.99)(assumeNotNull(time_to_first_response_ms),
                                             time_to_first_response_ms IS NOT NULL) AS first_response_ms_digest,
    quantilesTDigestState(0.5, 0.95, 0.99)(session_duration_ms) AS duration_ms_digest
FROM {{source}}
GROUP BY {time}, client_name, platform, model, termination_reason""", SESSION_METRICS)
    return table, view


SESSIONS_1H, SESSIONS_1H_MV = _usage("sessions_1h", "hour", "hour", "toStartOfHour")
SESSIONS_1D, SESSIONS_1D_MV = _usage("sessions_1d", "day", "day", "toStartOfDay")

SESSION_TABLES = (SESSION_METRICS, SESSION_METRICS_1M, SESSION_TOOLS_1M, SESSIONS_1H, SESSIONS_1D)
SESSION_VIEWS = (SESSION_METRICS_1M_MV, SESSION_TOOLS_1M_MV, SESSIONS_1H_MV, SESSIONS_1D_MV)
