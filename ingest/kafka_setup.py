"""Kafka clients for the ingest edge: the producer and the topics it writes."""

from __future__ import annotations

import logging

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from runtime.settings import Settings

log = logging.getLogger(__name__)


def build_producer(settings: Settings) -> KafkaProducer:
    """acks=all and idempotent: a 2xx means the event is in the in-sync replicas."""
    ack_ms = settings.kafka_ack_timeout_ms
    return KafkaProducer(
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


def ensure_topics(settings: Settings) -> None:
    """Create the event topic and its dead-letter topic when missing (idempotent)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, client_id="o11y-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, settings.kafka_partitions, 1)
            for name in (settings.kafka_topic, settings.topic_dlq())
            if name not in existing
        ]
        if wanted:
            try:
                admin.create_topics(wanted)
                log.info("created topics %s", [t.name for t in wanted])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
