"""ClickHouse DDL as numbered versions; `o11y migrate` applies the missing ones in order."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ingest import clickhouse_state_tables as state
from ingest.clickhouse_columns import comment_statements, count_over_function
from ingest.clickhouse_state_tables import DB
from runtime.clickhouse import ClickHouseClient
from schemas.latency_buckets import BOUNDS_ARRAY as BOUNDS
from schemas.usage_columns import ANONYMOUS_PREFIX, ANONYMOUS_USER, usage_rollup_columns, usage_rollup_select
from schemas.usage_columns import MEASURES as USAGE_MEASURES
from schemas.usage_columns import ROLLUPS as USAGE_ROLLUPS

log = logging.getLogger(__name__)

DEDUP = "non_replicated_deduplication_window = 1000"


@dataclass(frozen=True)
class Retention:
    raw_days: int = 90
    rollup_days: int = 400
    alert_days: int = 400
    dedup_horizon_s: int = 86_400

    def event_id_days(self) -> int:
        """Whole days of event ids kept for dedup: the horizon, rounded up, plus one (parts drop a day at a time)."""
        return -(-self.dedup_horizon_s // 86_400) + 1


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


def _raw_table(retention: Retention) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.api_metrics (
    event_id UUID,
    received_at DateTime64(3, 'UTC'),
    client_name LowCardinality(String),
    kilo_user_id String,
    organization_id Nullable(String),
    is_anonymous Bool,
    is_streaming Bool,
    user_byok Bool,
    mode LowCardinality(Nullable(String)),
    provider LowCardinality(String),
    requested_model LowCardinality(String),
    resolved_model LowCardinality(String),
    inference_provider LowCardinality(Nullable(String)),
    tools_available Array(LowCardinality(String)),
    tools_used Array(LowCardinality(String)),
    ttfb_ms UInt64,
    complete_request_ms UInt64,
    status_code UInt16,
    is_error Bool MATERIALIZED status_code >= 400,
    input_tokens Nullable(UInt64),
    output_tokens Nullable(UInt64),
    cache_write_tokens Nullable(UInt64),
    cache_hit_tokens Nullable(UInt64),
    total_tokens Nullable(UInt64),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64,
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
PARTITION BY toDate(received_at)
ORDER BY (client_name, provider, resolved_model, received_at)
TTL toDateTime(received_at) + INTERVAL {retention.raw_days} DAY
SETTINGS {DEDUP}, ttl_only_drop_parts = 1"""


LOADED_OFFSETS = f"""
CREATE TABLE IF NOT EXISTS {DB}.loaded_offsets (
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    max_offset SimpleAggregateFunction(max, UInt64)
) ENGINE = AggregatingMergeTree
ORDER BY (kafka_topic, kafka_partition)
SETTINGS {DEDUP}"""

LOADED_OFFSETS_MV = f"""
CREATE MATERIALIZED VIEW IF NOT EXISTS {DB}.loaded_offsets_mv TO {DB}.loaded_offsets AS
SELECT kafka_topic, kafka_partition, max(kafka_offset) AS max_offset
FROM {DB}.api_metrics GROUP BY kafka_topic, kafka_partition"""


