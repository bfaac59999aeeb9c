"""The request events' tables: one row per event, the per-minute rollup the evaluator reads, the usage rollups."""

from __future__ import annotations

from schemas.latency_measures import (
    BOUNDS_ARRAY,
    DEFAULT_MIN_OUTPUT_TOKENS,
    MIN_TOKENS_ARRAY,
    TPOT_BOUNDS_ARRAY,
    TPOT_COLUMN,
    TPOT_FIELD,
    TPOT_OVER,
    TTFT_COLUMN,
    TTFT_FIELD,
    tpot_counts,
    tpot_over_state,
    tpot_value,
)
from schemas.request_event import message_fields
from schemas.usage_columns import MEASURES, ROLLUPS, usage_rollup_columns, usage_rollup_select
from storage.event_tables import ENVELOPE, SOURCE, raw_ttl
from storage.table import DB, DEDUP, Column, Table, View

ROUTE_SHARDING = "cityHash64(client_name, provider, resolved_model)"


_DERIVED = {
    "status_code": (Column("is_error", "Bool", "`status_code >= 400`. Select it by name: `SELECT *` leaves it out.",
                           "MATERIALIZED status_code >= 400"),),
    "total_tokens": (
        Column(TTFT_FIELD, "Nullable(UInt64)", "Time to first token: `ttfb_ms` of a streamed request, NULL for the "
               "others. Select it by name.", f"MATERIALIZED {TTFT_COLUMN}"),
        Column(TPOT_FIELD, "Nullable(Float64)", "Time per output token (ms): `(complete_request_ms − ttfb_ms) / "
               "(output_tokens − 1)` of a streamed, successful request with at least 2 output tokens (SLOs ask for "
               "more, `min_output_tokens`); NULL for the others. Select it by name.", f"MATERIALIZED {TPOT_COLUMN}"),
    ),
}
"""Columns ClickHouse computes, after the field they are computed from."""


def _event_columns() -> tuple[Column, ...]:
    """The envelope, every field the message carries (from `schemas.request_event`), what ClickHouse derives, the source."""
    columns = list(ENVELOPE)
    for field in message_fields():
        assert field.column is not None
        columns.append(Column(field.name, field.column, field.comment or field.description))
        columns += _DERIVED.get(field.name, ())
    return (*columns, *SOURCE)


API_METRICS = Table(
    "api_metrics", "One row per accepted event (a gateway request), stored once whatever the retries.", _event_columns(),
    engine="MergeTree", order_by="(client_name, provider, resolved_model, received_at)", since=1,
    partition_by="toDate(received_at)", ttl=raw_ttl, settings=f"{DEDUP}, ttl_only_drop_parts = 1",
    sharding=ROUTE_SHARDING,
)

_OVER = "Requests slower ({what}) than each latency bound: `o11y_count_over(sumForEachMerge({name}), ms)`. Exact."
API_METRICS_1M = Table(
    "api_metrics_1m", "Per minute and route (client, provider, model, BYOK, status): what the SLO evaluator reads.",
    (
        Column("minute", "DateTime('UTC')", "`toStartOfMinute(received_at)`."),
        Column("client_name", "LowCardinality(String)", "The authenticated client (gateway)."),
        Column("provider", "LowCardinality(String)", "The gateway's upstream provider id."),
        Column("resolved_model", "LowCardinality(String)", "The model that served the requests."),
        Column("user_byok", "Bool", "True for requests on the user's own provider key."),
        Column("status_code", "UInt16", "Upstream HTTP status, kept so that any error definition can be computed exactly."),
        Column("requests", "SimpleAggregateFunction(sum, UInt64)", "Request count: aggregate with `sum(requests)`."),
        Column("complete_ms_over", "AggregateFunction(sumForEach, Array(UInt64))",
               _OVER.format(what="complete", name="complete_ms_over")),
        Column("ttfb_ms_over", "AggregateFunction(sumForEach, Array(UInt64))",
               _OVER.format(what="first byte", name="ttfb_ms_over")),
        Column("complete_ms_digest", "AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), UInt64)",
               "Sketch of the complete latency: `quantilesTDigestMerge(0.5, 0.9, 0.99)(complete_ms_digest)`."),
        Column("ttfb_ms_digest", "AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), UInt64)",
               "Sketch of the time to first byte: `quantilesTDigestMerge(0.5, 0.9, 0.99)(ttfb_ms_digest)`."),
        Column("streamed_requests", "SimpleAggregateFunction(sum, UInt64)", "Streamed requests (from version 11)."),
        Column("streamed_ttfb_ms_over", "AggregateFunction(sumForEach, Array(UInt64))",
               _OVER.format(what="first token, streamed requests", name="streamed_ttfb_ms_over")),
        Column("buffered_requests", "SimpleAggregateFunction(sum, UInt64)",
               "Requests not streamed (from version 11)."),
        Column("buffered_ttfb_ms_over", "AggregateFunction(sumForEach, Array(UInt64))",
               _OVER.format(what="first byte, requests not streamed", name="buffered_ttfb_ms_over")),
        Column(TPOT_OVER, "AggregateFunction(sumForEach, Array(UInt64))",
               f"Time per output token, exact: for each `min_output_tokens` of {MIN_TOKENS_ARRAY} in turn, the "
               f"streamed successful requests with at least that many output tokens, then how many of them took "
               f"longer per token than each of {TPOT_BOUNDS_ARRAY} ms."),
        Column("ttft_ms_digest", "AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), UInt64)",
               "Sketch of the time to first token of streamed requests: "
               "`quantilesTDigestMerge(0.5, 0.9, 0.99)(ttft_ms_digest)`."),
        Column("tpot_ms_digest", "AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), Float64)",
               f"Sketch of the time per output token (ms) of streamed successful requests with at least "
               f"{DEFAULT_MIN_OUTPUT_TOKENS} output tokens: `quantilesTDigestMerge(0.5, 0.9, 0.99)(tpot_ms_digest)`."),
    ),
    engine="AggregatingMergeTree", order_by="(minute, client_name, provider, resolved_model, user_byok, status_code)",
    since=2, partition_by="toDate(minute)", ttl=lambda r: f"minute + INTERVAL {r.rollup_days} DAY",
    settings=f"{DEDUP}, ttl_only_drop_parts = 1", sharding=ROUTE_SHARDING,
)

