"""What each analyst-facing column means: ClickHouse column comments (`DESCRIBE` shows them) and the README's tables."""

from __future__ import annotations

from ingest.clickhouse_state_tables import DB
from schemas.latency_buckets import BOUNDS_ARRAY

COLUMN_COMMENTS: dict[str, dict[str, str]] = {
    "api_metrics": {
        "event_id": "Unique per accepted event, assigned by ingest.",
        "received_at": "When ingest received the event (UTC).",
        "client_name": "The authenticated client (gateway).",
        "kilo_user_id": "The user; `anonymous` for every anonymous user (their ids carry the IP address).",
        "organization_id": "The user's organization; NULL when the event had none.",
        "is_anonymous": "True when the user was not signed in.",
        "is_streaming": "True when the response was streamed.",
        "user_byok": "True when the user brought their own provider key.",
        "mode": "The client mode (e.g. `build`); NULL when not sent.",
        "provider": "The gateway's upstream provider id (e.g. `openrouter`).",
        "requested_model": "The model the request asked for.",
        "resolved_model": "The model that served the request.",
        "inference_provider": "The provider that ran the inference; NULL when unknown.",
        "tools_available": "Tools offered in the request (`function:<name>`, …).",
        "tools_used": "Tool calls made in the request's history.",
        "ttfb_ms": "Milliseconds to the first byte of the upstream response.",
        "complete_request_ms": "Milliseconds until the response was complete.",
        "status_code": "Upstream HTTP status.",
        "input_tokens": "Prompt tokens; NULL when not reported.",
        "output_tokens": "Generated tokens; NULL when not reported.",
        "cache_write_tokens": "Prompt tokens written to the cache; NULL when not reported.",
        "cache_hit_tokens": "Prompt tokens read from the cache; NULL when not reported.",
        "total_tokens": "All tokens of the request; NULL when not reported.",
        "kafka_topic": "The Kafka topic the event was read from.",
        "kafka_partition": "Its partition.",
        "kafka_offset": "Its offset: with topic and partition, where in the log the row came from.",
        "loaded_at": "When the loader inserted the row (UTC).",
        "is_error": "`status_code >= 400`. Select it by name: `SELECT *` leaves it out.",
    },
    "api_metrics_1m": {
        "minute": "`toStartOfMinute(received_at)`.",
        "client_name": "The authenticated client (gateway).",
        "provider": "The gateway's upstream provider id.",
        "resolved_model": "The model that served the requests.",
        "user_byok": "True for requests on the user's own provider key.",
        "status_code": "Upstream HTTP status, kept so that any error definition can be computed exactly.",
        "requests": "Request count: aggregate with `sum(requests)`.",
        "complete_ms_over": "Requests slower (complete) than each latency bound: "
                            "`o11y_count_over(sumForEachMerge(complete_ms_over), ms)`. Exact.",
        "complete_ms_digest": "Sketch of the complete latency: "
                              "`quantilesTDigestMerge(0.5, 0.9, 0.99)(complete_ms_digest)`.",
        "ttfb_ms_over": "Requests slower (first byte) than each latency bound: "
                        "`o11y_count_over(sumForEachMerge(ttfb_ms_over), ms)`. Exact.",
        "ttfb_ms_digest": "Sketch of the time to first byte: `quantilesTDigestMerge(0.5, 0.9, 0.99)(ttfb_ms_digest)`.",
    },
}
"""Table → column → meaning. A test keeps `DESCRIBE`, this and the README's column tables equal."""



def count_over_function(cluster: str | None = None) -> str:
    """`o11y_count_over(sumForEachMerge(complete_ms_over), 5000)`: requests slower than 5 s, without a magic index."""
    where = f" ON CLUSTER '{cluster}'" if cluster else ""
    return (
        f"CREATE FUNCTION IF NOT EXISTS o11y_count_over{where} AS (counts, ms) -> "
        f"if(indexOf({BOUNDS_ARRAY}, ms) = 0, "
        f"throwIf(1, 'o11y_count_over: the rollup counts only above {BOUNDS_ARRAY[1:-1]} ms'), "
        f"counts[indexOf({BOUNDS_ARRAY}, ms)])"
    )


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def comment_statements(cluster: str | None = None, suffix: str = "") -> tuple[str, ...]:
    """One `ALTER TABLE … COMMENT COLUMN` per table (`{table}{suffix}`), every column of it at once."""
    where = f" ON CLUSTER '{cluster}'" if cluster else ""
    return tuple(
        f"ALTER TABLE {DB}.{table}{suffix}{where} "
        + ", ".join(f"COMMENT COLUMN {column} {_quoted(text)}" for column, text in columns.items())
        for table, columns in COLUMN_COMMENTS.items()
    )
