"""The loader's steps: decode → batch → insert on a worker thread → commit.

Each step takes the next one as its last argument, so a chain reads back to front (`build_chain`); the loader
builds a fresh chain on every assignment. Every step keeps the one contract written on `Step`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple, Protocol, TypeVar

from ingest.clickhouse_sink import Inserted, InsertFailed
from ingest.loader_batch import Batch
from ingest.loader_metrics import LoaderMetrics
from ingest.loader_rows import DEFAULT_MAX_SKEW, InvalidMessage, Row, decode_row
from ingest.poison_guard import PoisonGuard

log = logging.getLogger(__name__)

T_contra = TypeVar("T_contra", contravariant=True)


class MessageRejected(Exception):
    """Backpressure: the step cannot take this item now. Nothing of it was kept; offer the same item again later."""


class Step(Protocol[T_contra]):
    """One step of the chain. Every call comes from the loader's own thread.

    - `submit(item)` takes one item and hands on what is ready. It waits on nothing (no broker, no ClickHouse:
      a dead letter is only queued). It raises `MessageRejected` when the step cannot take the item now; the
      caller offers the same item again after a `poll`. `Decode` raises `PoisonLimit` for the message that
      crosses the dead-letter limit: that message was not taken.
    - `poll()` moves finished work on (an insert that landed goes to the commit) and starts what is due (a batch
      old enough to seal, a retry whose backoff has passed). It never waits for the insert thread; the commit
      step makes its broker calls here, bounded by the client's request timeout.
    - `join(timeout_s)` hands everything held to the end of the chain and waits, at most `timeout_s` seconds,
      until it is inserted and committed; True when nothing is held any more.
    - `terminate()` drops everything held at once (the partitions were revoked: their next owner reads again
      what was not committed). An insert already running on the worker thread still finishes there.
    - `held_from(partition)` is the first offset of `partition` held by this step or a later one and not yet
      in ClickHouse, or None.
    """

    def submit(self, item: T_contra) -> None: ...
    def poll(self) -> None: ...
    def join(self, timeout_s: float) -> bool: ...
    def terminate(self) -> None: ...
    def held_from(self, partition: int) -> int | None: ...


class Message(Protocol):
    """A Kafka message as the chain sees it: what both clients' polled records already are, so none is copied."""

    @property
    def partition(self) -> int: ...
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


class Decoded(NamedTuple):
    partition: int
    offset: int
    row: Row | None
    """None: the message was dead-lettered; its offset still counts as handled."""


