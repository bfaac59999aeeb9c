"""The ingest API against a real tansu broker: every answer, and what reaches the topic."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from runtime.settings import Settings
from schemas.request_event import message_fields
from support.events import OTHER_CLIENT_SECRET, ROTATED_SECRET, SECRET, seed_event
from support.kafka_io import read_topic, values

URL = "/ingest/api-metrics"
BATCH_URL = "/ingest/api-metrics/batch"


async def post(client: Any, body: Any, url: str = URL, headers: dict[str, str] | None = None) -> Any:
    return await client.post(url, data=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})})


async def test_the_seed_fixture_is_accepted_with_an_empty_204(client: Any) -> None:
    response = await post(client, seed_event())
    assert response.status == 204
    assert await response.read() == b""


async def test_the_message_carries_every_field_sent_and_no_secret_or_ip(client: Any, settings: Settings) -> None:
    before = datetime.now(timezone.utc)
    response = await post(client, seed_event(ipAddress="203.0.113.9", inferenceProvider="together", unknownKey=1))
    assert response.status == 204

    messages = read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 1)
    assert len(messages) == 1
    message = values(messages)[0]
    uuid.UUID(message.pop("event_id"))
    received_at = datetime.fromisoformat(message.pop("received_at"))
    assert before - timedelta(seconds=1) <= received_at <= datetime.now(timezone.utc)
    assert message == {
        **{field.name: None for field in message_fields()},  # a declared field the event did not send is null
        "schema_version": 1,
        "client_name": "kilo-gateway",
        "kilo_user_id": "user_123",
        "organization_id": "org_456",
        "is_anonymous": False,
        "is_streaming": True,
        "user_byok": False,
        "mode": "build",
        "provider": "openai",
        "requested_model": "kilo/auto",
        "resolved_model": "anthropic/claude-sonnet-4.5",
        "inference_provider": "together",
        "tools_available": ["function:get_weather", "function:searchDocs"],
        "tools_used": ["function:searchDocs"],
        "ttfb_ms": 45,
        "complete_request_ms": 123,
        "status_code": 200,
        "input_tokens": 10,
        "output_tokens": 20,
        "cache_write_tokens": 0,
        "cache_hit_tokens": 3,
        "total_tokens": 30,
    }
    raw = messages[0].value
    assert SECRET.encode() not in raw and b"203.0.113.9" not in raw
    assert messages[0].key == b"kilo-gateway\x1fopenai\x1fanthropic/claude-sonnet-4.5"


async def test_a_429_event_is_accepted_and_keeps_its_status_for_the_error_slo(client: Any, settings: Settings) -> None:
    assert (await post(client, seed_event(statusCode=429))).status == 204
    [message] = values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 1))
    assert message["status_code"] == 429


async def test_each_event_gets_its_own_event_id(client: Any, settings: Settings) -> None:
    for _ in range(5):
        assert (await post(client, seed_event())).status == 204
    messages = values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 5))
    assert len({m["event_id"] for m in messages}) == 5


async def test_an_empty_body_is_400_with_an_issue_per_missing_field(client: Any) -> None:
    response = await post(client, {})
    assert response.status == 400
    body = await response.json()
    assert body["success"] is False and body["error"] == "Invalid request body"
    paths = {tuple(issue["path"]) for issue in body["issues"]}
    assert ("kiloUserId",) in paths and ("statusCode",) in paths and ("toolsUsed",) in paths


async def test_each_issue_names_the_field_path_and_the_problem(client: Any) -> None:
    event = seed_event(statusCode=600, ttfbMs=-1, ipAddress="not-an-ip", tokens={"inputTokens": -5}, mode="")
    body = await (await post(client, event)).json()
    problems = {tuple(i["path"]): i["message"] for i in body["issues"]}
    assert set(problems) == {("statusCode",), ("ttfbMs",), ("ipAddress",), ("tokens", "inputTokens"), ("mode",)}
    assert "599" in problems[("statusCode",)]
    assert "IPv4 or IPv6" in problems[("ipAddress",)]


async def test_null_optional_fields_are_rejected_like_the_seed(client: Any) -> None:
    body = await (await post(client, seed_event(organizationId=None))).json()
    assert [i["path"] for i in body["issues"]] == [["organizationId"]]


async def test_malformed_json_is_400_with_the_same_shape(client: Any) -> None:
    response = await client.post(URL, data=b'{"kiloUserId": ', headers={"Content-Type": "application/json"})
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "Invalid request body" and body["issues"][0]["code"] == "invalid_json"


async def test_an_unknown_secret_is_refused_before_the_body_is_judged(client: Any) -> None:
    assert (await post(client, {"clientSecret": "wrong"})).status == 403  # the seed said 400 here
    assert (await post(client, {"clientSecret": SECRET})).status == 400
    assert (await post(client, {}, headers={"Authorization": "Bearer wrong"})).status == 403


async def test_an_unknown_secret_is_403_and_never_reaches_kafka(client: Any, settings: Settings) -> None:
    response = await post(client, seed_event(clientSecret="not-a-known-secret"))
    assert response.status == 403
    assert await response.json() == {"success": False, "error": "Authentication failed"}
    blank = await post(client, seed_event(clientSecret="   "))
    assert blank.status == 403
    assert read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 0, timeout_s=1) == []


async def test_both_secrets_of_a_rotating_client_work(client: Any, settings: Settings) -> None:
    assert (await post(client, seed_event(clientSecret=SECRET))).status == 204
    assert (await post(client, seed_event(clientSecret=ROTATED_SECRET))).status == 204
    assert (await post(client, seed_event(clientSecret=OTHER_CLIENT_SECRET))).status == 204
    names = sorted(m["client_name"] for m in values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 3)))
    assert names == ["kilo-gateway", "kilo-gateway", "other-client"]


async def test_the_secret_may_come_in_a_bearer_or_custom_header(client: Any, settings: Settings) -> None:
    event = seed_event(clientSecret=...)
    bearer = await post(client, event, headers={"Authorization": f"Bearer {SECRET}"})
    custom = await post(client, event, headers={"X-O11Y-Client-Secret": OTHER_CLIENT_SECRET})
    wrong = await post(client, event, headers={"Authorization": "Bearer nope"})
    missing = await post(client, event)
    assert (bearer.status, custom.status, wrong.status, missing.status) == (204, 204, 403, 400)
    assert (await missing.json())["issues"][0]["path"] == ["clientSecret"]
    names = sorted(m["client_name"] for m in values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 2)))
    assert names == ["kilo-gateway", "other-client"]


async def test_a_body_above_the_limit_is_413(client: Any, settings: Settings) -> None:
    event = seed_event(toolsAvailable=["function:x" * 100] * 100)
    assert len(json.dumps(event)) > settings.http_max_body_bytes
    response = await post(client, event)
    assert response.status == 413
    assert "limit" in (await response.json())["error"]


async def test_a_chunked_body_above_the_limit_is_413(client: Any, settings: Settings) -> None:
    async def chunks() -> Any:
        for _ in range(100):
            yield b" " * 1024

    response = await client.post(URL, data=chunks(), headers={"Content-Type": "application/json"})
    assert response.status == 413


async def test_a_non_json_content_type_is_415(client: Any) -> None:
    response = await client.post(URL, data=json.dumps(seed_event()), headers={"Content-Type": "text/plain"})
    assert response.status == 415
    assert (await response.json())["success"] is False


async def test_batch_accepts_valid_items_and_lists_rejected_indexes(client: Any, settings: Settings) -> None:
    items = [seed_event(), seed_event(statusCode=99), seed_event(provider="anthropic"), {"clientSecret": SECRET}]
    response = await post(client, items, BATCH_URL)
    assert response.status == 200
    body = await response.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 3]
    assert body["rejected"][0]["issues"][0]["path"] == ["statusCode"]
    messages = values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 2))
    assert sorted(m["provider"] for m in messages) == ["anthropic", "openai"]


async def test_batch_with_the_secret_in_a_header(client: Any, settings: Settings) -> None:
    items = [seed_event(clientSecret=...) for _ in range(50)]
    response = await post(client, items, BATCH_URL, headers={"Authorization": f"Bearer {SECRET}"})
    assert (await response.json())["accepted"] == 50
    assert len(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 50)) == 50


@pytest.mark.parametrize("secret_in", ["header", "body"])
async def test_a_batch_is_answered_the_same_whichever_way_it_is_read(client: Any, settings: Settings, secret_in: str) -> None:
    """With a header, a batch is validated in one pass; every answer matches the item-by-item reader's."""
    headers = {"Authorization": f"Bearer {SECRET}"} if secret_in == "header" else {}

    def batch(*items: dict[str, Any]) -> list[dict[str, Any]]:
        return [item if secret_in == "body" else {k: v for k, v in item.items() if k != "clientSecret"} for item in items]

    tricky = seed_event(mode="a},{b", kiloUserId='u"},{"')  # the text between items, inside strings
    ok = await post(client, batch(seed_event(), tricky, seed_event()), BATCH_URL, headers)
    assert (ok.status, await ok.json()) == (200, {"success": True, "accepted": 3, "rejected": []})
    stored = values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 3))
    assert sorted(m["mode"] for m in stored) == sorted([seed_event()["mode"], "a},{b", seed_event()["mode"]])

    one_bad = await post(client, batch(seed_event(), seed_event(statusCode=1), seed_event()), BATCH_URL, headers)
    body = await one_bad.json()
    assert one_bad.status == 200 and body["accepted"] == 2 and [r["index"] for r in body["rejected"]] == [1]

    big = await post(client, batch(*[seed_event()] * 150), BATCH_URL, headers)  # more bytes than one event may have
    assert (big.status, (await big.json())["accepted"]) == (200, 150)

    padded = seed_event()
    padded["padding"] = "p" * settings.http_max_body_bytes
    too_large = await post(client, batch(seed_event(), padded), BATCH_URL, headers)
    assert too_large.status == 413 and (await too_large.json())["index"] == 1

    for shape in ([1] * (settings.http_max_batch_events + 1), [seed_event()] * (settings.http_max_batch_events + 1), []):
        assert (await post(client, batch(*shape) if shape and isinstance(shape[0], dict) else shape, BATCH_URL,
                           headers)).status == 400
    assert len(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 200, timeout_s=1)) == 155


