"""A broker that stops answering: bounded 503s with Retry-After, then recovery without a restart."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from ingest.app import create_app
from o11y.embedded import EmbeddedKafka
from runtime.settings import Settings
from support.events import SECRET, seed_event
from support.kafka_io import read_topic, values


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
