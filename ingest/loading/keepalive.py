"""Keeping the group membership while the loop fetches nothing new (backpressure, positioning)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from ingest.kafka.ports import Consumer


class Waitable(Protocol):
    def wait(self, timeout_s: float) -> None: ...


class Keepalive:
    """Waits a little for the chain, and polls the consumer every `every_s` (well within max_poll_interval_ms, so the
    group keeps this member), seeking back over what such a poll returns: it is read again later.

    Fetching stops by seeking back, not by pausing partitions: kafka-python 3.0 can leave data fetched for a paused
    partition parked for good after it is resumed, and then stops fetching that partition (seen under load).
    """

    def __init__(self, every_s: float, wait_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._every_s, self._wait_s, self._clock = every_s, wait_s, clock
        self._polled_at = clock()

    def polled(self) -> None:
        """The loop polled the consumer itself."""
        self._polled_at = self._clock()

    def keep(self, consumer: Consumer, chain: Waitable | None) -> None:
        if chain is not None:
            chain.wait(self._wait_s)
        else:
            time.sleep(self._wait_s)
        if self._clock() - self._polled_at < self._every_s:
            return
        polled = consumer.poll(timeout_ms=0, max_records=1)
        self.polled()
        for partition, records in polled.items():
            consumer.seek(partition, records[0].offset)  # back to where it was: after what is held, if anything
