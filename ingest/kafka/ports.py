"""What the loader needs from a Kafka client, in our own types: each client's adapter translates to and from its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol


class Partition(NamedTuple):
    """One partition of a topic."""

    topic: str
    number: int


class PolledRecord(Protocol):
    """A polled message: what both clients' records already are, so none is copied."""

    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def timestamp(self) -> int | None:
        """The broker's timestamp in ms since the epoch; None or negative: unknown."""
        ...


class RebalanceListener(Protocol):
    """Called back from inside `Consumer.poll` (or `close`), on whichever thread the client runs it."""

    def on_partitions_revoked(self, revoked: set[Partition]) -> None: ...
    def on_partitions_assigned(self, assigned: set[Partition]) -> None: ...


class Consumer(Protocol):
    """A group member. Not thread-safe: every call comes from the loader's own thread.

    `poll`, `commit`, `committed`, `beginning_offsets` and `end_offsets` may block up to their timeouts and raise on
    broker errors; `seek`, `seek_to_beginning`, `assignment` and `highwater` only touch local state.
    `commit` takes, per partition, the next offset to read. (No pause/resume: see `Keepalive`.)
    """

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener | None = None) -> None: ...
    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> Mapping[Partition, Sequence[PolledRecord]]: ...
    def seek(self, partition: Partition, offset: int) -> None: ...
    def seek_to_beginning(self, *partitions: Partition) -> None: ...
    def assignment(self) -> set[Partition]: ...
    def commit(self, offsets: Mapping[Partition, int]) -> None: ...
    def committed(self, partition: Partition) -> int | None: ...
    def highwater(self, partition: Partition) -> int | None: ...
    def beginning_offsets(self, partitions: Sequence[Partition], timeout_ms: int | None = None) -> Mapping[Partition, int]: ...
    def end_offsets(self, partitions: Sequence[Partition], timeout_ms: int | None = None) -> Mapping[Partition, int]: ...
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
