"""The loader: Kafka → ClickHouse, at least once, stored exactly once.

Each step of the loop is small: poll → decode (bad messages to the DLQ) → batch →
insert → commit. One sealed batch is inserted on a worker thread while the next one
fills (ClickHouse works outside the GIL); batches land strictly in order, and offsets
are committed only after the insert (and the dead letters) landed. While ClickHouse
fails, the same batch is retried with backoff and nothing new is taken (what a poll
returns is read again later), so memory stays bounded and the group membership is kept.
On assignment, a partition whose range ClickHouse holds past the group's commit (a crash
between insert and commit) has exactly that range inserted again with the same dedup
tokens; a group with no commit starts after what ClickHouse holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kafka import TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from ingest.clickhouse_sink import ClickHouseSink, Inserted, InsertFailed
from ingest.dead_letters import DeadLetters, DeadLettersNotAcknowledged
from ingest.kafka_ports import Consumer
from ingest.loader_batch import Batch
from ingest.loader_metrics import LoaderMetrics
from ingest.loader_progress import LoaderProgress
from ingest.loader_rows import DEFAULT_MAX_SKEW, InvalidMessage, decode_row
from ingest.poison_guard import PoisonGuard, PoisonLimit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoaderPolicy:
    batch_rows: int = 50_000
    batch_age_s: float = 1.0
    poll_timeout_ms: int = 100
    max_poll_records: int = 10_000
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    batch_bytes: int = 16 * 1024 * 1024
    max_skew: timedelta = DEFAULT_MAX_SKEW


LARGEST_ROW_BYTES = 96 * 1024
"""An event is at most 64 KiB on the wire (O11Y_HTTP_MAX_BODY_BYTES); its row adds the message's own fields."""


