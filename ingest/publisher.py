"""Publishes encoded events to Kafka and awaits the broker's acknowledgement without blocking the event loop."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)

Record = tuple[bytes, bytes]


class PublishFailed(Exception):
    """The events were not acknowledged by the broker; the client should retry later."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Producer(Protocol):
    def send(self, topic: str, value: bytes, key: bytes) -> Any: ...
    def close(self, timeout: float | None = None) -> None: ...


class _Completions:
    """Hands acknowledgements from the producer's thread to the loop, one wake-up per burst."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: list[tuple[asyncio.Future[None], BaseException | None]] = []

    def put(self, future: asyncio.Future[None], error: BaseException | None) -> None:
        with self._lock:
            self._pending.append((future, error))
            first = len(self._pending) == 1
        if first:
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:
                pass  # loop closed during shutdown: nobody waits any more

    def _drain(self) -> None:
        with self._lock:
            done, self._pending = self._pending, []
        for future, error in done:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


class EventPublisher:
    """One producer per process, driven by a dedicated sender thread.

    `send()` of kafka-python may block (metadata, connection setup); it runs on the
    sender thread, never on the loop. An idempotent producer whose delivery failed is
    replaced, since its sequence numbers can no longer be trusted by the broker.
    """

    def __init__(
        self,
        producer_factory: Callable[[], Producer],
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
        self._queue: queue.SimpleQueue[tuple[Record, asyncio.Future[None], _Completions] | None] = (
            queue.SimpleQueue()
        )
        self._producer: Producer | None = None
        self._reset_requested = False
        self._last_build = 0.0
        self._build_failed = False
        self._in_flight = 0
        self.last_success: float | None = None
        self.last_failure: float | None = None
        self._thread = threading.Thread(target=self._run, name="kafka-sender", daemon=True)
        self._completions: _Completions | None = None

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def start(self) -> None:
        self._completions = _Completions(asyncio.get_running_loop())
        self._thread.start()

    async def publish(self, records: Sequence[Record]) -> None:
        """Return once the broker acknowledged every record; raise PublishFailed otherwise."""
        if self._completions is None:
            raise RuntimeError("publisher not started")
        if self._in_flight + len(records) > self._max_in_flight:
            self._on_outcome("overloaded", 0.0)
            raise PublishFailed("too many events waiting for the broker")
        loop = asyncio.get_running_loop()
        started = loop.time()
        futures = [loop.create_future() for _ in records]
        self._in_flight += len(records)
        try:
            for record, future in zip(records, futures):
                self._queue.put((record, future, self._completions))
            await asyncio.wait_for(asyncio.gather(*futures), self._ack_timeout_s)
        except asyncio.TimeoutError:
            self._failed(loop, started, "timeout")
            raise PublishFailed("the broker did not acknowledge in time") from None
        except PublishFailed:
            self._failed(loop, started, "error")
            raise
        finally:
            self._in_flight -= len(records)
            for future in futures:
                if not future.done():
                    future.cancel()
                elif not future.cancelled():
                    future.exception()  # retrieved: no "never retrieved" noise for siblings
        self.last_success = time.monotonic()
        self._on_outcome("acked", loop.time() - started)

    def _failed(self, loop: asyncio.AbstractEventLoop, started: float, outcome: str) -> None:
        self.last_failure = time.monotonic()
        self._on_outcome(outcome, loop.time() - started)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the sender thread and flush what the producer still holds."""
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if self._producer is not None:
            self._close_producer(self._producer, timeout_s)
            self._producer = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._send(*item)

    def _send(self, record: Record, future: asyncio.Future[None], done: _Completions) -> None:
        try:
            producer = self._current_producer()
            sent = producer.send(self._topic, value=record[1], key=record[0])
        except Exception as err:  # noqa: BLE001 - any failure means "not acknowledged"
            self._reset_requested = True
            done.put(future, PublishFailed(f"cannot send to the broker: {type(err).__name__}"))
            return
        sent.add_callback(lambda _meta: done.put(future, None))
        sent.add_errback(lambda err: self._delivery_failed(err, future, done))

    def _delivery_failed(self, err: BaseException, future: asyncio.Future[None], done: _Completions) -> None:
        self._reset_requested = True
        done.put(future, PublishFailed(f"the broker did not acknowledge: {type(err).__name__}"))

    def _current_producer(self) -> Producer:
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
    def _close_producer(producer: Producer, timeout_s: float) -> None:
        try:
            producer.close(timeout=timeout_s)
        except Exception as err:  # noqa: BLE001 - closing a broken producer may fail; nothing to do
            log.info("closing Kafka producer: %s", type(err).__name__)
