"""The ingest edge's Kafka producer, behind one port, with two adapters: kafka-python and confluent-kafka (librdkafka).

`O11Y_KAFKA_CLIENT` chooses one per process. Both are acks=all and idempotent, bound a delivery by
`O11Y_KAFKA_ACK_TIMEOUT_MS`, and keep the order of records with the same key (one partition, idempotent sequence
numbers, at most 5 requests in flight).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from runtime.settings import Settings

log = logging.getLogger(__name__)

Delivered = Callable[[BaseException | None], None]
Record = tuple[bytes, bytes]
"""Key and value of one Kafka record."""


class DeliveryFailed(Exception):
    """The broker did not acknowledge a record (the client's own error, by name)."""


class EventProducer(Protocol):
    """One producer per process; `produce` and `ready` are called from the event loop and must not block.

    `produce` queues the records, in order, and arranges for `delivered` to be called exactly once per record, from the
    client's own thread: with None once every in-sync replica has it (acks=all), or with the error. It raises when a
    record cannot even be queued (a full buffer, a closed producer): the caller counts the call as not delivered.
    """

    def ready(self, topic: str) -> bool:
        """True when `produce` to `topic` will only append to a buffer (the client knows the topic's partitions)."""
        ...

    def produce(self, topic: str, records: Sequence[Record], delivered: Delivered) -> None: ...

    def ask_broker(self, topic: str, timeout_s: float) -> str | None:
        """Ask the broker for `topic`'s metadata through this client: None when it answered within `timeout_s` and
        knows the topic, else why not. Blocks up to `timeout_s`: never called from the event loop."""
        ...

    def close(self, timeout: float) -> None:
        """Deliver what is queued within `timeout` seconds; what is left fails."""
        ...


def no_answer(timeout_s: float) -> str:
    return f"the broker did not answer within {timeout_s:g} s"


def unknown_topic(topic: str) -> str:
    return f"the broker does not know topic {topic}"


class KafkaPythonProducer:
    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaProducer

        ack_ms = settings.kafka_ack_timeout_ms
        self._producer = KafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            client_id="o11y-ingest",
            acks="all",
            enable_idempotence=True,
            max_in_flight_requests_per_connection=5,
            compression_type=None if settings.kafka_compression == "none" else settings.kafka_compression,
            linger_ms=settings.kafka_linger_ms,
            batch_size=settings.kafka_batch_bytes,
            max_request_size=max(1_048_576, settings.http_max_batch_bytes * 2),
            request_timeout_ms=max(1000, ack_ms - settings.kafka_linger_ms),
            delivery_timeout_ms=ack_ms,
            max_block_ms=ack_ms,
            reconnect_backoff_max_ms=1000,
            metadata_max_age_ms=30_000,
        )

    def ready(self, topic: str) -> bool:
        metadata = getattr(self._producer, "_metadata", None)
        return metadata is not None and bool(metadata.partitions_for_topic(topic))

    def produce(self, topic: str, records: Sequence[Record], delivered: Delivered) -> None:
        def failed(err: BaseException) -> None:
            delivered(DeliveryFailed(type(err).__name__))

        def acked(_meta: Any) -> None:
            delivered(None)

        for key, value in records:
            sent = self._producer.send(topic, value=value, key=key)
            sent.add_callback(acked)
            sent.add_errback(failed)

    def ask_broker(self, topic: str, timeout_s: float) -> str | None:
        # kafka-python asks for metadata only through its cluster object, as its own `partitions_for` does.
        metadata = self._producer._metadata
        metadata.add_topic(topic)
        deadline = time.monotonic() + timeout_s
        while True:
            answered = threading.Event()
            asked = metadata.request_update().add_both(lambda event, _: event.set(), answered)
            if not answered.wait(max(0.0, deadline - time.monotonic())):
                return no_answer(timeout_s)
            if asked.failed():
                return f"the broker's metadata failed: {type(asked.exception).__name__}"
            if metadata.partitions_for_topic(topic):
                return None
            if time.monotonic() >= deadline:  # an answer from before the topic was added may lack it: ask again
                return unknown_topic(topic)

    def close(self, timeout: float) -> None:
        self._producer.close(timeout=timeout)


