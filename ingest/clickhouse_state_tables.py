"""DDL of the state tables (schema version 3): loader progress, incidents and judged ticks."""

from __future__ import annotations

DB = "o11y"


def loader_progress(ttl_days: int) -> str:
    """Per topic, partition and consumer group: when the loader last had everything the broker held, and its lag."""
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.loader_progress (
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    consumer_group LowCardinality(String),
    reached_end_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    updated_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    lag AggregateFunction(argMax, UInt64, DateTime64(3, 'UTC'))
) ENGINE = AggregatingMergeTree
ORDER BY (kafka_topic, kafka_partition, consumer_group)
TTL toDateTime(updated_at) + INTERVAL {ttl_days} DAY"""


def incidents(ttl_days: int) -> str:
    """One row per revision of an incident; the highest revision is its state."""
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.incidents (
    incident_id String,
    revision UInt32,
    updated_at DateTime64(3, 'UTC'),
    severity LowCardinality(String),
    slo LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    client_name LowCardinality(String),
    status LowCardinality(String),
    tier LowCardinality(String),
    started_at DateTime('UTC'),
    opened_at DateTime('UTC'),
    judged_at DateTime('UTC'),
    resolved_at Nullable(DateTime('UTC')),
    clear_ticks UInt16,
    reopened Array(DateTime('UTC')),
    notified Bool,
    resolve_notified Bool,
    bad_events UInt64,
    total_events UInt64,
    peak_burn Float64
) ENGINE = ReplacingMergeTree(revision)
ORDER BY incident_id
TTL toDateTime(updated_at) + INTERVAL {ttl_days} DAY"""


def alert_ticks(ttl_days: int) -> str:
    """Every tick of the evaluator: which minute it judged (or why not), how fresh the data was, how long it took."""
    return f"""
CREATE TABLE IF NOT EXISTS {DB}.alert_ticks (
    tick DateTime('UTC'),
    evaluated_at DateTime64(3, 'UTC'),
    outcome LowCardinality(String),
    watermark Nullable(DateTime64(3, 'UTC')),
    duration_s Float64,
    decisions UInt32,
    evaluator String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(evaluated_at)
ORDER BY (tick, evaluated_at)
TTL toDateTime(evaluated_at) + INTERVAL {ttl_days} DAY"""


ALERT_EVENTS_INCIDENT = f"ALTER TABLE {DB}.alert_events ADD COLUMN IF NOT EXISTS incident_id String"
