"""What every event type's raw table has: the message's envelope first, the event's stored fields, where in the log the
row came from last; and the table of a type declared with `schemas.event_kinds` (pure declarations)."""

from __future__ import annotations

from collections.abc import Mapping

from schemas.event_kinds import StoredField
from storage.table import DEDUP, Column, Retention, Table

ENVELOPE = (
    Column("event_id", "UUID", "Unique per accepted event, assigned by ingest."),
    Column("received_at", "DateTime64(3, 'UTC')", "When ingest received the event (UTC)."),
    Column("client_name", "LowCardinality(String)", "The authenticated client (gateway)."),
)
SOURCE = (
    Column("kafka_topic", "LowCardinality(String)", "The Kafka topic the event was read from."),
    Column("kafka_partition", "UInt32", "Its partition."),
    Column("kafka_offset", "UInt64", "Its offset: with topic and partition, where in the log the row came from."),
    Column("loaded_at", "DateTime64(3, 'UTC')", "When the loader inserted the row (UTC).", "DEFAULT now64(3)"),
)


def raw_ttl(retention: Retention) -> str:
    return f"toDateTime(received_at) + INTERVAL {retention.raw_days} DAY"


def raw_table(name: str, about: str, fields: tuple[StoredField, ...], keys: tuple[str, ...], since: int,
              derived: Mapping[str, tuple[Column, ...]] = {}) -> Table:
    """One row per event of a type: its stored fields as declared (`derived`: columns ClickHouse computes, after the
    field they come from), sorted by client, `keys` and time, partitioned by day, kept `O11Y_CLICKHOUSE_RAW_TTL_DAYS`,
    with the same dedup window as every table the loader fills."""
    columns = [*ENVELOPE]
    for field in fields:
        columns += [Column(field.name, field.type, field.comment), *derived.get(field.name, ())]
    return Table(
        name, about, (*columns, *SOURCE), engine="MergeTree", order_by=f"(client_name, {', '.join(keys)}, received_at)",
        since=since, partition_by="toDate(received_at)", ttl=raw_ttl, settings=f"{DEDUP}, ttl_only_drop_parts = 1",
        sharding=f"cityHash64(client_name, {', '.join(keys)})",
    )