async def test_batch_mixing_clients_is_400_and_nothing_is_written(client: Any, settings: Settings) -> None:
    response = await post(client, [seed_event(), seed_event(clientSecret=OTHER_CLIENT_SECRET)], BATCH_URL)
    assert response.status == 400
    assert (await response.json())["issues"][0]["code"] == "mixed_clients"
    assert read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 0, timeout_s=1) == []


async def test_batch_limits_and_bad_shapes_are_400_or_403(client: Any, settings: Settings) -> None:
    too_many = [seed_event()] * (settings.http_max_batch_events + 1)
    assert (await post(client, too_many, BATCH_URL)).status == 400
    assert (await post(client, [], BATCH_URL)).status == 400
    assert (await post(client, seed_event(), BATCH_URL)).status == 400
    assert (await post(client, [seed_event(clientSecret="bad")], BATCH_URL)).status == 403
    all_invalid = await post(client, [seed_event(statusCode=1)], BATCH_URL)
    assert all_invalid.status == 400 and (await all_invalid.json())["accepted"] == 0


async def test_health_readiness_and_metrics(client: Any) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200 and body["components"] == {"kafka": "ok"}
    assert list(body["latency_ms"]) == ["kafka"] and 0 <= body["latency_ms"]["kafka"] < 5000  # how long the check took
    await post(client, seed_event())
    await post(client, {})
    text = await (await client.get("/metrics")).text()
    assert 'o11y_ingest_requests_total{route="/ingest/api-metrics",status="204"} 1.0' in text
    assert 'o11y_ingest_requests_total{route="/ingest/api-metrics",status="400"} 1.0' in text
    assert 'o11y_kafka_produce_latency_seconds_count{outcome="acked"} 1.0' in text
    assert SECRET not in text