class CommitFailed(Exception):
    """The broker did not take the offsets; the batch is retried (its insert is deduplicated)."""


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python ships no types; subscribe() checks the class
    """Runs on the consumer's I/O loop: only bookkeeping here, positioning happens in the main loop."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._loader.revoke({tp.partition for tp in revoked})

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._loader.assign(set(assigned))


class Loader:
    def __init__(
        self,
        consumer: Consumer,
        sink: ClickHouseSink,
        dead_letters: DeadLetters,
        topic: str,
        metrics: LoaderMetrics,
        policy: LoaderPolicy = LoaderPolicy(),
        clock: Callable[[], float] = time.monotonic,
        progress: LoaderProgress | None = None,
        guard: PoisonGuard | None = None,
    ) -> None:
        self._consumer = consumer
        self._sink = sink
        self._dead_letters = dead_letters
        self._topic = topic
        self._metrics = metrics
        self._policy = policy
        self._clock = clock
        self._progress = progress
        self._guard = guard or PoisonGuard()
        self.fatal: str | None = None
        """Why the loader stopped by itself (the dead-letter limit), or None."""
        self._row_bytes = LARGEST_ROW_BYTES
        self._batch = self._new_batch()
        self._sealed: Batch | None = None
        self._insert: Future[Inserted] | None = None
        self._inserter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loader-insert")
        self._lock = threading.RLock()
        self._to_position: set[TopicPartition] = set()
        self._replay_until: dict[int, int] = {}
        """partition -> last offset of a range that landed but was not committed: it is inserted again, cut exactly there."""
        self._replay_reached: set[int] = set()
        self._sealed_replays: set[int] = set()
        self._backoff_s = 0.0
        self._retry_at = 0.0
        self.failing = False

    def start(self) -> None:
        self._consumer.subscribe([self._topic], listener=_Rebalance(self))

    def run(self, stop: threading.Event) -> None:
        """Load until `stop` is set, or until the dead-letter limit stops it (`fatal` says why)."""
        self.start()
        try:
            while not stop.is_set():
                self.step()
        except PoisonLimit as limit:
            self.fatal = f"loader stopped: {limit}"
            log.error("%s", self.fatal)
        finally:
            self.shutdown()

    def _new_batch(self) -> Batch:
        return Batch(self._topic, self._policy.batch_rows, self._policy.batch_age_s, self._policy.batch_bytes)

    def step(self) -> None:
        """One turn of the loop: settle the insert in flight, seal a due batch, position new partitions, poll."""
        self._settle()
        now = self._clock()
        with self._lock:
            if self._sealed is not None and self._insert is None and now >= self._retry_at:
                self._submit()
            if self._sealed is None and (self._batch.due(now) or (self._replay_reached and self._batch)):
                self._seal()
        self._position_assigned()
        self._record_progress()
        if self.failing:
            # Keep polling (the group keeps us) but take nothing: what comes back is read again later.
            for tp, messages in self._consumer.poll(timeout_ms=self._policy.poll_timeout_ms, max_records=1).items():
                self._hold(tp, messages[0].offset)
            return
        if self._batch.full():
            self._wait_for_insert(self._policy.poll_timeout_ms / 1000)  # backpressure: at most two batches held
            return
        records = self._consumer.poll(timeout_ms=self._policy.poll_timeout_ms, max_records=self._room())
        with self._lock:
            for tp, messages in records.items():
                if tp in self._to_position:
                    self._hold(tp, messages[0].offset)  # read again after positioning
                    continue
                limit = self._replay_until.get(tp.partition)
                for message in messages:
                    if limit is not None and message.offset > limit:
                        self._hold(tp, message.offset)  # read again after the replayed range is committed
                        break
                    try:
                        self._take(tp.partition, message)
                    except PoisonLimit:
                        self._hold(tp, message.offset)  # nothing from here on is taken, so none of it is committed
                        raise
                    if message.offset == limit:
                        self._replay_reached.add(tp.partition)

    def _hold(self, tp: TopicPartition, offset: int) -> None:
        """Not now: the partition is read again from `offset`.

        The loader never pauses partitions: kafka-python 3.0 can leave data fetched for a paused partition
        parked for good after it is resumed, and then stops fetching that partition (seen under load).
        """
        self._consumer.seek(tp, offset)

    def _room(self) -> int:
        """Records to ask for: what still fits the batch's byte budget, at the row size seen so far.

        Until rows were seen, each is assumed as large as an event may be, so a first poll cannot overshoot.
        """
        batch = self._batch
        if batch.rows:
            self._row_bytes = max(1, batch.size // len(batch.rows))
        fits = (self._policy.batch_bytes - batch.size) // self._row_bytes + 1
        return max(1, min(self._policy.max_poll_records, fits))

    def _record_progress(self) -> None:
        """Every few seconds, traffic or not: how far loading got against the broker's end offsets."""
        if self._progress is None or not self._progress.due():
            return
        rows = self._progress.measure(self._consumer, self._loaded_next)
        if rows:
            self._inserter.submit(self._progress.write, rows)  # after the insert in flight, off this thread

    def _loaded_next(self, tp: TopicPartition) -> int | None:
        """The next offset of `tp` not yet in ClickHouse; None while the partition is being positioned or replayed."""
        with self._lock:
            if tp in self._to_position or tp.partition in self._replay_until:
                return None
            held = [b.ranges[tp.partition][0] for b in (self._batch, self._sealed) if b is not None and tp.partition in b.ranges]
        if held:
            return min(held)
        try:
            return self._consumer.position(tp, timeout_ms=500)
        except Exception:  # noqa: BLE001 - unknown for now; measured again in a moment
            return None

    def _take(self, partition: int, message: Any) -> None:
        try:
            row = decode_row(message.value, self._topic, partition, message.offset, message.timestamp, self._policy.max_skew)
        except InvalidMessage as invalid:
            self._guard.check(self._topic, partition, message.offset, invalid=True)
            source = f"{self._topic}/{partition}/{message.offset}"
            timestamp = message.timestamp if message.timestamp is not None and message.timestamp >= 0 else None
            self._dead_letters.send(message.key, message.value, invalid.reason, source, timestamp)
            self._metrics.dead_letters.inc()
            log.warning("dead-lettered %s: %s", source, invalid.reason)
            row = None
        else:
            self._guard.check(self._topic, partition, message.offset, invalid=False)
        self._batch.take(partition, message.offset, row, self._clock())

    def _seal(self) -> None:
        self._sealed, self._batch = self._batch, self._new_batch()
        self._sealed_replays, self._replay_reached = self._replay_reached, set()
        self._submit()

    def _submit(self) -> None:
        assert self._sealed is not None
        self._insert = self._inserter.submit(self._sink.insert, self._sealed)

    def _wait_for_insert(self, timeout_s: float) -> None:
        insert = self._insert
        if insert is not None:
            futures_wait([insert], timeout=timeout_s)

    def _settle(self) -> None:
        """When the insert in flight is done: make the dead letters durable, then commit; or schedule a retry."""
        with self._lock:
            insert, sealed = self._insert, self._sealed
            if insert is None or sealed is None or not insert.done():
                return
            self._insert = None
            try:
                inserted = insert.result()
                self._dead_letters.flush()
                self._commit(sealed.next_offsets())
            except (InsertFailed, DeadLettersNotAcknowledged, CommitFailed) as err:
                self._retry_later(err)
                return
            self._metrics.rows_loaded.inc(len(sealed.rows) - inserted.left_out)
            self._metrics.duplicates.inc(inserted.left_out)
            self._metrics.batch_rows.observe(len(sealed.rows))
            self._metrics.insert_latency.observe(inserted.seconds)
            self._sealed = None
            self._finish_replays()
            self._recovered()

    def _finish_replays(self) -> None:
        for partition in self._sealed_replays:
            tp = TopicPartition(self._topic, partition)
            until = self._replay_until.pop(partition, None)
            if until is not None and tp in self._consumer.assignment():
                self._consumer.seek(tp, until + 1)
        self._sealed_replays = set()

    def flush(self) -> bool:
        """Insert everything held, in order, and commit it. False when it must retry."""
        for _ in range(2):
            self._wait_for_insert(60)
            self._settle()
            with self._lock:
                if self._sealed is not None and self._insert is None:
                    self._submit()
                elif self._sealed is None and self._batch:
                    self._sealed, self._batch = self._batch, self._new_batch()
                    self._submit()
            self._wait_for_insert(60)
            self._settle()
            if self._sealed is not None:
                return False
        return self._sealed is None and not self._batch

    def _commit(self, offsets: dict[int, int]) -> None:
        commit = {TopicPartition(self._topic, p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()}
        try:
            self._consumer.commit(commit)
        except Exception as err:
            raise CommitFailed(f"offset commit failed: {type(err).__name__}") from err
        for tp, offset in commit.items():
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                self._metrics.consumer_lag.labels(str(tp.partition)).set(max(0, highwater - offset.offset))

    def _retry_later(self, err: Exception) -> None:
        self._metrics.insert_retries.inc()
        self._backoff_s = min(self._policy.backoff_max_s, max(self._policy.backoff_initial_s, self._backoff_s * 2))
        self._retry_at = self._clock() + self._backoff_s
        if not self.failing:
            log.error("loading paused, retrying every ≤%.0fs: %s", self._policy.backoff_max_s, err)
        self.failing = True

    def _recovered(self) -> None:
        if self.failing:
            log.info("loading resumed")
        self.failing = False
        self._backoff_s = 0.0
        self._retry_at = 0.0

    def revoke(self, partitions: set[int]) -> None:
        """Let the insert in flight land first, so the next owner sees it in ClickHouse; drop the rest."""
        self._wait_for_insert(30)
        with self._lock:
            self._guard.forget(partitions)
            self._batch.drop_partitions(partitions)
            for partition in partitions:
                self._replay_until.pop(partition, None)
            self._replay_reached -= partitions
            self._sealed_replays -= partitions
            if self._sealed is not None:
                # Landed or not, the next owner reads the uncommitted range again with the same blocks.
                self._sealed.drop_partitions(partitions)
                if not self._sealed:
                    self._sealed, self._insert = None, None
            self._to_position = {tp for tp in self._to_position if tp.partition not in partitions}

    def assign(self, partitions: set[TopicPartition]) -> None:
        with self._lock:
            self._to_position |= partitions

    def _position_assigned(self) -> None:
        """Start each new partition after what ClickHouse already holds, if that is past the commit."""
        with self._lock:
            pending = set(self._to_position)
        if not pending or self._clock() < self._retry_at:
            return
        try:
            loaded = self._sink.loaded_offsets(self._topic)
        except Exception as err:  # noqa: BLE001 - cannot tell what is loaded: wait rather than load twice
            self._retry_later(InsertFailed(f"cannot read loaded offsets: {type(err).__name__}"))
            return
        for tp in pending:
            committed = self._consumer.committed(tp)
            last_loaded = loaded.get(tp.partition)
            if last_loaded is None:
                continue
            if committed is None:
                # Another lineage loaded this (a new group replaying the log): start after it.
                self._metrics.skipped_reloads.inc(last_loaded + 1)
                self._consumer.seek(tp, last_loaded + 1)
            elif last_loaded >= committed:
                # This group crashed between insert and commit: insert that exact range again, so the
                # same dedup tokens drop what landed and fill in any view that missed it.
                with self._lock:
                    self._replay_until[tp.partition] = last_loaded
        with self._lock:
            self._to_position -= pending
            if self.failing and not self._batch and self._sealed is None:
                self._recovered()

    def shutdown(self, attempts: int = 3) -> None:
        """Flush and commit what is held (a few tries), then leave the group."""
        for _ in range(attempts):
            if self.flush():
                break
            time.sleep(min(1.0, self._backoff_s))
        try:
            self._consumer.close(autocommit=False)
        finally:
            self._inserter.shutdown(wait=True)
            self._dead_letters.close()
