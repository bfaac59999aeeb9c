"""The topics the ingest edge writes (the producer: `ingest.kafka_producers`)."""

from __future__ import annotations

import logging

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from runtime.settings import Settings

log = logging.getLogger(__name__)


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
