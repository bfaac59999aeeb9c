"""The loader's group member on kafka-python, behind the `Consumer` port: its types in, ours out; records as they come."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from ingest.kafka.ports import Partition, PolledRecord, RebalanceListener


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python ships no types; subscribe() checks the class
    """Runs on the consumer's I/O thread, inside `poll` or `close`."""

    def __init__(self, listener: RebalanceListener) -> None:
        self._listener = listener

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._listener.on_partitions_revoked({Partition(*tp) for tp in revoked})

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._listener.on_partitions_assigned({Partition(*tp) for tp in assigned})


class KafkaPythonConsumer:
    """Wraps a `KafkaConsumer` (eager rebalancing by default, as the loader expects)."""

    def __init__(self, consumer: KafkaConsumer) -> None:
        self._consumer = consumer

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener | None = None) -> None:
        self._consumer.subscribe(list(topics), listener=None if listener is None else _Listener(listener))

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> Mapping[Partition, Sequence[PolledRecord]]:
        polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return {Partition(*tp): records for tp, records in polled.items()}

    def seek(self, partition: Partition, offset: int) -> None:
        self._consumer.seek(TopicPartition(*partition), offset)

    def seek_to_beginning(self, *partitions: Partition) -> None:
        self._consumer.seek_to_beginning(*(TopicPartition(*p) for p in partitions))

    def assignment(self) -> set[Partition]:
        return {Partition(*tp) for tp in self._consumer.assignment()}

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        self._consumer.commit({TopicPartition(*p): OffsetAndMetadata(offset, "", -1) for p, offset in offsets.items()})

    def committed(self, partition: Partition) -> int | None:
        found = self._consumer.committed(TopicPartition(*partition))
        return None if found is None else int(found)

    def highwater(self, partition: Partition) -> int | None:
        found = self._consumer.highwater(TopicPartition(*partition))
        return None if found is None else int(found)

    def beginning_offsets(self, partitions: Sequence[Partition], timeout_ms: int | None = None) -> Mapping[Partition, int]:
        found = self._consumer.beginning_offsets([TopicPartition(*p) for p in partitions], timeout_ms=timeout_ms)
        return {Partition(*tp): int(offset) for tp, offset in found.items()}

    def end_offsets(self, partitions: Sequence[Partition], timeout_ms: int | None = None) -> Mapping[Partition, int]:
        found = self._consumer.end_offsets([TopicPartition(*p) for p in partitions], timeout_ms=timeout_ms)
        return {Partition(*tp): int(offset) for tp, offset in found.items()}

    def close(self, autocommit: bool = True) -> None:
        self._consumer.close(autocommit=autocommit)
