"""The loader's bookkeeping: the highest offset loaded, the event ids of the dedup horizon, progress per partition."""

from __future__ import annotations

from storage.events import API_METRICS
from storage.table import DEDUP, Column, Retention, Table, View

LOADED_OFFSETS = Table(
    "loaded_offsets", "Per topic and partition, the highest offset in ClickHouse: where a new owner of a partition goes on.",
    (
        Column("kafka_topic", "LowCardinality(String)", "The Kafka topic."),
        Column("kafka_partition", "UInt32", "Its partition."),
        Column("max_offset", "SimpleAggregateFunction(max, UInt64)", "The highest offset loaded: read with `max(max_offset)`."),
    ),
    engine="AggregatingMergeTree", order_by="(kafka_topic, kafka_partition)", since=1, settings=DEDUP,
    sharding="kafka_partition",
)
_LOADED_OFFSETS = """
SELECT kafka_topic, kafka_partition, max(kafka_offset) AS max_offset
FROM {source} GROUP BY kafka_topic, kafka_partition"""
LOADED_OFFSETS_MV = View("loaded_offsets_mv", LOADED_OFFSETS, _LOADED_OFFSETS, API_METRICS)

EVENT_IDS = Table(
    "event_ids", "The ids of the events of the dedup horizon, with where they came from: an event already here is not "
                 "stored again.",
    (
        Column("event_id", "UUID", "The event's id."),
        Column("client_name", "LowCardinality(String)", "The client that sent it: ids are unique per client."),
        Column("received_at", "DateTime64(3, 'UTC')", "When ingest received it (UTC)."),
        Column("kafka_topic", "LowCardinality(String)", "The Kafka topic it was loaded from."),
        Column("kafka_partition", "UInt32", "Its partition."),
        Column("kafka_offset", "UInt64", "Its offset."),
    ),
    engine="MergeTree", order_by="event_id", since=5, partition_by="toDate(received_at)",
    ttl=lambda r: f"toDateTime(received_at) + INTERVAL {r.event_id_days()} DAY",
    settings=f"{DEDUP}, ttl_only_drop_parts = 1",
)
_EVENT_IDS = "SELECT event_id, client_name, received_at, kafka_topic, kafka_partition, kafka_offset FROM {source}"
EVENT_IDS_MV = View("event_ids_mv", EVENT_IDS, _EVENT_IDS, API_METRICS)


def bookkeeping_views(raw: Table) -> tuple[View, View]:
    """What every raw table feeds besides its rollups, for the loader that fills it: the highest offset loaded per
    partition and the event ids of the dedup horizon (the request table's were the first, under their own names)."""
    if raw == API_METRICS:
        return LOADED_OFFSETS_MV, EVENT_IDS_MV
    return (View(f"loaded_offsets_{raw.name}_mv", LOADED_OFFSETS, _LOADED_OFFSETS, raw),
            View(f"event_ids_{raw.name}_mv", EVENT_IDS, _EVENT_IDS, raw))


def event_ids_backfill(retention: Retention) -> str:
    """The ids of the horizon from the raw rows already there (when the table is added)."""
    return f"{EVENT_IDS_MV.backfill()} WHERE received_at >= now64(3) - INTERVAL {retention.event_id_days()} DAY"


LOADER_PROGRESS = Table(
    "loader_progress", "Per topic, partition and consumer group: when the loader last had everything the broker held, "
                       "and its lag (the stale-data guard's watermark).",
    (
        Column("kafka_topic", "LowCardinality(String)", "The Kafka topic."),
        Column("kafka_partition", "UInt32", "Its partition."),
        Column("consumer_group", "LowCardinality(String)", "The loader's consumer group."),
        Column("reached_end_at", "SimpleAggregateFunction(max, DateTime64(3, 'UTC'))",
               "`max`: the last time everything the broker held was loaded."),
        Column("updated_at", "SimpleAggregateFunction(max, DateTime64(3, 'UTC'))", "`max`: the last time progress was recorded."),
        Column("lag", "AggregateFunction(argMax, UInt64, DateTime64(3, 'UTC'))",
               "Messages behind at the last record: `argMaxMerge(lag)`."),
    ),
    engine="AggregatingMergeTree", order_by="(kafka_topic, kafka_partition, consumer_group)", since=3,
    ttl=lambda r: f"toDateTime(updated_at) + INTERVAL {r.alert_days} DAY", sharding="kafka_partition",
)
