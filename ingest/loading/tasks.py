"""The functions the generic steps are given to load events: decode, dead-letter, insert, count, commit."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from ingest.kafka.dead_letters import DeadLetters
from ingest.kafka.ports import Consumer, Partition, PolledRecord
from ingest.loading.clickhouse_sink import ClickHouseSink, Inserted
from ingest.loading.metrics import LoaderMetrics
from ingest.loading.rows import Row, RowDecoder
from ingest.loading.steps.batch import Batch
from ingest.loading.steps.message import Message

log = logging.getLogger(__name__)


def decode(decode_row: RowDecoder, topic: str, max_skew: timedelta, message: Message[PolledRecord]) -> Row:
    """Raises `InvalidMessage` (from the event type's `decode_row`) for a message that can never be loaded."""
    record = message.payload
    return decode_row(record.value, topic, message.partition, message.offset, record.timestamp, max_skew)


def dead_letter(letters: DeadLetters, topic: str, metrics: LoaderMetrics, message: Message[PolledRecord],
                reason: str) -> None:
    """Queue the message for `<topic>-dlq` with its key, value and timestamp (flushed before the next commit)."""
    record = message.payload
    source = f"{topic}/{message.partition}/{message.offset}"
    timestamp = record.timestamp if record.timestamp is not None and record.timestamp >= 0 else None
    letters.send(record.key, record.value, reason, source, timestamp)
    metrics.dead_letters.inc()
    log.warning("dead-lettered %s: %s", source, reason)


def row_bytes(row: Row) -> int:
    return len(row.line)


def insert(sink: ClickHouseSink, topic: str, batch: Batch[Row], abandoned: threading.Event) -> Inserted:
    """Raises `InsertFailed`: the same batch is inserted again later, with the same dedup tokens."""
    return sink.insert(topic, batch.payloads, abandoned.is_set)


def count(metrics: LoaderMetrics, batch: Batch[Row], outcome: Inserted | Exception) -> None:
    """Count an insert that ended, on the loop's thread: rows loaded and left out, or a retry to come."""
    if isinstance(outcome, Exception):
        metrics.insert_retries.inc()
        return
    metrics.rows_loaded.inc(len(batch.payloads) - outcome.left_out)
    metrics.duplicates.inc(outcome.left_out)
    metrics.batch_rows.observe(len(batch.payloads))
    metrics.insert_latency.observe(outcome.seconds)


def commit(consumer: Consumer, letters: DeadLetters, topic: str, metrics: LoaderMetrics, offsets: dict[int, int]) -> None:
    """The dead letters first (durable before their offsets move), then the offsets; then the lag they leave."""
    letters.flush()
    committed = {Partition(topic, p): offset for p, offset in offsets.items()}
    consumer.commit(committed)
    for partition, offset in committed.items():
        highwater = consumer.highwater(partition)
        if highwater is not None:
            metrics.lag(partition.number).set(max(0, highwater - offset))
