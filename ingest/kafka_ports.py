"""What the loader needs from a Kafka client, written once: kafka-python's consumer and producer fit these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata


class Consumer(Protocol):
    """A group member. Not thread-safe: every call comes from the loader's own thread.

    `poll`, `commit`, `committed`, `position`, `beginning_offsets` and `end_offsets` may block up to their timeouts and raise on
    broker errors; `seek`, `seek_to_beginning`, `assignment` and `highwater` only touch local state.
    (No pause/resume: see Loader._keep_membership.)
    """

    def subscribe(self, topics: Sequence[str], listener: Any = None) -> None: ...
    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> Mapping[TopicPartition, list[Any]]: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    def seek_to_beginning(self, *partitions: TopicPartition) -> None: ...
    def assignment(self) -> set[TopicPartition]: ...
    def commit(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None: ...
    def committed(self, partition: TopicPartition) -> int | None: ...
    def position(self, partition: TopicPartition, timeout_ms: int | None = None) -> int | None: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...
    def beginning_offsets(
        self, partitions: Sequence[TopicPartition], timeout_ms: int | None = None
    ) -> Mapping[TopicPartition, int]: ...
    def end_offsets(
        self, partitions: Sequence[TopicPartition], timeout_ms: int | None = None
    ) -> Mapping[TopicPartition, int]: ...
    def close(self, autocommit: bool = True) -> None: ...


class Producer(Protocol):
    """Sends asynchronously: `send` returns a future whose `is_done`/`succeeded()` tell the outcome after `flush`."""

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: Any = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> Any: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def close(self, timeout: float | None = None) -> None: ...