def _event_ids(retention: Retention) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.event_ids (
    event_id UUID,
    client_name LowCardinality(String),
    received_at DateTime64(3, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
) ENGINE = MergeTree
PARTITION BY toDate(received_at)
ORDER BY event_id
TTL toDateTime(received_at) + INTERVAL {retention.event_id_days()} DAY
SETTINGS {DEDUP}, ttl_only_drop_parts = 1"""


EVENT_IDS_SELECT = (f"SELECT event_id, client_name, received_at, kafka_topic, kafka_partition, kafka_offset "
                    f"FROM {DB}.api_metrics")
EVENT_IDS_MV = f"CREATE MATERIALIZED VIEW IF NOT EXISTS {DB}.event_ids_mv TO {DB}.event_ids AS {EVENT_IDS_SELECT}"


def _alert_events(retention: Retention, current: bool = False) -> str:
    """Version 1's alert log; `current` adds what later versions added (for DDL generated whole, e.g. a cluster)."""
    later = ",\n    incident_id String,\n    silence_id String COMMENT '" + state.SILENCE_ID_COMMENT + "'" if current else ""
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.alert_events (
    event_time DateTime64(3, 'UTC'),
    tick DateTime('UTC'),
    decision LowCardinality(String),
    severity LowCardinality(String),
    slo LowCardinality(String),
    tier LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    client_name LowCardinality(String),
    threshold Float64,
    burn_long Float64,
    burn_short Float64,
    bad_long UInt64,
    total_long UInt64,
    bad_short UInt64,
    total_short UInt64,
    observed_p50_ms Nullable(Float64),
    observed_p90_ms Nullable(Float64),
    detail String{later}
) ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (event_time, slo, provider, model, client_name)
TTL toDateTime(event_time) + INTERVAL {retention.alert_days} DAY"""


def _rollup(retention: Retention) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.api_metrics_1m (
    minute DateTime('UTC'),
    client_name LowCardinality(String),
    provider LowCardinality(String),
    resolved_model LowCardinality(String),
    user_byok Bool,
    status_code UInt16,
    requests SimpleAggregateFunction(sum, UInt64),
    complete_ms_over AggregateFunction(sumForEach, Array(UInt64)),
    ttfb_ms_over AggregateFunction(sumForEach, Array(UInt64)),
    complete_ms_digest AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), UInt64),
    ttfb_ms_digest AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY toDate(minute)
ORDER BY (minute, client_name, provider, resolved_model, user_byok, status_code)
TTL minute + INTERVAL {retention.rollup_days} DAY
SETTINGS {DEDUP}, ttl_only_drop_parts = 1"""


ROLLUP_SELECT = f"""
SELECT
    toStartOfMinute(received_at) AS minute,
    client_name, provider, resolved_model, user_byok, status_code,
    count() AS requests,
    sumForEachState(arrayMap(b -> toUInt64(complete_request_ms > b), {BOUNDS})) AS complete_ms_over,
    sumForEachState(arrayMap(b -> toUInt64(ttfb_ms > b), {BOUNDS})) AS ttfb_ms_over,
    quantilesTDigestState(0.5, 0.9, 0.99)(complete_request_ms) AS complete_ms_digest,
    quantilesTDigestState(0.5, 0.9, 0.99)(ttfb_ms) AS ttfb_ms_digest
FROM {DB}.api_metrics
GROUP BY minute, client_name, provider, resolved_model, user_byok, status_code"""


def _usage_rollup(table: str, retention: Retention) -> str:
    columns = usage_rollup_columns(table)
    keys = [name for name in columns if name not in USAGE_MEASURES]
    time = keys[0]
    ddl = state.columns_ddl({name: (kind, meaning) for name, (kind, _, meaning) in columns.items()})
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.{table} (
{ddl}
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM({time})
ORDER BY ({', '.join(keys)})
TTL {time} + INTERVAL {retention.rollup_days} DAY
SETTINGS {DEDUP}, ttl_only_drop_parts = 1"""


def usage_select(table: str) -> str:
    return usage_rollup_select(table, f"{DB}.api_metrics")


def _usage_rollups(retention: Retention) -> tuple[str, ...]:
    statements: list[str] = []
    for table in USAGE_ROLLUPS:
        statements += [
            _usage_rollup(table, retention),
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {DB}.{table}_mv TO {DB}.{table} AS {usage_select(table)}",
            f"INSERT INTO {DB}.{table} {usage_select(table)}",
        ]
    return tuple(statements)


def migrations(retention: Retention) -> tuple[Migration, ...]:
    return (
        Migration(1, "raw events, loaded offsets, alert log", (
            _raw_table(retention), LOADED_OFFSETS, LOADED_OFFSETS_MV, _alert_events(retention),
        )),
        Migration(2, "per-minute rollup for the SLO evaluator, backfilled from the raw table", (
            _rollup(retention),
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {DB}.api_metrics_1m_mv TO {DB}.api_metrics_1m AS {ROLLUP_SELECT}",
            f"INSERT INTO {DB}.api_metrics_1m {ROLLUP_SELECT}",
        )),
        Migration(3, "loader progress, incidents and judged ticks; incident ids in the alert log", (
            state.loader_progress(retention.alert_days), state.incidents(retention.alert_days),
            state.alert_ticks(retention.alert_days), state.ALERT_EVENTS_INCIDENT,
        )),
        Migration(4, "column comments; o11y_count_over() reads the rollup's latency counts by threshold", (
            *comment_statements(), count_over_function(),
        )),
        Migration(5, "event ids of the dedup horizon, looked up by the loader so that each event is stored once", (
            _event_ids(retention), EVENT_IDS_MV,
            f"INSERT INTO {DB}.event_ids {EVENT_IDS_SELECT} "
            f"WHERE received_at >= now64(3) - INTERVAL {retention.event_id_days()} DAY",
        )),
        Migration(6, "silences, the audit of runtime SLO overrides, silence ids in the alert log", (
            state.silences(retention.alert_days), state.slo_override_changes(), state.ALERT_EVENTS_SILENCE,
        )),
        Migration(7, "daily and hourly usage rollups (requests, errors, tokens, latency sketches) for the read API, "
                     "backfilled", _usage_rollups(retention)),
        Migration(8, "signed-out page sessions, refused by every o11y api process", (state.revoked_sessions(),)),
        Migration(9, "anonymous users' ids without their IP address", (
            f"ALTER TABLE {DB}.api_metrics UPDATE kilo_user_id = '{ANONYMOUS_USER}' "
            f"WHERE (is_anonymous OR startsWith(kilo_user_id, '{ANONYMOUS_PREFIX}')) AND kilo_user_id != '{ANONYMOUS_USER}' "
            "SETTINGS mutations_sync = 1",
            *comment_statements(),
        )),
    )


def applied_version(client: ClickHouseClient) -> int:
    client.command(f"CREATE DATABASE IF NOT EXISTS {DB}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {DB}.schema_migrations (version UInt32, description String, "
        "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version"
    )
    return int(client.query(f"SELECT max(version) FROM {DB}.schema_migrations").result_rows[0][0])


def require_schema(client: ClickHouseClient) -> None:
    """Processes other than `o11y migrate` refuse to run on an older schema, with one line saying what to do."""
    latest = max(m.version for m in migrations(Retention()))
    current = applied_version(client)
    if current < latest:
        raise RuntimeError(f"ClickHouse schema {DB} is at version {current} of {latest}: run `o11y migrate` first")


def migrate(client: ClickHouseClient, retention: Retention = Retention(), target: int | None = None) -> list[int]:
    """Apply every version above the recorded one (up to `target`); return the versions applied."""
    current = applied_version(client)
    done: list[int] = []
    for migration in migrations(retention):
        if migration.version <= current or (target is not None and migration.version > target):
            continue
        for statement in migration.statements:
            client.command(statement)
        client.command(
            f"INSERT INTO {DB}.schema_migrations (version, description) VALUES ({migration.version}, %(d)s)",
            parameters={"d": migration.description},
        )
        log.info("applied ClickHouse schema version %d: %s", migration.version, migration.description)
        done.append(migration.version)
    if target is None or target >= 2:
        _apply_retention(client, retention, max([current, *done]))
    return done


def _apply_retention(client: ClickHouseClient, retention: Retention, version: int) -> None:
    """Retention follows the configuration on every run, not only when a table is created."""
    ttls = [(f"{DB}.api_metrics", f"toDateTime(received_at) + INTERVAL {retention.raw_days} DAY"),
            (f"{DB}.alert_events", f"toDateTime(event_time) + INTERVAL {retention.alert_days} DAY")]
    if version >= 2:
        ttls.append((f"{DB}.api_metrics_1m", f"minute + INTERVAL {retention.rollup_days} DAY"))
    if version >= 3:
        ttls += [(f"{DB}.incidents", f"toDateTime(updated_at) + INTERVAL {retention.alert_days} DAY"),
                 (f"{DB}.alert_ticks", f"toDateTime(evaluated_at) + INTERVAL {retention.alert_days} DAY"),
                 (f"{DB}.loader_progress", f"toDateTime(updated_at) + INTERVAL {retention.alert_days} DAY")]
    if version >= 5:
        ttls.append((f"{DB}.event_ids", f"toDateTime(received_at) + INTERVAL {retention.event_id_days()} DAY"))
    if version >= 7:
        ttls += [(f"{DB}.{table}", f"{time} + INTERVAL {retention.rollup_days} DAY")
                 for table, (time, _, _, _) in USAGE_ROLLUPS.items()]
    for table, ttl in ttls:
        client.command(f"ALTER TABLE {table} MODIFY TTL {ttl}", settings={"materialize_ttl_after_modify": 0})