API_METRICS_1M_MV = View("api_metrics_1m_mv", API_METRICS_1M, f"""
SELECT
    toStartOfMinute(received_at) AS minute,
    client_name, provider, resolved_model, user_byok, status_code,
    count() AS requests,
    sumForEachState(arrayMap(b -> toUInt64(complete_request_ms > b), {BOUNDS_ARRAY})) AS complete_ms_over,
    sumForEachState(arrayMap(b -> toUInt64(ttfb_ms > b), {BOUNDS_ARRAY})) AS ttfb_ms_over,
    quantilesTDigestState(0.5, 0.9, 0.99)(complete_request_ms) AS complete_ms_digest,
    quantilesTDigestState(0.5, 0.9, 0.99)(ttfb_ms) AS ttfb_ms_digest,
    countIf(is_streaming) AS streamed_requests,
    sumForEachState(arrayMap(b -> toUInt64(is_streaming AND ttfb_ms > b), {BOUNDS_ARRAY})) AS streamed_ttfb_ms_over,
    countIf(NOT is_streaming) AS buffered_requests,
    sumForEachState(arrayMap(b -> toUInt64(NOT is_streaming AND ttfb_ms > b), {BOUNDS_ARRAY})) AS buffered_ttfb_ms_over,
    {tpot_over_state()} AS {TPOT_OVER},
    quantilesTDigestStateIf(0.5, 0.9, 0.99)(ttfb_ms, is_streaming) AS ttft_ms_digest,
    quantilesTDigestStateIf(0.5, 0.9, 0.99)(toFloat64({tpot_value()}), {tpot_counts(DEFAULT_MIN_OUTPUT_TOKENS)})
        AS tpot_ms_digest
FROM {{source}}
GROUP BY minute, client_name, provider, resolved_model, user_byok, status_code""", API_METRICS)


def _usage_rollup(name: str) -> Table:
    columns = usage_rollup_columns(name)
    keys = [c for c in columns if c not in MEASURES]
    time = keys[0]
    unit = "day" if ROLLUPS[name][1] == 86_400 else "hour"
    return Table(
        name, f"Per {unit} and route (client, provider, model, inference provider, BYOK): what the usage API reads.",
        tuple(Column(column, kind, meaning) for column, (kind, _, meaning) in columns.items()),
        engine="AggregatingMergeTree", order_by=f"({', '.join(keys)})", since=7, partition_by=f"toYYYYMM({time})",
        ttl=lambda r: f"{time} + INTERVAL {r.rollup_days} DAY", settings=f"{DEDUP}, ttl_only_drop_parts = 1",
        sharding=ROUTE_SHARDING,
    )


USAGE_1D = _usage_rollup("usage_1d")
USAGE_1H = _usage_rollup("usage_1h")
USAGE_VIEWS = tuple(View(f"{table.name}_mv", table, usage_rollup_select(table.name, "{source}"), API_METRICS)
                    for table in (USAGE_1D, USAGE_1H))

COUNT_OVER = "o11y_count_over"


def count_over_function(where: str = "") -> str:
    """`o11y_count_over(sumForEachMerge(complete_ms_over), 5000)`: requests slower than 5 s, without a magic index."""
    return (
        f"CREATE FUNCTION IF NOT EXISTS {COUNT_OVER}{where} AS (counts, ms) -> "
        f"if(indexOf({BOUNDS_ARRAY}, ms) = 0, "
        f"throwIf(1, '{COUNT_OVER}: the rollup counts only above {BOUNDS_ARRAY[1:-1]} ms'), "
        f"counts[indexOf({BOUNDS_ARRAY}, ms)])"
    )


__all__ = ["API_METRICS", "API_METRICS_1M", "API_METRICS_1M_MV", "COUNT_OVER", "DB", "USAGE_1D", "USAGE_1H", "USAGE_VIEWS"]
