"""Real components for the whole test session: a tansu broker (and later chDB, redis-server)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from o11y.embedded import EmbeddedKafka
from runtime.settings import Settings

SECRET = "test-secret-0123456789"
ROTATED_SECRET = "test-secret-rotated-abcdef"
OTHER_CLIENT_SECRET = "other-client-secret-xyz"
WEBHOOK_TOKEN = "xWebhookToken0o11yTestSecret"
HEARTBEAT_TOKEN = "hb-token-0o11y-test-secret"
ADMIN_TOKEN = "admin-token-0123456789abcdef"
ALL_SECRETS = (SECRET, ROTATED_SECRET, OTHER_CLIENT_SECRET, "oracle-secret-value", "sustained-secret", WEBHOOK_TOKEN,
               HEARTBEAT_TOKEN, ADMIN_TOKEN)


class _EveryLogLine(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot be formatted carries nothing to leak
            pass


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log_line() -> Iterator[None]:
    """Every log line of the whole suite (INFO and up) is checked for the secrets the tests use."""
    handler = _EveryLogLine()
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(min(level, logging.INFO) if level else logging.INFO)
    yield
    root.removeHandler(handler)
    root.setLevel(level)
    assert handler.lines, "no log line was captured"
    leaked = [line for line in handler.lines if any(secret in line for secret in ALL_SECRETS)]
    assert leaked == [], leaked[:3]


def seed_event(**overrides: Any) -> dict[str, Any]:
    """The seed worker's test fixture (facts §6)."""
    event: dict[str, Any] = {
        "clientSecret": SECRET,
        "kiloUserId": "user_123",
        "organizationId": "org_456",
        "isAnonymous": False,
        "isStreaming": True,
        "userByok": False,
        "mode": "build",
        "provider": "openai",
        "requestedModel": "kilo/auto",
        "resolvedModel": "anthropic/claude-sonnet-4.5",
        "toolsAvailable": ["function:get_weather", "function:searchDocs"],
        "toolsUsed": ["function:searchDocs"],
        "ttfbMs": 45,
        "completeRequestMs": 123,
        "statusCode": 200,
        "tokens": {"inputTokens": 10, "outputTokens": 20, "cacheWriteTokens": 0, "cacheHitTokens": 3, "totalTokens": 30},
    }
    event.update(overrides)
    return {k: v for k, v in event.items() if v is not ...}


@pytest.fixture(scope="session")
def kafka() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka() as broker:
        yield broker  # type: ignore[misc]


@pytest.fixture
def topic() -> str:
    return f"api-metrics-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(kafka: EmbeddedKafka, topic: str) -> Settings:
    return Settings(
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        kafka_topic=topic,
        kafka_partitions=3,
        kafka_ack_timeout_ms=2000,
        client_secrets={"kilo-gateway": [SECRET, ROTATED_SECRET], "other-client": [OTHER_CLIENT_SECRET]},
        http_max_body_bytes=64 * 1024,
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, registry: CollectorRegistry) -> AsyncIterator[Any]:
    from ingest.app import create_app

    yield await aiohttp_client(create_app(settings, registry=registry))


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


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The real ClickHouse engine (chDB) for this process, migrated once; tests isolate by topic and client."""
    from ingest.clickhouse_migrations import migrate
    from runtime.clickhouse import connect

    client = connect(f"chdb://{tmp_path_factory.mktemp('chdb')}")
    migrate(client)
    return client


@pytest.fixture
def client_name() -> str:
    return f"client-{uuid.uuid4().hex[:8]}"


def event_messages(count: int, client_name: str, **overrides: Any) -> list[tuple[bytes, bytes]]:
    """Encoded (key, value) pairs exactly as ingest produces them."""
    from datetime import datetime, timezone

    from schemas.api_metrics import ApiMetricsParams
    from schemas.event_message import encode_message, message_from_event, message_key

    out = []
    for i in range(count):
        event = ApiMetricsParams.model_validate(seed_event(**{"kiloUserId": f"user-{i}", **overrides}))
        message = message_from_event(event, client_name, datetime.now(timezone.utc))
        out.append((message_key(message), encode_message(message)))
    return out


def produce(servers: str, topic: str, records: list[tuple[bytes | None, bytes]], partitions: int = 3,
            timestamps_ms: list[int] | None = None) -> None:
    """Produce `records` (creating the topic and its DLQ); `timestamps_ms` backdates them, as if sent back then."""
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

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


def wait_until(predicate: Any, timeout_s: float = 30.0, interval_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Any]:
    from o11y.embedded import EmbeddedRedis

    with EmbeddedRedis() as server:
        yield server


@pytest.fixture
def redis_client(redis_server: Any) -> Any:
    from redis import Redis

    client = Redis.from_url(redis_server.url)
    client.flushall()
    return client


@pytest.fixture
def slack() -> Iterator[Any]:
    from fake_slack import FakeSlack

    with FakeSlack() as server:
        yield server
