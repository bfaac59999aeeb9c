"""Producing to and reading from the real broker the way a test needs: whole topics, backdated records."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError


def produce(servers: str, topic: str, records: Sequence[tuple[bytes | None, bytes]], partitions: int = 3,
            timestamps_ms: list[int] | None = None) -> None:
    """Produce `records` (creating the topic and its DLQ); `timestamps_ms` backdates them, as if sent back then."""
    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        admin.create_topics([NewTopic(topic, partitions, 1), NewTopic(f"{topic}-dlq", 1, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
    for i, (key, value) in enumerate(records):
        producer.send(topic, key=key, value=value, timestamp_ms=timestamps_ms[i] if timestamps_ms else None)
    producer.flush()
    producer.close()


def read_topic(servers: str, topic: str, expected: int, timeout_s: float = 15.0) -> list[Any]:
    """Every message of `topic` from the beginning, waiting until at least `expected` arrived."""
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False, fetch_max_wait_ms=50)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        messages: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while len(messages) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                messages.extend(batch)
        # A short extra poll shows whether anything beyond `expected` is there.
        for batch in consumer.poll(timeout_ms=300).values():
            messages.extend(batch)
        return messages
    finally:
        consumer.close()


def values(messages: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(m.value) for m in messages]
