"""The usage rollup `o11y.usage_1h`: what it keeps per hour and route, and how raw events become its rows.

The same expressions fill the rollup (its materialized view) and answer a usage question straight from the raw table
(the minutes of a range that do not fill an hour, a user or an organization), so both always agree. Expressions name
the raw table `e` (`e.ttfb_ms`), so that a measure's alias is never taken for the column it sums.
"""

from __future__ import annotations

from schemas.latency_measures import DEFAULT_MIN_OUTPUT_TOKENS, tpot_counts, tpot_value

LEVELS = (0.5, 0.95, 0.99)
"""Latency percentiles the usage sketches answer."""
ACCURACY = 0.01
"""The sketches' relative accuracy: a percentile is within 1 % of the exact one (DDSketch)."""
SKETCH = f"quantilesDD({ACCURACY}, {', '.join(map(str, LEVELS))})"
SKETCH_TYPE = f"AggregateFunction({SKETCH}, Nullable(UInt64))"
TPOT_SKETCH_TYPE = f"AggregateFunction({SKETCH}, Nullable(Float64))"
"""Time per output token is a quotient (a fraction of a millisecond per token): its sketch takes Float64."""
_STATE, _MERGE = SKETCH.replace("quantilesDD", "quantilesDDState"), SKETCH.replace("quantilesDD", "quantilesDDMerge")
_SINCE_12 = "From schema version 12: hours and days rolled up before it have an empty sketch (no requests counted)."

SUCCESS = "e.status_code < 400"
ANONYMOUS_USER = "anonymous"
ANONYMOUS_PREFIX = "anon:"
MASKED_USER = f"if(e.is_anonymous OR startsWith(e.kilo_user_id, '{ANONYMOUS_PREFIX}'), '{ANONYMOUS_USER}', e.kilo_user_id)"
"""Anonymous users' ids carry their IP address: every answer shows them as `anonymous` (rows loaded before the
loader stored them so, too)."""


def stored_user(user_id: str, is_anonymous: bool) -> str | None:
    """What the raw table keeps of an anonymous user's id (`anon:<ip>` from the gateway): `anonymous`, never the
    address; None for a user who signed in, whose id is kept as sent."""
    return ANONYMOUS_USER if (is_anonymous or user_id.startswith(ANONYMOUS_PREFIX)) and user_id != ANONYMOUS_USER else None
UNCACHED_INPUT = ("toUInt64(greatest(toInt64(ifNull(e.input_tokens, 0)) - toInt64(ifNull(e.cache_hit_tokens, 0))"
                  " - toInt64(ifNull(e.cache_write_tokens, 0)), 0))")
HAS_TOKENS = "(e.input_tokens IS NOT NULL OR e.output_tokens IS NOT NULL OR e.total_tokens IS NOT NULL)"

