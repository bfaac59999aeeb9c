"""The loader's group member on confluent-kafka (librdkafka), behind the same `Consumer` port as kafka-python's.

Eager rebalancing (range assignor), as the loader expects: a rebalance revokes every partition, then assigns. The
callbacks run on the loader's thread, inside `poll`. Its records have the attributes of `PolledRecord`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ingest.kafka.ports import Partition, RebalanceListener
from runtime.settings import Settings

log = logging.getLogger(__name__)


class Record(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


class ConfluentConsumer:
    def __init__(self, settings: Settings) -> None:
        from confluent_kafka import Consumer

        self._consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap_servers or "",
            "client.id": "o11y-loader",
            "group.id": settings.loader_group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "range",
            "session.timeout.ms": settings.loader_session_timeout_ms,
            "heartbeat.interval.ms": settings.loader_session_timeout_ms // 3,
            "max.poll.interval.ms": settings.loader_max_poll_interval_ms,
            "fetch.wait.max.ms": 100,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "socket.timeout.ms": 20_000,
            "logger": logging.getLogger("ingest.librdkafka"),
        })

    @staticmethod
    def _theirs(partition: Partition, offset: int | None = None) -> Any:
        from confluent_kafka import TopicPartition

        return TopicPartition(*partition) if offset is None else TopicPartition(*partition, offset)

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener | None = None) -> None:
        def ours(partitions: list[Any]) -> set[Partition]:
            return {Partition(p.topic, p.partition) for p in partitions}

        def assigned(_: Any, partitions: list[Any]) -> None:
            if listener is not None:
                listener.on_partitions_assigned(ours(partitions))

        def revoked(_: Any, partitions: list[Any]) -> None:
            if listener is not None:
                listener.on_partitions_revoked(ours(partitions))

        self._consumer.subscribe(list(topics), on_assign=assigned, on_revoke=revoked, on_lost=revoked)

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> Mapping[Partition, list[Record]]:
        by_partition: dict[tuple[str, int], list[Record]] = {}
        polled: list[Any] = self._consumer.consume(num_messages=max_records or 500, timeout=timeout_ms / 1000)
        for message in polled:
            error = message.error()
            if error is not None:
                log.debug("consume: %s", error.name())
                continue
            topic, partition = message.topic(), message.partition()
            records = by_partition.get((topic, partition))
            if records is None:
                records = by_partition[(topic, partition)] = []
            records.append(Record(topic, partition, message.offset(), message.key(), message.value(), message.timestamp()[1]))
        return {Partition(*where): records for where, records in by_partition.items()}

    def seek(self, partition: Partition, offset: int) -> None:
        self._consumer.seek(self._theirs(partition, offset))

    def seek_to_beginning(self, *partitions: Partition) -> None:
        from confluent_kafka import OFFSET_BEGINNING

        for tp in partitions:
            self._consumer.seek(self._theirs(tp, OFFSET_BEGINNING))

    def assignment(self) -> set[Partition]:
        return {Partition(p.topic, p.partition) for p in self._consumer.assignment()}

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        self._consumer.commit(offsets=[self._theirs(p, offset) for p, offset in offsets.items()], asynchronous=False)

    def committed(self, partition: Partition) -> int | None:
        [found] = self._consumer.committed([self._theirs(partition)], timeout=10)
        return int(found.offset) if found.offset >= 0 else None

    def highwater(self, partition: Partition) -> int | None:
        _, high = self._consumer.get_watermark_offsets(self._theirs(partition), cached=True)
        return int(high) if high >= 0 else None

    def beginning_offsets(self, partitions: Sequence[Partition],
                          timeout_ms: int | None = None) -> Mapping[Partition, int]:
        from confluent_kafka import OFFSET_BEGINNING

        return self._offsets(partitions, OFFSET_BEGINNING, timeout_ms)

    def end_offsets(self, partitions: Sequence[Partition],
                    timeout_ms: int | None = None) -> Mapping[Partition, int]:
        from confluent_kafka import OFFSET_END

        return self._offsets(partitions, OFFSET_END, timeout_ms)

    def _offsets(self, partitions: Sequence[Partition], which: int,
                 timeout_ms: int | None) -> Mapping[Partition, int]:
        """All partitions in one request: the consumer's connection answers only after the fetch waiting there (up to
        fetch.wait.max.ms), so asking partition by partition held the loader 0.6 s of every progress measurement."""
        timeout = (timeout_ms or 5000) / 1000
        found = self._consumer.offsets_for_times([self._theirs(tp, which) for tp in partitions], timeout=timeout)
        if unknown := [f"{theirs.partition}: {theirs.error}" for theirs in found if theirs.error or theirs.offset < 0]:
            raise RuntimeError(f"offsets unknown for {unknown}")
        return {Partition(theirs.topic, theirs.partition): int(theirs.offset) for theirs in found}

    def close(self, autocommit: bool = True) -> None:
        self._consumer.close()