async def test_no_log_line_carries_a_secret_or_an_ip(client: Any, caplog: Any) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    await post(client, seed_event(ipAddress="198.51.100.23"))
    await post(client, seed_event(clientSecret="wrong-secret-value-123"))
    await post(client, seed_event(statusCode=1000, clientSecret=ROTATED_SECRET))
    await post(client, seed_event(clientSecret=...), headers={"Authorization": f"Bearer {OTHER_CLIENT_SECRET}"})
    await client.post(URL, data=b"{broken " + SECRET.encode(), headers={"Content-Type": "application/json"})
    text = caplog.text
    assert caplog.records, "expected some log output at DEBUG level"
    for secret in (SECRET, ROTATED_SECRET, OTHER_CLIENT_SECRET, "wrong-secret-value-123", "198.51.100.23"):
        assert secret not in text


def test_batches_never_take_the_budget_kept_for_single_events() -> None:
    from ingest.edge.request_body import InflightBytes
    from runtime.settings import BYTES_PER_BODY_BYTE

    budget = InflightBytes(64 * BYTES_PER_BODY_BYTE * 1024, small_body_bytes=1024)
    while budget.take(4096):  # batches until they can take no more
        pass
    assert budget.used <= budget.limit - budget.limit // InflightBytes.RESERVED
    singles = 0
    while budget.take(700):
        singles += 1
    assert singles >= (budget.limit // InflightBytes.RESERVED) // (700 * BYTES_PER_BODY_BYTE) - 1
    assert not budget.take(4096)
