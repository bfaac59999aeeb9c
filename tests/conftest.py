"""Real components for the whole test session: a tansu broker, chDB, redis-server, the HTTP stand-ins; the leak check."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from o11y.embedded import EmbeddedKafka
from runtime.settings import Settings
from support.events import ALL_SECRETS, OTHER_CLIENT_SECRET, ROTATED_SECRET, SECRET


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
    logging.getLogger("o11y.tests").info("the leak check sees this line")
    yield
    root.removeHandler(handler)
    root.setLevel(level)
    assert "the leak check sees this line" in handler.lines, "the leak check captures no log line"
    leaked = [line for line in handler.lines if any(secret in line for secret in ALL_SECRETS)]
    assert leaked == [], leaked[:3]


REAL_COMPONENTS = frozenset({"kafka", "clickhouse", "clickhouse_url", "redis_server", "redis_client", "settings", "client"})
"""Fixtures that start or use a real broker, ClickHouse or Redis: a test that takes one is a `component` test."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`component` marks every test on real components or processes: `make test-fast` (-m "not component") leaves
    them out for the edit-run loop; `make test` runs them all."""
    for item in items:
        if REAL_COMPONENTS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.component)


@pytest.fixture(scope="session")
def kafka() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka() as broker:
        yield broker


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
        client_secrets={
            "kilo-gateway": [SecretStr(SECRET), SecretStr(ROTATED_SECRET)],
            "other-client": [SecretStr(OTHER_CLIENT_SECRET)],
        },
        http_max_body_bytes=64 * 1024,
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, registry: CollectorRegistry) -> AsyncIterator[Any]:
    from ingest.edge.app import create_app

    yield await aiohttp_client(create_app(settings, registry=registry))


@pytest.fixture(scope="session")
def clickhouse_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The chDB path of this process's ClickHouse: another client of it is another handle of the same engine."""
    return f"chdb://{tmp_path_factory.mktemp('chdb')}"


@pytest.fixture(scope="session")
def clickhouse(clickhouse_url: str) -> Any:
    """The real ClickHouse engine (chDB) for this process, migrated once; tests isolate by topic and client."""
    from runtime.clickhouse import connect
    from storage.schema import migrate

    client = connect(clickhouse_url)
    migrate(client)
    return client


@pytest.fixture
def client_name() -> str:
    return f"client-{uuid.uuid4().hex[:8]}"


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
    from support.fake_slack import FakeSlack

    with FakeSlack() as server:
        yield server


@pytest.fixture(scope="session")
def slack_api_server() -> Iterator[Any]:
    from support.fake_slack_api import FakeSlackApi

    with FakeSlackApi() as server:
        yield server


@pytest.fixture
def slack_api(slack_api_server: Any) -> Any:
    """Slack's Web API for one test: the session's server, emptied of the previous test's messages and faults."""
    slack_api_server.reset()
    return slack_api_server


@pytest.fixture(scope="session")
def pagerduty_server() -> Iterator[Any]:
    from support.fake_pagerduty import FakePagerDuty

    with FakePagerDuty() as server:
        yield server


@pytest.fixture
def pagerduty(pagerduty_server: Any) -> Any:
    """PagerDuty's Events API v2 for one test (the session's server, reset)."""
    pagerduty_server.reset()
    return pagerduty_server


@pytest.fixture(scope="session")
def am_receiver_server() -> Iterator[Any]:
    from support.fake_alertmanager import FakeAlertmanagerReceiver

    with FakeAlertmanagerReceiver() as server:
        yield server


@pytest.fixture
def am_receiver(am_receiver_server: Any) -> Any:
    """A receiver of Alertmanager-format webhooks that requires the bearer token, for one test (reset)."""
    am_receiver_server.reset()
    return am_receiver_server
