"""The ingest producer's contract, for both Kafka clients, against the real broker: each record acknowledged once,
with acks=all, in order within a key, through the same HTTP edge."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from ingest.edge.app import create_app
from ingest.kafka.producers import build_producer
from runtime.settings import Settings
from support.events import SECRET, seed_event
from support.kafka_io import produce, read_topic, values

CLIENTS = ["kafka-python", "confluent-kafka"]


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_each_record_is_acknowledged_once_and_keeps_its_order_within_a_key(settings: Settings, kafka_client: str) -> None:
    settings = settings.model_copy(update={"kafka_client": kafka_client})
    produce(settings.kafka_bootstrap_servers or "", settings.kafka_topic, [])  # the topic, as ingest creates it
    producer = build_producer(settings)
    outcomes: list[BaseException | None] = []
    lock, done = threading.Lock(), threading.Event()

    def delivered(err: BaseException | None) -> None:
        with lock:
            outcomes.append(err)
            if len(outcomes) == 600:
                done.set()

    records = [(f"key-{i % 3}".encode(), json.dumps({"n": i}).encode()) for i in range(600)]
    for start in range(0, 600, 100):
        producer.produce(settings.kafka_topic, records[start:start + 100], delivered)
    assert done.wait(20), f"{len(outcomes)} of 600 acknowledged"
    producer.close(5)
    assert outcomes == [None] * 600

    messages = read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 600)
    assert len(messages) == 600, "each record once"
    for key in range(3):
        mine = [json.loads(m.value)["n"] for m in messages if m.key == f"key-{key}".encode()]
        assert mine == list(range(key, 600, 3)), "one key, one partition, in the order produced"
        assert len({m.partition for m in messages if m.key == f"key-{key}".encode()}) == 1


@pytest.mark.parametrize("kafka_client", CLIENTS)
async def test_the_edge_answers_the_same_on_either_client(aiohttp_client: Any, settings: Settings, kafka_client: str) -> None:
    client = await aiohttp_client(create_app(settings.model_copy(update={"kafka_client": kafka_client})))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    answers = await asyncio.gather(*(client.post("/ingest/api-metrics", data=json.dumps(seed_event(kiloUserId=f"u{i}")),
                                                 headers=headers) for i in range(50)))
    assert [a.status for a in answers] == [204] * 50
    stored = values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 50))
    assert sorted(m["kilo_user_id"] for m in stored) == sorted(f"u{i}" for i in range(50))


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_ingest_creates_its_topics_once_with_the_partitions_asked_for(settings: Settings, kafka_client: str) -> None:
    from kafka import KafkaConsumer

    from ingest.kafka.topics import ensure_topics

    settings = settings.model_copy(update={"kafka_client": kafka_client})
    ensure_topics(settings)
    ensure_topics(settings)  # again: the topics exist, nothing fails
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        for name in (settings.kafka_topic, settings.topic_dlq()):
            assert consumer.partitions_for_topic(name) == set(range(settings.kafka_partitions))
    finally:
        consumer.close()