def _confluent_common(settings: Settings, client_id: str) -> dict[str, Any]:
    """What every librdkafka producer of ours is: acks=all, idempotent, logging through `logging`."""
    return {"bootstrap.servers": settings.kafka_bootstrap_servers or "", "client.id": client_id, "acks": "all",
            "enable.idempotence": True, "logger": logging.getLogger("ingest.librdkafka")}


class ConfluentProducer:
    """librdkafka queues every record at once (fetching metadata itself); a thread of ours serves its callbacks."""

    def __init__(self, settings: Settings) -> None:
        from confluent_kafka import Producer

        ack_ms = settings.kafka_ack_timeout_ms
        self._producer = Producer({
            **_confluent_common(settings, "o11y-ingest"),
            "max.in.flight.requests.per.connection": 5,
            "compression.type": settings.kafka_compression,
            "linger.ms": settings.kafka_linger_ms,
            "batch.size": settings.kafka_batch_bytes,
            "message.max.bytes": max(1_048_576, settings.http_max_batch_bytes * 2),
            "request.timeout.ms": max(1000, ack_ms - settings.kafka_linger_ms),
            "message.timeout.ms": ack_ms,
            "queue.buffering.max.messages": max(100_000, settings.kafka_max_in_flight_events * 2),
            "reconnect.backoff.max.ms": 1000,
            "socket.nagle.disable": True,
            "topic.metadata.refresh.interval.ms": 30_000,
        })
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._serve, name="kafka-callbacks", daemon=True)
        self._poller.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.05)

    def ready(self, topic: str) -> bool:
        return not self._closed.is_set()

    def produce(self, topic: str, records: Sequence[Record], delivered: Delivered) -> None:
        def report(err: Any, _message: Any) -> None:
            delivered(None if err is None else DeliveryFailed(str(err.name())))

        produce = self._producer.produce
        for key, value in records:
            produce(topic, value, key, on_delivery=report)

    def ask_broker(self, topic: str, timeout_s: float) -> str | None:
        from confluent_kafka import KafkaError, KafkaException

        try:
            cluster = self._producer.list_topics(topic, timeout=timeout_s)
        except KafkaException as err:
            error = err.args[0]
            timed_out = error.code() == KafkaError._TIMED_OUT
            return no_answer(timeout_s) if timed_out else f"the broker's metadata failed: {error.name()}"
        found = cluster.topics.get(topic)
        return None if found is not None and found.error is None and found.partitions else unknown_topic(topic)

    def close(self, timeout: float) -> None:
        left = self._producer.flush(timeout)
        if left:
            self._producer.purge()
            self._producer.flush(0)
        self._closed.set()
        self._poller.join(1.0)


class _Sent:
    """The outcome of one record of `ConfluentLetterProducer`, known after `flush` (kafka-python's future, in short)."""

    __slots__ = ("error", "is_done")

    def __init__(self) -> None:
        self.is_done = False
        self.error: Any = None

    def succeeded(self) -> bool:
        return self.is_done and self.error is None

    def report(self, err: Any, _message: Any) -> None:
        self.error = err
        self.is_done = True


class ConfluentLetterProducer:
    """The loader's dead-letter producer on librdkafka, in the `send`/`flush`/`close` shape of `kafka_ports.Producer`.

    Delivery reports are served by `flush`, from the loader's own thread: there is no other thread of ours.
    """

    def __init__(self, settings: Settings) -> None:
        from confluent_kafka import Producer

        config = {**_confluent_common(settings, "o11y-loader-dlq"), "linger.ms": 5, "message.timeout.ms": 30_000}
        self._producer = Producer(config)

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None, headers: Any = None,
             partition: int | None = None, timestamp_ms: int | None = None) -> _Sent:
        sent = _Sent()
        self._producer.produce(topic, value, key, partition=-1 if partition is None else partition,
                               on_delivery=sent.report, timestamp=timestamp_ms or 0, headers=headers)
        return sent

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(-1 if timeout is None else timeout)

    def close(self, timeout: float | None = None) -> None:
        self.flush(timeout)


CLIENTS: dict[str, Callable[[Settings], EventProducer]] = {
    "kafka-python": KafkaPythonProducer,
    "confluent-kafka": ConfluentProducer,
}


def build_producer(settings: Settings) -> EventProducer:
    """The producer of the client `O11Y_KAFKA_CLIENT` names."""
    return CLIENTS[settings.kafka_client](settings)
