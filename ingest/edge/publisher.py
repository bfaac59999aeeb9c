"""Publishes encoded events to Kafka and awaits the broker's acknowledgement without blocking the event loop."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from ingest.kafka.producers import EventProducer, Record

log = logging.getLogger(__name__)

Call = tuple[str, Sequence[Record], "_Pending"]
"""The topic and records of one publish call, and what settles it."""


class PublishFailed(Exception):
    """The events were not acknowledged by the broker; the client should retry later."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Pending:
    """One publish call: resolved when all its records are acknowledged or the first one fails."""

    __slots__ = ("future", "remaining")

    def __init__(self, future: asyncio.Future[None], remaining: int) -> None:
        self.future = future
        self.remaining = remaining

    def settle(self, error: BaseException | None) -> None:
        if self.future.done():
            return
        if error is not None:
            self.future.set_exception(error)
            return
        self.remaining -= 1
        if self.remaining == 0:
            self.future.set_result(None)


class _Completions:
    """Hands acknowledgements from the producer's threads to the loop, one wake-up per burst."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._done: list[tuple[_Pending, BaseException | None]] = []

    def put(self, pending: _Pending, error: BaseException | None) -> None:
        with self._lock:
            self._done.append((pending, error))
            first = len(self._done) == 1
        if first:
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:
                pass  # loop closed during shutdown: nobody waits any more

    def _drain(self) -> None:
        with self._lock:
            done, self._done = self._done, []
        for pending, error in done:
            pending.settle(error)


class EventPublisher:
    """One producer per process.

    Records go straight to the producer from the loop while it is healthy and knows the
    topic, since `send()` then only appends to its buffer. Anything that may block
    (building the producer, waiting for metadata) happens on a sender thread instead.
    An idempotent producer whose delivery failed is replaced: the broker can no longer
    trust its sequence numbers.
    """

    def __init__(
        self,
        producer_factory: Callable[[], EventProducer],
        topic: str,
        ack_timeout_s: float,
        max_in_flight: int,
        on_outcome: Callable[[str, float], None] = lambda outcome, seconds: None,
    ) -> None:
        self._factory = producer_factory
        self._topic = topic
        self._ack_timeout_s = ack_timeout_s
        self._max_in_flight = max_in_flight
        self._on_outcome = on_outcome
        self._queue: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self._producer: EventProducer | None = None
        self._reset_requested = False
        self._last_build = 0.0
        self._build_failed = False
        self._building = threading.Lock()
        """Held while the producer is chosen or built: by the sender thread and by readiness checks."""
        self._closed = False
        self._in_flight = 0
        self._burst: list[Call] = []
        self._thread = threading.Thread(target=self._run, name="kafka-sender", daemon=True)
        self._completions: _Completions | None = None

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def start(self) -> None:
        self._completions = _Completions(asyncio.get_running_loop())
        self._thread.start()

    async def publish(self, records: Sequence[Record], topic: str | None = None) -> None:
        """Return once the broker acknowledged every record (to `topic`, by default the publisher's); raise
        PublishFailed otherwise."""
        count = len(records)
        if self._in_flight + count > self._max_in_flight:
            self._on_outcome("overloaded", 0.0)
            raise PublishFailed("too many events waiting for the broker")
        loop = asyncio.get_running_loop()
        started = loop.time()
        pending = _Pending(loop.create_future(), count)
        self._in_flight += count
        try:
            self._dispatch(loop, topic or self._topic, records, pending)
            await pending.future
        except _Timeout:
            self._on_outcome("timeout", loop.time() - started)
            raise PublishFailed("the broker did not acknowledge in time") from None
        except PublishFailed:
            self._on_outcome("error", loop.time() - started)
            raise
        finally:
            self._in_flight -= count
        self._on_outcome("acked", loop.time() - started)

    def _dispatch(self, loop: asyncio.AbstractEventLoop, topic: str, records: Sequence[Record], pending: _Pending) -> None:
        """Records of one loop iteration go to the producer together, so they share produce requests and one timer."""
        if not self._burst:
            loop.call_soon(self._flush_burst, loop)
        self._burst.append((topic, records, pending))

    def _flush_burst(self, loop: asyncio.AbstractEventLoop) -> None:
        burst, self._burst = self._burst, []
        # One bound for the burst, not a timer per request; it holds what settles the calls, not their records.
        loop.call_later(self._ack_timeout_s, _expire, [pending for _, _, pending in burst])
        producer = self._producer
        if producer is not None and not self._reset_requested and all(producer.ready(t) for t in {t for t, _, _ in burst}):
            for topic, records, pending in burst:
                self._send(producer, topic, records, pending)
            return
        for call in burst:
            self._queue.put(call)

    def ask_broker(self, timeout_s: float) -> str | None:
        """Whether the broker answers this producer's client within `timeout_s` (None), else why not; a producer is
        built first when there is none yet, as for a publish. Blocks: call it from a worker thread."""
        try:
            producer = self._current_producer()
        except PublishFailed as failed:
            return failed.reason
        except Exception as err:  # noqa: BLE001 - the producer could not be built: the broker is not usable
            return f"cannot reach the broker: {type(err).__name__}"
        return producer.ask_broker(self._topic, timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the sender thread and flush what the producer still holds."""
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        with self._building:  # no readiness check builds another one after this
            self._closed = True
            producer, self._producer = self._producer, None
        if producer is not None:
            self._close_producer(producer, timeout_s)

    def _run(self) -> None:
        while (call := self._queue.get()) is not None:
            topic, records, pending = call
            try:
                producer = self._current_producer()
            except Exception as err:  # noqa: BLE001 - any failure means "not acknowledged"
                self._failed(pending, PublishFailed(f"cannot reach the broker: {type(err).__name__}"))
                continue
            self._send(producer, topic, records, pending)

    def _send(self, producer: EventProducer, topic: str, records: Sequence[Record], pending: _Pending) -> None:
        assert self._completions is not None
        done = self._completions

        def delivered(err: BaseException | None) -> None:
            if err is None:
                done.put(pending, None)
            else:
                self._failed(pending, PublishFailed(f"the broker did not acknowledge: {err}"))

        try:
            producer.produce(topic, records, delivered)
        except Exception as err:  # noqa: BLE001 - any failure means "not acknowledged"
            self._failed(pending, PublishFailed(f"cannot send to the broker: {type(err).__name__}"))

    def _failed(self, pending: _Pending, error: PublishFailed) -> None:
        self._reset_requested = True
        assert self._completions is not None
        self._completions.put(pending, error)

    def _current_producer(self) -> EventProducer:
        with self._building:
            return self._choose_producer()

    def _choose_producer(self) -> EventProducer:
        if self._closed:
            raise PublishFailed("the producer is closed")
        now = time.monotonic()
        if self._producer is not None and self._reset_requested and now - self._last_build >= 1.0:
            log.warning("replacing the Kafka producer after a delivery failure")
            old, self._producer = self._producer, None
            threading.Thread(target=self._close_producer, args=(old, 0.0), daemon=True).start()
        if self._producer is None:
            if self._build_failed and now - self._last_build < 1.0:
                raise PublishFailed("the broker is unreachable")
            self._last_build = now
            self._reset_requested = False
            self._build_failed = True
            self._producer = self._factory()
            self._build_failed = False
        return self._producer

    @staticmethod
    def _close_producer(producer: EventProducer, timeout_s: float) -> None:
        try:
            producer.close(timeout=timeout_s)
        except Exception as err:  # noqa: BLE001 - closing a broken producer may fail; nothing to do
            log.info("closing Kafka producer: %s", type(err).__name__)


class _Timeout(Exception):
    """The acknowledgement bound passed."""


def _expire(calls: list[_Pending]) -> None:
    for pending in calls:
        if not pending.future.done():
            pending.settle(_Timeout())
