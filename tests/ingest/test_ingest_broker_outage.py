"""A broker that stops answering: bounded 503s with Retry-After, then recovery without a restart."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from ingest.edge.app import create_app
from o11y.embedded import EmbeddedKafka
from runtime.settings import Settings
from support.events import SECRET, seed_event
from support.kafka_io import read_topic, values

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own


@pytest.fixture
def own_broker() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka() as broker:
        yield broker


@pytest.mark.parametrize("kafka_client", ["kafka-python", "confluent-kafka"])
async def test_broker_down_gives_bounded_503_then_recovers(aiohttp_client: Any, own_broker: EmbeddedKafka,
                                                          kafka_client: Any) -> None:
    settings = Settings(
        kafka_client=kafka_client,
        kafka_bootstrap_servers=own_broker.bootstrap_servers,
        kafka_topic="outage",
        kafka_ack_timeout_ms=1500,
        client_secrets={"kilo-gateway": [SecretStr(SECRET)]},
    )
    client = await aiohttp_client(create_app(settings))

    async def send(marker: str) -> tuple[int, float, Any]:
        started = time.monotonic()
        response = await client.post(
            "/ingest/api-metrics", data=json.dumps(seed_event(kiloUserId=marker)), headers={"Content-Type": "application/json"}
        )
        return response.status, time.monotonic() - started, response

    assert (await send("before"))[0] == 204

    own_broker.pause()
    try:
        outcomes = await asyncio.gather(*(send(f"during-{i}") for i in range(5)))
        for status, elapsed, response in outcomes:
            assert status == 503
            assert response.headers["Retry-After"] == "1"
            assert elapsed < 1.5 + 1.0, "a request must never hang past the acknowledgement bound"
            assert (await response.json())["success"] is False
    finally:
        own_broker.resume()

    recovered: list[int] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = (await send(f"after-{len(recovered)}"))[0]
        recovered.append(status)
        if recovered[-3:] == [204, 204, 204]:
            break
    assert recovered[-3:] == [204, 204, 204], recovered

    delivered = {m["kilo_user_id"] for m in values(read_topic(own_broker.bootstrap_servers, "outage", 4))}
    assert "before" in delivered
    assert {f"after-{i}" for i in range(len(recovered)) if recovered[i] == 204} <= delivered


async def _kafka_readiness(client: Any) -> tuple[int, str]:
    """/readyz's status and what it says of Kafka; an answer that hangs fails the test instead of the suite."""
    response = await asyncio.wait_for(client.get("/readyz"), timeout=10)
    return response.status, (await response.json())["components"]["kafka"]


async def _readiness_until(client: Any, wanted: int, within_s: float = 20.0) -> list[tuple[int, str]]:
    """/readyz asked until it answers `wanted` (a cached answer may hold for a moment), every answer kept."""
    answers = [await _kafka_readiness(client)]
    deadline = time.monotonic() + within_s
    while answers[-1][0] != wanted and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        answers.append(await _kafka_readiness(client))
    return answers


@pytest.mark.parametrize("kafka_client", ["kafka-python", "confluent-kafka"])
async def test_readyz_reports_a_frozen_broker_as_not_ready_and_ready_again_once_it_answers(
    aiohttp_client: Any, own_broker: EmbeddedKafka, kafka_client: Any
) -> None:
    settings = Settings(
        kafka_client=kafka_client,
        kafka_bootstrap_servers=own_broker.bootstrap_servers,
        kafka_topic="frozen-readiness",
        kafka_ack_timeout_ms=1500,
        client_secrets={"kilo-gateway": [SecretStr(SECRET)]},
    )
    client = await aiohttp_client(create_app(settings))
    assert await _kafka_readiness(client) == (200, "ok")

    own_broker.pause()  # the port still accepts connections: only asking the broker tells it is frozen
    try:
        frozen = await _readiness_until(client, 503)
        assert frozen[-1][0] == 503 and frozen[-1][1] != "ok", frozen
        many = await asyncio.gather(*(_kafka_readiness(client) for _ in range(20)))
        assert {status for status, _ in many} == {503}, many
    finally:
        own_broker.resume()

    recovered = await _readiness_until(client, 200)
    assert recovered[-1] == (200, "ok"), recovered
    response = await client.post("/ingest/api-metrics", data=json.dumps(seed_event(kiloUserId="after-freeze")),
                                 headers={"Content-Type": "application/json"})
    assert response.status == 204
