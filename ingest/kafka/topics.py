"""The topics the ingest edge writes (the producer: `ingest.kafka.producers`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from runtime.settings import Settings

log = logging.getLogger(__name__)


def ensure_topics(settings: Settings) -> None:
    """Create every event type's topic and its dead-letter topic when missing (idempotent), with the client
    `O11Y_KAFKA_CLIENT` names."""
    if settings.kafka_client == "confluent-kafka":
        _ensure_with_confluent(settings)
        return
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, client_id="o11y-admin")
    try:
        wanted = [NewTopic(name, settings.kafka_partitions, 1) for name in _missing(settings, admin.list_topics())]
        if wanted:
            try:
                admin.create_topics(wanted)
                log.info("created topics %s", [t.name for t in wanted])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def _missing(settings: Settings, existing: Iterable[str]) -> list[str]:
    """Every event type's topic and its dead-letter topic, those of them not in `existing`."""
    have = set(existing)
    return [name for name in settings.all_topics() if name not in have]


def _ensure_with_confluent(settings: Settings) -> None:
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic as ConfluentTopic

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers or "", "client.id": "o11y-admin"})
    missing = _missing(settings, admin.list_topics(timeout=10).topics)
    wanted = [ConfluentTopic(name, settings.kafka_partitions, 1) for name in missing]
    if not wanted:
        return
    for name, created in admin.create_topics(wanted, request_timeout=10).items():
        try:
            created.result(timeout=10)
            log.info("created topic %s", name)
        except KafkaException as err:
            if err.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