MEASURES: dict[str, tuple[str, str, str]] = {
    "requests": ("SimpleAggregateFunction(sum, UInt64)", "count()", "Requests: aggregate with `sum(requests)`."),
    "errors_4xx": ("SimpleAggregateFunction(sum, UInt64)", "countIf(e.status_code >= 400 AND e.status_code < 500)",
                   "Requests answered 400–499."),
    "errors_5xx": ("SimpleAggregateFunction(sum, UInt64)", "countIf(e.status_code >= 500)", "Requests answered 500 or more."),
    "requests_with_tokens": ("SimpleAggregateFunction(sum, UInt64)", f"countIf{HAS_TOKENS}",
                             "Requests that reported any token count."),
    "input_tokens": ("SimpleAggregateFunction(sum, UInt64)", "sum(ifNull(e.input_tokens, 0))",
                     "Prompt tokens, cache reads and writes included."),
    "output_tokens": ("SimpleAggregateFunction(sum, UInt64)", "sum(ifNull(e.output_tokens, 0))", "Generated tokens."),
    "cache_write_tokens": ("SimpleAggregateFunction(sum, UInt64)", "sum(ifNull(e.cache_write_tokens, 0))",
                           "Prompt tokens written to the cache."),
    "cache_hit_tokens": ("SimpleAggregateFunction(sum, UInt64)", "sum(ifNull(e.cache_hit_tokens, 0))",
                         "Prompt tokens read from the cache."),
    "total_tokens": ("SimpleAggregateFunction(sum, UInt64)", "sum(ifNull(e.total_tokens, 0))",
                     "All tokens, as providers counted them."),
    "uncached_input_tokens": ("SimpleAggregateFunction(sum, UInt64)", f"sum({UNCACHED_INPUT})",
                              "Per request `input − cache_hit − cache_write` (at least 0): the tokens priced as input."),
    "ttfb_ms_sketch": (SKETCH_TYPE, f"{_STATE}(if({SUCCESS}, e.ttfb_ms, NULL))",
                       f"Time to first byte of successful requests: `{_MERGE}(ttfb_ms_sketch)` gives p50, p95, p99 within 1 %."),
    "complete_ms_sketch": (SKETCH_TYPE, f"{_STATE}(if({SUCCESS}, e.complete_request_ms, NULL))",
                           f"Complete time of successful requests: `{_MERGE}(complete_ms_sketch)`."),
    "ttft_ms_sketch": (SKETCH_TYPE, f"{_STATE}(if({SUCCESS} AND e.is_streaming, e.ttfb_ms, NULL))",
                       f"Time to first token: `ttfb_ms` of streamed successful requests, `{_MERGE}(ttft_ms_sketch)`. "
                       f"{_SINCE_12}"),
    "tpot_ms_sketch": (TPOT_SKETCH_TYPE,
                       f"{_STATE}(if({tpot_counts(DEFAULT_MIN_OUTPUT_TOKENS, 'e.')}, toFloat64({tpot_value('e.')}), NULL))",
                       "Time per output token (ms), `(complete_request_ms − ttfb_ms) / (output_tokens − 1)` of streamed "
                       f"successful requests with at least {DEFAULT_MIN_OUTPUT_TOKENS} output tokens: "
                       f"`{_MERGE}(tpot_ms_sketch)`; 1000 / TPOT is output tokens per second. {_SINCE_12}"),
}
"""Measure → (column type, expression over raw events, meaning)."""

ROLLUPS: dict[str, tuple[str, int, str, str]] = {
    "usage_1d": ("day", 86_400, "toStartOfDay(e.received_at)", "The day (UTC) the requests were received on."),
    "usage_1h": ("hour", 3600, "toStartOfHour(e.received_at)", "The hour (UTC) the requests were received in."),
}
"""Usage rollup table → (its time column, the seconds it spans, its expression over raw events, meaning); coarsest first."""

DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "client_name": ("LowCardinality(String)", "e.client_name", "The authenticated client (gateway)."),
    "provider": ("LowCardinality(String)", "e.provider", "The gateway's upstream provider id."),
    "resolved_model": ("LowCardinality(String)", "e.resolved_model", "The model that served the requests."),
    "inference_provider": ("LowCardinality(String)", "ifNull(e.inference_provider, '')",
                           "The provider that ran the inference; empty when unknown."),
    "user_byok": ("Bool", "e.user_byok", "True for requests on the user's own provider key."),
}
"""Key column → (type, expression over raw events, meaning)."""


def usage_rollup_columns(table: str) -> dict[str, tuple[str, str, str]]:
    """Column → (type, expression over raw events, meaning) of one usage rollup: its time column first."""
    time, _, expr, meaning = ROLLUPS[table]
    return {time: ("DateTime('UTC')", expr, meaning), **DIMENSIONS, **MEASURES}


def usage_rollup_select(table: str, source: str) -> str:
    """The materialized view's SELECT of `table` over `source` (the raw table, or its local table on a cluster)."""
    columns = usage_rollup_columns(table)
    keys = [name for name in columns if name not in MEASURES]
    selected = ",\n    ".join(f"{expr} AS {name}" for name, (_, expr, _) in columns.items())
    return f"\nSELECT\n    {selected}\nFROM {source} AS e\nGROUP BY {', '.join(keys)}"