class Backoff:
    """When to try a failing dependency again: doubling from `initial_s` up to `max_s`. Survives chain rebuilds."""

    def __init__(
        self, what: str, initial_s: float = 0.5, max_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.what, self._initial_s, self._max_s, self._clock = what, initial_s, max_s, clock
        self._delay_s = 0.0
        self._retry_at = 0.0
        self.failing: str | None = None
        """Why the last attempt failed, while it keeps failing."""

    def failed(self, err: Exception) -> None:
        self._delay_s = min(self._max_s, max(self._initial_s, self._delay_s * 2))
        self._retry_at = self._clock() + self._delay_s
        if self.failing is None:
            log.error("%s failing, loading paused, retrying every ≤%.0fs: %s", self.what, self._max_s, err)
        self.failing = str(err)

    def succeeded(self) -> None:
        if self.failing is not None:
            log.info("%s back, loading resumed", self.what)
        self.failing = None
        self._delay_s = self._retry_at = 0.0

    def due(self) -> bool:
        return self._clock() >= self._retry_at

    def wait_s(self) -> float:
        return max(0.0, self._retry_at - self._clock())


def _sleep_until_due(backoff: Backoff, deadline: float) -> None:
    time.sleep(max(0.0, min(max(backoff.wait_s(), 0.01), deadline - time.monotonic(), 0.5)))


class Decode:
    """Message → row. An invalid message goes to the dead letters (once, even when the next step rejects it and it
    is offered again) unless it crosses the dead-letter limit."""

    def __init__(
        self,
        topic: str,
        guard: PoisonGuard,
        dead_letter: Callable[[Message, str], None],
        next_step: Step[Decoded],
        max_skew: timedelta = DEFAULT_MAX_SKEW,
    ) -> None:
        self._topic, self._guard, self._dead_letter, self._next, self._max_skew = topic, guard, dead_letter, next_step, max_skew
        self._rejected: Decoded | None = None

    def submit(self, item: Message) -> None:
        decoded = self._rejected
        if decoded is None or (decoded.partition, decoded.offset) != (item.partition, item.offset):
            decoded = self._decode(item)
        self._rejected = decoded
        self._next.submit(decoded)
        self._rejected = None

    def _decode(self, message: Message) -> Decoded:
        try:
            row = decode_row(message.value, self._topic, message.partition, message.offset, message.timestamp, self._max_skew)
        except InvalidMessage as invalid:
            self._guard.check(self._topic, message.partition, message.offset, invalid=True)
            self._dead_letter(message, invalid.reason)
            return Decoded(message.partition, message.offset, None)
        self._guard.check(self._topic, message.partition, message.offset, invalid=False)
        return Decoded(message.partition, message.offset, row)

    def poll(self) -> None:
        self._next.poll()

    def join(self, timeout_s: float) -> bool:
        return self._next.join(timeout_s)

    def terminate(self) -> None:
        self._rejected = None
        self._next.terminate()

    def held_from(self, partition: int) -> int | None:
        return self._next.held_from(partition)


@dataclass(frozen=True)
class BatchLimits:
    rows: int = 50_000
    age_s: float = 1.0
    bytes: int = 16 * 1024 * 1024


LARGEST_ROW_BYTES = 96 * 1024
"""An event is at most 64 KiB on the wire (O11Y_HTTP_MAX_BODY_BYTES); its row adds the message's own fields."""


class Reduce:
    """Rows → batches, cut by rows, bytes or age, and exactly at the end of a replay range.

    A replay range (see `ingest.loader.start_of`) is a partition's range that landed in ClickHouse but was never
    committed: it is inserted again as the very same block, so its dedup token drops what landed. Its batch is cut
    right after the range's last offset and not by age while the range is open. One sealed batch waits here while
    the next step is busy; with it waiting and the filling batch full, `submit` rejects.
    """

    def __init__(
        self, topic: str, limits: BatchLimits, clock: Callable[[], float], replay_until: Mapping[int, int], next_step: Step[Batch]
    ) -> None:
        self._topic, self._limits, self._clock, self._next = topic, limits, clock, next_step
        self._replay_until = dict(replay_until)
        self._batch = self._new()
        self._sealed: Batch | None = None
        self._cut = False
        self._row_bytes = LARGEST_ROW_BYTES

    def _new(self) -> Batch:
        return Batch(self._topic, self._limits.rows, self._limits.age_s, self._limits.bytes)

    def submit(self, item: Decoded) -> None:
        if self._cut or self._batch.full():
            self._seal()
            if self._cut or self._batch.full():
                raise MessageRejected
        self._batch.take(item.partition, item.offset, item.row, self._clock())
        if self._replay_until.get(item.partition) == item.offset:
            del self._replay_until[item.partition]
            self._cut = True
            self._seal()

    def _seal(self) -> None:
        """The filling batch becomes the sealed one, if that slot is free; then the sealed one is offered on."""
        if self._sealed is None and self._batch:
            self._sealed, self._batch, self._cut = self._batch, self._new(), False
        if self._sealed is not None:
            try:
                self._next.submit(self._sealed)
            except MessageRejected:
                return
            self._sealed = None
            if self._cut and self._batch:  # the replay cut was waiting for the slot
                self._sealed, self._batch, self._cut = self._batch, self._new(), False

    def _due(self) -> bool:
        replaying = any(p in self._replay_until for p in self._batch.ranges)
        return self._batch.full() or self._cut or (not replaying and self._batch.due(self._clock()))

    def poll(self) -> None:
        if self._sealed is not None or self._due():
            self._seal()
        self._next.poll()
        if self._sealed is not None:
            self._seal()

    def room(self) -> int:
        """Messages that still fit the batch's byte budget at the row size seen so far (as large as an event may be
        until rows were seen), so one poll cannot overshoot."""
        batch = self._batch
        if batch.rows:
            self._row_bytes = max(1, batch.size // len(batch.rows))
        return max(1, (self._limits.bytes - batch.size) // self._row_bytes + 1)

    def join(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            self._seal()
            if self._sealed is None and not self._batch:
                return self._next.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline or not self._next.join(max(0.0, deadline - time.monotonic())):
                return False

    def terminate(self) -> None:
        self._batch, self._sealed, self._cut = self._new(), None, False
        self._next.terminate()

    def held_from(self, partition: int) -> int | None:
        held = [b.ranges[partition][0] for b in (self._batch, self._sealed) if b is not None and partition in b.ranges]
        later = self._next.held_from(partition)
        return min(held + ([later] if later is not None else []), default=None)


class InsertInThread:
    """Inserts one batch at a time on the worker thread while the next one fills, and hands it to the commit once it
    landed. A failed insert is tried again after the backoff: the same batch, so the same dedup tokens. While a batch
    is inserting, retrying or waiting for its commit, `submit` rejects: at most one batch is in ClickHouse uncommitted,
    which is what a replay after a crash inserts again."""

    def __init__(
        self,
        insert: Callable[[Batch], Inserted],
        executor: Executor,
        backoff: Backoff,
        metrics: LoaderMetrics,
        next_step: Step[Batch],
    ) -> None:
        self._insert_batch, self._executor, self._backoff, self._metrics, self._next = (
            insert,
            executor,
            backoff,
            metrics,
            next_step,
        )
        self._batch: Batch | None = None
        self._running: Future[Inserted] | None = None
        self._landed = False

    def submit(self, item: Batch) -> None:
        if self._batch is not None:
            raise MessageRejected
        self._batch = item
        self._start()

    def _start(self) -> None:
        """Insert, unless the commit of the previous batch is still pending (then at its next poll)."""
        if self._batch is not None and self._running is None and not self._landed and self._next.join(0.0):
            self._running = self._executor.submit(self._insert_batch, self._batch)

    def _advance(self) -> None:
        running, batch = self._running, self._batch
        if running is not None and running.done():
            self._running = None
            try:
                inserted = running.result()
            except InsertFailed as err:
                self._metrics.insert_retries.inc()
                self._backoff.failed(err)
            else:
                self._backoff.succeeded()
                self._landed = True
                assert batch is not None
                self._metrics.rows_loaded.inc(len(batch.rows) - inserted.left_out)
                self._metrics.duplicates.inc(inserted.left_out)
                self._metrics.batch_rows.observe(len(batch.rows))
                self._metrics.insert_latency.observe(inserted.seconds)
        if batch is not None and self._landed:
            try:
                self._next.submit(batch)
            except MessageRejected:
                return
            self._batch, self._landed = None, False
        elif self._backoff.due():
            self._start()

    def poll(self) -> None:
        self._advance()
        self._next.poll()
        self._advance()

    def wait(self, timeout_s: float) -> None:
        """Wait, at most `timeout_s`, for the insert running on the worker thread (if any) to end."""
        running = self._running
        if running is not None:
            futures_wait([running], timeout=timeout_s)

    def join(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._batch is not None:
            self.wait(max(0.0, deadline - time.monotonic()))
            self.poll()
            if self._batch is None or time.monotonic() >= deadline:
                break
            if self._running is None:
                _sleep_until_due(self._backoff, deadline)
        return self._batch is None and self._next.join(max(0.0, deadline - time.monotonic()))

    def abandon(self) -> None:
        """The partitions are being revoked: the insert running on the worker thread sends no further block (the one
        being sent may still land). Only sets a flag, so the rebalance callback may call it from the I/O thread."""
        batch = self._batch
        if batch is not None and self._running is not None:
            batch.abandoned = True

    def terminate(self) -> None:
        self.abandon()
        self._batch, self._running, self._landed = None, None, False
        self._next.terminate()

    def held_from(self, partition: int) -> int | None:
        if self._batch is not None and not self._landed and partition in self._batch.ranges:
            return self._batch.ranges[partition][0]
        return self._next.held_from(partition)


class CommitOffsets:
    """The end of the chain: once a batch is in ClickHouse, its dead letters are made durable, then its offsets
    committed (`commit` does both). A failed commit is tried again after the backoff; meanwhile it rejects."""

    def __init__(self, commit: Callable[[dict[int, int]], None], backoff: Backoff) -> None:
        self._commit, self._backoff = commit, backoff
        self._offsets: dict[int, int] = {}

    def submit(self, item: Batch) -> None:
        if self._offsets:
            raise MessageRejected
        self._offsets = item.next_offsets()

    def poll(self) -> None:
        if not self._offsets or not self._backoff.due():
            return
        try:
            self._commit(self._offsets)
        except Exception as err:  # noqa: BLE001 - any failure of the broker or the dead letters: try again later
            self._backoff.failed(err)
            return
        self._backoff.succeeded()
        self._offsets = {}

    def join(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._offsets and time.monotonic() < deadline:
            _sleep_until_due(self._backoff, deadline)
            self.poll()
        return not self._offsets

    def terminate(self) -> None:
        self._offsets = {}

    def held_from(self, partition: int) -> int | None:
        return None


class Chain:
    """A built chain: its head takes messages; `room` and `wait` reach the steps that know."""

    def __init__(self, head: Decode, reduce: Reduce, insert: InsertInThread) -> None:
        self.head, self._reduce, self._insert = head, reduce, insert

    def submit(self, message: Message) -> None:
        self.head.submit(message)

    def poll(self) -> None:
        self.head.poll()

    def join(self, timeout_s: float) -> bool:
        return self.head.join(timeout_s)

    def terminate(self) -> None:
        self.head.terminate()

    def held_from(self, partition: int) -> int | None:
        return self.head.held_from(partition)

    def room(self) -> int:
        return self._reduce.room()

    def wait(self, timeout_s: float) -> None:
        self._insert.wait(timeout_s)

    def revoke(self, wait_s: float) -> None:
        """Let the insert in flight land, waiting at most `wait_s`; past that, it sends no further block."""
        self._insert.wait(wait_s)
        self._insert.abandon()


@dataclass(frozen=True)
class ChainParts:
    """What every chain is built from; the backoffs and the executor outlive the chains."""

    topic: str
    limits: BatchLimits
    max_skew: timedelta
    guard: Callable[[], PoisonGuard]
    dead_letter: Callable[[Message, str], None]
    insert: Callable[[Batch], Inserted]
    commit: Callable[[dict[int, int]], None]
    executor: Executor
    insert_backoff: Backoff
    commit_backoff: Backoff
    metrics: LoaderMetrics
    clock: Callable[[], float] = time.monotonic


def build_chain(parts: ChainParts, replay_until: Mapping[int, int]) -> Chain:
    """Back to front: commit ← insert ← batch ← decode. A fresh dead-letter guard counts the new assignment."""
    commit = CommitOffsets(parts.commit, parts.commit_backoff)
    insert = InsertInThread(parts.insert, parts.executor, parts.insert_backoff, parts.metrics, commit)
    reduce = Reduce(parts.topic, parts.limits, parts.clock, replay_until, insert)
    decode = Decode(parts.topic, parts.guard(), parts.dead_letter, reduce, parts.max_skew)
    return Chain(decode, reduce, insert)
