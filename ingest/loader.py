"""The loader: Kafka → ClickHouse, at least once, stored exactly once.

The loop polls the consumer and offers each message to a chain of steps (`ingest.loader_steps`):
decode (bad messages to the DLQ, up to the dead-letter limit) → batch → insert on a worker thread while
the next batch fills → commit. A step that cannot take a message now raises `MessageRejected`: the loop keeps
that message and the rest of its poll, fetches nothing new and offers them again (backpressure), so memory stays
bounded while ClickHouse or the broker fails.

On every assignment the chain is built afresh, after positioning each partition (`start_of`): a partition whose
range ClickHouse holds past the group's commit (a crash between insert and commit) has exactly that range inserted
again with the same dedup tokens; a group with no commit starts after what ClickHouse holds. On revocation the
rebalance waits, at most a third of the session timeout, for the insert in flight to land (so the next owner sees
it), then the chain is dropped: the next owner reads again what was not committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kafka import TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from ingest.clickhouse_sink import ClickHouseSink
from ingest.dead_letters import DeadLetters
from ingest.kafka_ports import Consumer
from ingest.loader_metrics import LoaderMetrics
from ingest.loader_progress import LoaderProgress
from ingest.loader_rows import DEFAULT_MAX_SKEW
from ingest.loader_steps import Backoff, BatchLimits, Chain, ChainParts, Message, MessageRejected, build_chain
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
    session_timeout_s: float = 10.0
    keepalive_s: float = 1.0
    """While nothing new is fetched (backpressure, positioning), the consumer is still polled this often, well
    within max_poll_interval_ms, so the group keeps this member; what such a poll returns is read again later."""
    shutdown_s: float = 20.0
    """How long a stop may take to insert and commit what is held."""
    max_poll_interval_s: float = 300.0
    """A loop that has not turned for this long is stuck (`Loader.stalled`): the consumer's own threads may still
    heartbeat, so the group would keep its partitions without anyone loading them."""


@dataclass(frozen=True)
class Start:
    """Where a newly assigned partition starts."""

    offset: int | None
    """The offset to read from; None: the beginning (the group never committed, nothing loaded)."""
    replay_until: int | None = None
    """The last offset of a range that landed in ClickHouse but was not committed: inserted again, cut exactly there."""
    skipped: int = 0
    """Messages skipped because another lineage (a new group) already loaded them."""


def start_of(committed: int | None, last_loaded: int | None) -> Start:
    """Position a partition from the group's commit and the highest offset ClickHouse holds."""
    if last_loaded is None:
        return Start(committed)
    if committed is None:
        return Start(last_loaded + 1, skipped=last_loaded + 1)
    if last_loaded >= committed:
        return Start(committed, replay_until=last_loaded)
    return Start(committed)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python ships no types; subscribe() checks the class
    """Runs on the consumer's I/O thread, which also sends the heartbeats: nothing here waits longer than
    `revoke_wait_s`, a third of the session timeout, and nothing touches the broker."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._loader.revoked()

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._loader.assigned()


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
        guard: Callable[[], PoisonGuard] = PoisonGuard,
    ) -> None:
        self._consumer = consumer
        self._sink = sink
        self._dead_letters = dead_letters
        self._topic = topic
        self._metrics = metrics
        self._policy = policy
        self._clock = clock
        self._progress = progress
        self.fatal: str | None = None
        """Why the loader stopped by itself (the dead-letter limit), or None."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loader-insert")
        self._clickhouse = Backoff("ClickHouse", policy.backoff_initial_s, policy.backoff_max_s, clock)
        self._broker = Backoff("offset commit", policy.backoff_initial_s, policy.backoff_max_s, clock)
        self._parts = ChainParts(
            topic=topic,
            limits=BatchLimits(policy.batch_rows, policy.batch_age_s, policy.batch_bytes),
            max_skew=policy.max_skew,
            guard=guard,
            dead_letter=self._dead_letter,
            insert=sink.insert,
            commit=self._commit,
            executor=self._executor,
            insert_backoff=self._clickhouse,
            commit_backoff=self._broker,
            metrics=metrics,
            clock=clock,
        )
        self._chain: Chain | None = None
        self._lock = threading.Lock()
        self._revoked = False
        self._unpositioned = False
        """An assignment arrived: its partitions are positioned and a chain built before anything is taken."""
        self._held: list[tuple[TopicPartition, list[Any]]] = []
        """Messages polled but not taken yet (a step rejected one): offered again before anything new is fetched."""
        self._next: dict[TopicPartition, int] = {}
        """Per assigned partition, the offset after the last message the chain took (where it was positioned, before
        any): once nothing is held or in flight, everything before it is in ClickHouse. The loader keeps it itself,
        since a client's own position is unknown until a partition fetches a message (librdkafka), so an idle
        partition would never be caught up."""
        self._polled_at = clock()
        self._turned_at: float | None = None
        """When the loop last began a turn, while it runs (None before and after)."""

    def stalled(self) -> str | None:
        """Why the loop is stuck, when it has not begun a turn for longer than the max poll interval, or None.

        Called from another thread. A client whose loop hangs (a call that never returns) can go on heartbeating
        from its own threads; librdkafka, waiting mid-rebalance for the loop to take its assignment, is then never
        dropped by the max poll interval, and the group keeps that member's partitions unloaded. Only the process
        ending frees them (`o11y load` exits with status 1 on this).
        """
        turned_at = self._turned_at
        if turned_at is None:
            return None
        idle_s = self._clock() - turned_at
        if idle_s <= self._policy.max_poll_interval_s:
            return None
        return (f"loader stopped: its loop has not turned for {idle_s:.0f} s (O11Y_LOADER_MAX_POLL_INTERVAL_MS="
                f"{self._policy.max_poll_interval_s * 1000:.0f}): a call into Kafka or ClickHouse never returned")

    @property
    def failing(self) -> str | None:
        """What makes loading pause ("ClickHouse", "offset commit"), or None. The errors themselves are logged."""
        failing = [b.what for b in (self._clickhouse, self._broker) if b.failing is not None]
        return " and ".join(failing) or None

    @property
    def revoke_wait_s(self) -> float:
        return self._policy.session_timeout_s / 3

    def start(self) -> None:
        self._consumer.subscribe([self._topic], listener=_Rebalance(self))

    def run(self, stop: threading.Event) -> None:
        """Load until `stop` is set, or until the dead-letter limit stops it (`fatal` says why)."""
        self.start()
        try:
            while not stop.is_set():
                self._turned_at = self._clock()
                self.step()
        except PoisonLimit as limit:
            self.fatal = f"loader stopped: {limit}"
            log.error("%s", self.fatal)
        finally:
            self._turned_at = None  # a stop takes up to `shutdown_s` to insert and commit: not a stall
            self.shutdown()

    # Rebalance callbacks (the consumer's I/O thread, while the loop waits in poll or close).

    def revoked(self) -> None:
        chain = self._chain
        if chain is not None:
            chain.revoke(self.revoke_wait_s)  # let the insert in flight land, so the next owner sees it in ClickHouse
        with self._lock:
            self._revoked = True

    def assigned(self) -> None:
        with self._lock:
            self._unpositioned = True

    # The loop (the loader's own thread).

    def step(self) -> None:
        """One turn: apply a rebalance, move the chain on, position new partitions, offer held messages, poll."""
        self._rebalanced()
        if self._chain is not None:
            self._chain.poll()
        if self._unpositioned:
            self._position()
        self._record_progress()
        self._offer_held()
        if self._held or self._unpositioned:
            self._keep_membership()
            return
        room = self._chain.room() if self._chain is not None else 1
        records = self._consumer.poll(timeout_ms=self._policy.poll_timeout_ms,
                                      max_records=min(self._policy.max_poll_records, room))
        self._polled_at = self._clock()
        self._held = list(records.items())
        self._rebalanced()
        self._offer_held()

    def _rebalanced(self) -> None:
        with self._lock:
            revoked, self._revoked = self._revoked, False
        if revoked:
            if self._chain is not None:
                self._chain.terminate()
            self._chain = None
            self._held = []
        if self._unpositioned:
            # Anything polled now is read again once the partitions are positioned.
            for tp, messages in self._held:
                self._consumer.seek(tp, messages[0].offset)
            self._held = []

    def _offer_held(self) -> None:
        chain = self._chain
        if chain is None:
            return
        while self._held:
            tp, messages = self._held[0]
            for i, message in enumerate(messages):
                try:
                    chain.submit(message)
                except MessageRejected:
                    self._held[0] = (tp, messages[i:])
                    return
                except PoisonLimit:
                    self._held = []  # nothing from here on is taken, so none of it is committed
                    raise
                self._next[tp] = int(message.offset) + 1
            self._held.pop(0)

    def _keep_membership(self) -> None:
        """Fetch nothing new, but wait a little for the chain and poll now and then so the group keeps this member.

        Fetching stops by seeking back, not by pausing partitions: kafka-python 3.0 can leave data fetched for a
        paused partition parked for good after it is resumed, and then stops fetching that partition (seen under load).
        """
        if self._chain is not None:
            self._chain.wait(self._policy.poll_timeout_ms / 1000)
        else:
            time.sleep(self._policy.poll_timeout_ms / 1000)
        if self._clock() - self._polled_at < self._policy.keepalive_s:
            return
        records = self._consumer.poll(timeout_ms=0, max_records=1)
        self._polled_at = self._clock()
        for tp, messages in records.items():
            self._consumer.seek(tp, messages[0].offset)  # back to where it was: after what is held, if anything

    def _position(self) -> None:
        """Start each assigned partition where `start_of` says, then build the chain with the replay ranges."""
        if not self._clickhouse.due():
            return
        partitions = set(self._consumer.assignment())  # all of them: a rebalance revokes everything (eager)
        try:
            loaded = self._sink.loaded_offsets(self._topic)
            committed = {tp: self._consumer.committed(tp) for tp in partitions}
            starts = {tp: start_of(committed[tp], loaded.get(tp.partition)) for tp in partitions}
            fresh = [tp for tp, start in starts.items() if start.offset is None]
            beginnings = self._consumer.beginning_offsets(fresh, timeout_ms=5000) if fresh else {}
        except Exception as err:  # noqa: BLE001 - cannot tell what is loaded: wait rather than load twice
            self._clickhouse.failed(RuntimeError(f"cannot position the assigned partitions: {type(err).__name__}: {err}"))
            return
        replays = {}
        self._next = {}
        for tp in sorted(partitions):
            start = starts[tp]
            if start.offset is not None:
                self._consumer.seek(tp, start.offset)
            else:
                # Explicitly: a partition this member owned before the rebalance keeps the position it had reached.
                self._consumer.seek_to_beginning(tp)
            self._next[tp] = start.offset if start.offset is not None else int(beginnings[tp])
            if start.replay_until is not None:
                replays[tp.partition] = start.replay_until
            self._metrics.skipped_reloads.inc(start.skipped)
        with self._lock:
            self._unpositioned = False
        if self._chain is not None:
            self._chain.terminate()
        self._chain = build_chain(self._parts, replays)
        self._metrics.assignments.inc()
        log.info("assigned %s, replaying %s", sorted(tp.partition for tp in partitions), replays or "nothing")

    def _dead_letter(self, message: Message, reason: str) -> None:
        source = f"{self._topic}/{message.partition}/{message.offset}"
        timestamp = message.timestamp if message.timestamp is not None and message.timestamp >= 0 else None
        self._dead_letters.send(message.key, message.value, reason, source, timestamp)
        self._metrics.dead_letters.inc()
        log.warning("dead-lettered %s: %s", source, reason)

    def _commit(self, offsets: dict[int, int]) -> None:
        """The dead letters first (durable before their offsets move), then the offsets."""
        self._dead_letters.flush()
        commit = {TopicPartition(self._topic, p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()}
        self._consumer.commit(commit)
        for tp, offset in commit.items():
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                self._metrics.consumer_lag.labels(str(tp.partition)).set(max(0, highwater - offset.offset))

    def _record_progress(self) -> None:
        """Every few seconds, traffic or not: how far loading got against the broker's end offsets."""
        if self._progress is None or not self._progress.due():
            return
        rows = self._progress.measure(self._consumer, self._loaded_next)
        if rows:
            self._executor.submit(self._progress.write, rows)  # after the insert in flight, off this thread

    def _loaded_next(self, tp: TopicPartition) -> int | None:
        """The next offset of `tp` not yet in ClickHouse; None while the partition is being positioned."""
        chain = self._chain
        if chain is None or self._unpositioned:
            return None
        held = [int(messages[0].offset) for t, messages in self._held if t == tp]
        in_chain = chain.held_from(tp.partition)
        if in_chain is not None:
            held.append(in_chain)
        return min(held) if held else self._next.get(tp)

    def wait_for_insert(self, timeout_s: float) -> None:
        """Wait, at most `timeout_s`, until the insert running on the worker thread (if any) ended, landed or not,
        even one whose chain was dropped. Raises TimeoutError when it did not end in time."""
        self._executor.submit(lambda: None).result(timeout_s)  # one worker: this runs after that insert

    def shutdown(self) -> None:
        """Insert and commit what the chain holds (bounded by `shutdown_s`), then leave the group."""
        if self._chain is not None and not self._chain.join(self._policy.shutdown_s):
            log.warning("stopping with batches not committed; the next owner of their partitions loads them")
        try:
            self._consumer.close(autocommit=False)
        finally:
            self._executor.shutdown(wait=True)
            self._dead_letters.close()
