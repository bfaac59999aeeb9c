"""The loader's consumer loop: poll, offer to the chain, hold back what it rejects, follow rebalances, record progress."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ingest.kafka.ports import Consumer, Partition
from ingest.loading.intake import Intake
from ingest.loading.keepalive import Keepalive
from ingest.loading.loop_watch import LoopWatch
from ingest.loading.poison_guard import PoisonLimit
from ingest.loading.policy import LoaderPolicy
from ingest.loading.positioning import Positioning
from ingest.loading.progress import LoaderProgress
from ingest.loading.rebalance import Rebalance
from ingest.loading.strategy_factory import Strategy, StrategyFactory

log = logging.getLogger(__name__)


class Loader:
    """Kafka → ClickHouse, at least once, stored exactly once. A step that cannot take a message raises
    `MessageRejected`: the loop keeps it and the rest of its poll, fetches nothing new and offers them again
    (backpressure). On every assignment the partitions are positioned and a chain built afresh; on revocation the
    insert in flight may land (`revoke_wait_s`), then the chain is dropped: the next owner reads again what was not
    committed. Rebalance callbacks run inside `poll` or `close`; every other call comes from the loop's thread."""

    def __init__(self, consumer: Consumer, topic: str, factory: StrategyFactory, positioning: Positioning,
                 policy: LoaderPolicy, clock: Callable[[], float] = time.monotonic,
                 progress: LoaderProgress | None = None) -> None:
        self._consumer, self._topic, self._factory, self._positioning = consumer, topic, factory, positioning
        self._policy, self._progress = policy, progress
        self.fatal: str | None = None
        """Why the loader stopped by itself (the dead-letter limit), or None."""
        self.watch = LoopWatch(policy.max_poll_interval_s, clock)
        self._intake, self._rebalance = Intake(), Rebalance()
        self._keepalive = Keepalive(policy.keepalive_s, policy.poll_timeout_ms / 1000, clock)
        self._chain: Strategy | None = None

    @property
    def failing(self) -> str | None:
        return self._factory.failing

    def start(self) -> None:
        self._consumer.subscribe([self._topic], listener=self)

    def run(self, stop: threading.Event) -> None:
        """Load until `stop` is set, or until the dead-letter limit stops it (`fatal` says why)."""
        self.start()
        try:
            while not stop.is_set():
                self.watch.turned()
                self.step()
        except PoisonLimit as limit:
            self.fatal = f"loader stopped: {limit}"
            log.error("%s", self.fatal)
        finally:
            self.watch.stopped()
            self.shutdown()

    def on_partitions_revoked(self, revoked: set[Partition]) -> None:
        if (chain := self._chain) is not None:
            chain.revoke(self._policy.revoke_wait_s)
        self._rebalance.revoked()

    def on_partitions_assigned(self, assigned: set[Partition]) -> None:
        self._rebalance.assigned()

    def step(self) -> None:
        """One turn: apply a rebalance, move the chain on, position new partitions, offer held messages, poll."""
        self._rebalanced()
        if self._chain is not None:
            self._chain.poll()
        if self._rebalance.unpositioned:
            self._position()
        if self._progress is not None:
            self._progress.record(self._consumer, self._loaded_next, self._factory.after_insert)
        self._intake.offer(self._chain)
        if self._intake.held or self._rebalance.unpositioned:
            self._keepalive.keep(self._consumer, self._chain)
            return
        room = self._chain.room() if self._chain is not None else 1
        polled = self._consumer.poll(timeout_ms=self._policy.poll_timeout_ms,
                                     max_records=min(self._policy.max_poll_records, room))
        self._keepalive.polled()
        self._intake.hold(polled)
        self._rebalanced()
        self._intake.offer(self._chain)

    def _rebalanced(self) -> None:
        if self._rebalance.take_revoked():
            if self._chain is not None:
                self._chain.terminate()
            self._chain = None
            self._intake.drop()
        if self._rebalance.unpositioned:
            self._intake.rewind(self._consumer)  # read again once the partitions are positioned

    def _position(self) -> None:
        positioned = self._positioning.position(self._consumer)
        if positioned is None:
            return
        self._rebalance.positioned()
        if self._chain is not None:
            self._chain.terminate()
        self._intake.positioned(positioned.next_offsets)
        self._chain = self._factory.create(positioned.replay_until)

    def _loaded_next(self, partition: Partition) -> int | None:
        """The next offset of `partition` not yet in ClickHouse; None while the partition is being positioned."""
        if (chain := self._chain) is None or self._rebalance.unpositioned:
            return None
        return self._intake.loaded_next(partition, chain.held_from(partition.number))

    def wait_for_insert(self, timeout_s: float) -> None:
        self._factory.wait_for_insert(timeout_s)

    def shutdown(self) -> None:
        """Insert and commit what the chain holds (bounded by `shutdown_s`), then leave the group."""
        if self._chain is not None and not self._chain.join(self._policy.shutdown_s):
            log.warning("stopping with batches not committed; the next owner of their partitions loads them")
        try:
            self._consumer.close(autocommit=False)
        finally:
            self._factory.close()
