"""PostHog capture, observed by a local HTTP server standing in for PostHog."""

from __future__ import annotations

import gzip
import json
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from ingest.edge.app import create_app
from runtime.settings import Settings
from support.events import SECRET, seed_event


async def fake_posthog(aiohttp_server: Any, status: int = 200) -> tuple[Any, list[bytes]]:
    received: list[bytes] = []

    async def capture(request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        received.append(body)
        return web.json_response({"status": 1}, status=status)

    app = web.Application()
    app.router.add_post("/batch/", capture)
    return await aiohttp_server(app), received


async def test_accepted_events_reach_posthog_without_secret_or_raw_ip(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings
) -> None:
    server, received = await fake_posthog(aiohttp_server)
    settings = settings.model_copy(update={"posthog_api_key": SecretStr("phc_test"), "posthog_host": str(server.make_url(""))})
    client = await aiohttp_client(create_app(settings))
    event = seed_event(ipAddress="198.51.100.7", isAnonymous=True)
    response = await client.post("/ingest/api-metrics", data=json.dumps(event), headers={"Content-Type": "application/json"})
    assert response.status == 204
    rejected = await client.post(
        "/ingest/api-metrics", data=json.dumps(seed_event(clientSecret="nope")), headers={"Content-Type": "application/json"}
    )
    assert rejected.status == 403
    await client.close()  # cleanup flushes the PostHog queue

    assert received, "PostHog received nothing"
    assert all(SECRET.encode() not in body for body in received)
    captured = [e for body in received for e in json.loads(body)["batch"]]
    assert len(captured) == 1
    [sent] = captured
    assert sent["event"] == "o11y_api_metrics"
    assert sent["distinct_id"] == "user_123"
    properties = sent["properties"]
    assert properties["clientName"] == "kilo-gateway"
    assert properties["$process_person_profile"] is False
    assert properties["$ip"] == "198.51.100.7"
    assert "clientSecret" not in properties and "ipAddress" not in properties
    assert properties["resolvedModel"] == "anthropic/claude-sonnet-4.5"
    assert properties["tokens"]["totalTokens"] == 30


async def test_posthog_failures_are_counted_and_never_change_the_answer(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings
) -> None:
    server, received = await fake_posthog(aiohttp_server, status=500)
    settings = settings.model_copy(update={"posthog_api_key": SecretStr("phc_test"), "posthog_host": str(server.make_url(""))})
    registry = CollectorRegistry()
    client = await aiohttp_client(create_app(settings, registry=registry))
    response = await client.post(
        "/ingest/api-metrics", data=json.dumps(seed_event()), headers={"Content-Type": "application/json"}
    )
    assert response.status == 204
    await client.close()
    assert received, "the SDK never tried"
    assert registry.get_sample_value("o11y_posthog_failures_total") == 1.0
