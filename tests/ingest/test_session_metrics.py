"""Session events end to end: the reference schema's rules at the edge, the same authentication, limits and dedup as
requests, the message on its own topic, and one row per session (and its rollups) in ClickHouse."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from o11y.embedded import EmbeddedKafka
from runtime.settings import Settings
from schemas.session_event import SESSIONS
from support.events import OTHER_CLIENT_SECRET, SECRET, session_event
from support.kafka_io import read_topic, values
from support.loader_harness import count, running_loader
from support.waiting import wait_until

URL = "/ingest/session-metrics"
BATCH_URL = "/ingest/session-metrics/batch"


@pytest.fixture
def settings(kafka: EmbeddedKafka, topic: str) -> Settings:
    """The suite's ingest settings, with a session topic of this test's own."""
    from pydantic import SecretStr

    return Settings(
        kafka_bootstrap_servers=kafka.bootstrap_servers, kafka_topic=topic, kafka_session_topic=f"sessions-{topic}",
        kafka_partitions=3, kafka_ack_timeout_ms=2000, loader_group_id=f"group-{topic}", loader_session_timeout_ms=6000,
        loader_batch_ms=200,
        client_secrets={"kilo-gateway": [SecretStr(SECRET)], "other-client": [SecretStr(OTHER_CLIENT_SECRET)]},
    )


async def post(client: Any, body: Any, url: str = URL, headers: dict[str, str] | None = None) -> Any:
    return await client.post(url, data=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})})


def session_messages(settings: Settings, expected: int) -> list[dict[str, Any]]:
    return values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_session_topic, expected))


async def test_a_minimal_session_gets_the_reference_defaults_on_its_own_topic(client: Any, settings: Settings) -> None:
    body = session_event(organizationId=..., model=..., ingestVersion=..., timeToFirstResponseMs=..., unknownKey=[1])
    response = await post(client, body)
    assert response.status == 204 and await response.read() == b""
    [message] = session_messages(settings, 1)
    uuid.UUID(message.pop("event_id"))
    message.pop("received_at")
    assert message == {
        "schema_version": 1, "client_name": "kilo-gateway", "kilo_user_id": "user_123", "organization_id": "",
        "session_id": "ses_0001", "platform": "vscode", "session_duration_ms": 184_000,
        "time_to_first_response_ms": None, "total_turns": 4, "total_steps": 17,
        "tool_calls_by_type": {"read_file": 9, "execute_command": 3}, "tool_errors_by_type": {"execute_command": 1},
        "total_errors": 1, "errors_by_type": {"tool_error": 1}, "stuck_tool_call_count": 0, "input_tokens": 52_000,
        "output_tokens": 3_100, "reasoning_tokens": 800, "cache_read_tokens": 40_000, "cache_write_tokens": 6_000,
        "total_cost": 0.4213, "compaction_count": 1, "auto_compaction_count": 1, "termination_reason": "completed",
        "model": "", "ingest_version": 0,
    }
    assert read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 0) == [], "requests' topic untouched"


@pytest.mark.parametrize(("change", "path", "code"), [
    ({"terminationReason": "crashed"}, ["terminationReason"], "literal_error"),
    ({"toolCallsByType": {"read_file": -1}}, ["toolCallsByType", "read_file"], "greater_than_equal"),
    ({"errorsByType": {"timeout": 1.5}}, ["errorsByType", "timeout"], "int_type"),
    ({"totalTokens": {"input": 1, "output": 2, "reasoning": 0, "cacheRead": 0}}, ["totalTokens", "cacheWrite"], "missing"),
    ({"totalTokens": ...}, ["totalTokens"], "missing"),
    ({"sessionId": ""}, ["sessionId"], "string_too_short"),
    ({"platform": ...}, ["platform"], "missing"),
    ({"totalCost": -0.01}, ["totalCost"], "greater_than_equal"),
    ({"sessionDurationMs": "184000"}, ["sessionDurationMs"], "int_type"),
    ({"toolCallsByType": {f"tool_{i}": 1 for i in range(257)}}, ["toolCallsByType"], "too_long"),
    ({"toolErrorsByType": {"": 1}}, ["toolErrorsByType", "", "[key]"], "string_too_short"),
])
async def test_the_reference_rules_answer_400_naming_the_field(client: Any, settings: Settings, change: dict[str, Any],
                                                               path: list[Any], code: str) -> None:
    response = await post(client, session_event(**change))
    assert response.status == 400
    body = await response.json()
    assert body["success"] is False and body["error"] == "Invalid request body"
    assert [issue["path"][:len(path)] for issue in body["issues"]] == [path], body
    assert body["issues"][0]["code"] == code, body
    assert read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_session_topic, 0) == []


@pytest.mark.parametrize("how", ["bearer", "client-secret-header", "admin-token-header", "body"])
async def test_every_way_of_sending_the_secret_works_as_for_requests(client: Any, settings: Settings, how: str) -> None:
    headers = {"bearer": {"Authorization": f"Bearer {OTHER_CLIENT_SECRET}"},
               "client-secret-header": {"X-O11Y-Client-Secret": OTHER_CLIENT_SECRET},
               "admin-token-header": {"X-O11Y-ADMIN-TOKEN": OTHER_CLIENT_SECRET}, "body": {}}[how]
    body = session_event(clientSecret=OTHER_CLIENT_SECRET if how == "body" else ...)
    assert (await post(client, body, headers=headers)).status == 204
    [message] = session_messages(settings, 1)
    assert message["client_name"] == "other-client"
    assert OTHER_CLIENT_SECRET.encode() not in json.dumps(message).encode()


async def test_a_header_secret_wins_over_the_body_and_an_unknown_one_is_403(client: Any, settings: Settings) -> None:
    assert (await post(client, session_event(), headers={"Authorization": f"Bearer {OTHER_CLIENT_SECRET}"})).status == 204
    assert (await post(client, session_event(), headers={"Authorization": "Bearer nobody"})).status == 403
    assert (await post(client, session_event(clientSecret="nobody", terminationReason="bad"))).status == 403
    assert (await post(client, session_event(clientSecret=...))).status == 400
    assert [m["client_name"] for m in session_messages(settings, 1)] == ["other-client"]


async def test_a_batch_takes_valid_sessions_and_lists_the_rejected_ones(client: Any, settings: Settings) -> None:
    items = [session_event(clientSecret=..., sessionId=f"s{i}") for i in range(3)]
    items[1]["terminationReason"] = "exploded"
    response = await post(client, items, BATCH_URL, {"Authorization": f"Bearer {SECRET}"})
    assert response.status == 200
    body = await response.json()
    assert body["accepted"] == 2 and [r["index"] for r in body["rejected"]] == [1]
    assert sorted(m["session_id"] for m in session_messages(settings, 2)) == ["s0", "s2"]


async def test_an_idempotency_key_names_the_same_session_on_every_retry(client: Any, settings: Settings) -> None:
    for _ in range(2):
        assert (await post(client, session_event(), headers={"Idempotency-Key": "ses_0001-final"})).status == 204
    own = str(uuid.uuid4())
    assert (await post(client, session_event(eventId=own))).status == 204
    conflict = await post(client, session_event(eventId=own), headers={"Idempotency-Key": "other"})
    assert conflict.status == 400 and (await conflict.json())["issues"][0]["code"] == "conflicting_event_id"
    ids = [m["event_id"] for m in session_messages(settings, 3)]
    assert ids[0] == ids[1] and ids[2] == own


@pytest.mark.parametrize("shape", ["10000 tool types", "a huge map value", "deep nesting", "a huge batch item"])
async def test_hostile_sessions_are_refused_with_a_4xx(client: Any, settings: Settings, shape: str) -> None:
    url = URL
    body: Any
    if shape == "10000 tool types":
        body = session_event(toolCallsByType={f"tool_{i}": i for i in range(10_000)})
    elif shape == "a huge map value":
        body = session_event(errorsByType={"x" * 60_000: 1})
    elif shape == "deep nesting":
        nested: Any = 1
        for _ in range(5_000):
            nested = {"a": nested}
        body = session_event(toolCallsByType=nested)
    else:
        url, body = BATCH_URL, [session_event(toolCallsByType={f"t{i}": 1 for i in range(10_000)})]
    response = await client.post(url, data=json.dumps(body) if shape != "deep nesting" else _deep_json(body),
                                  headers={"Content-Type": "application/json"})
    assert response.status in (400, 413), await response.text()
    assert read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_session_topic, 0) == []


def _deep_json(body: dict[str, Any]) -> str:
    """`json.dumps` of a body whose nesting is deeper than Python's recursion allows to dump."""
    return json.dumps({**body, "toolCallsByType": "HOLE"}).replace('"HOLE"', '{"a":' * 5_000 + "1" + "}" * 5_000)


async def test_sessions_are_stored_once_with_their_rollups(client: Any, settings: Settings, clickhouse: Any) -> None:
    """Ingest → topic → the session loader → `o11y.session_metrics`, each event once (a retry and a copy of the same
    event id), with its by-type maps and the per-minute, tool and hourly rollups."""
    platform = f"cli-{uuid.uuid4().hex[:6]}"
    event_id = str(uuid.uuid4())
    sent = [session_event(platform=platform, eventId=event_id, kiloUserId="anon:203.0.113.9"),
            session_event(platform=platform, eventId=event_id, kiloUserId="anon:203.0.113.9"),
            session_event(platform=platform, sessionId="ses_0002", terminationReason="error", stuckToolCallCount=2,
                          toolCallsByType={"execute_command": 4}, toolErrorsByType={"execute_command": 2},
                          timeToFirstResponseMs=...)]
    for body in sent:
        assert (await post(client, body)).status == 204
    where = {"platform": platform}
    with running_loader(settings, clickhouse, CollectorRegistry(), kind=SESSIONS):
        assert wait_until(lambda: count(clickhouse, "SELECT count() FROM o11y.session_metrics "
                                        "WHERE platform = {platform:String}", **where) >= 2, 60)
        assert wait_until(lambda: count(clickhouse, "SELECT count() FROM o11y.event_ids WHERE kafka_topic = "
                                        "{topic:String}", topic=settings.kafka_session_topic) >= 2, 30)
    rows = clickhouse.query(
        "SELECT session_id, kilo_user_id, termination_reason, tool_calls_by_type, tool_errors_by_type, tool_calls, "
        "tool_errors, time_to_first_response_ms, cache_read_tokens, total_cost FROM o11y.session_metrics "
        "WHERE platform = {platform:String} ORDER BY session_id", parameters=where).result_rows
    assert rows == [
        ("ses_0001", "anonymous", "completed", {"read_file": 9, "execute_command": 3}, {"execute_command": 1}, 12, 1,
         2300, 40_000, 0.4213),
        ("ses_0002", "user_123", "error", {"execute_command": 4}, {"execute_command": 2}, 4, 2, None, 40_000, 0.4213),
    ]
    minute = clickhouse.query("SELECT termination_reason, stuck, sum(sessions) FROM o11y.session_metrics_1m "
                              "WHERE platform = {platform:String} GROUP BY 1, 2 ORDER BY 1", parameters=where).result_rows
    assert minute == [("completed", False, 1), ("error", True, 1)]
    tools = clickhouse.query("SELECT tool_type, sum(calls), sum(errors) FROM o11y.session_tools_1m "
                             "WHERE platform = {platform:String} GROUP BY 1 ORDER BY 1", parameters=where).result_rows
    assert tools == [("execute_command", 7, 3), ("read_file", 9, 0)]
    hourly = clickhouse.query("SELECT sum(sessions), sum(stuck_sessions), sum(tool_errors), round(sum(cost_usd), 4), "
                              "quantilesTDigestMerge(0.5, 0.95, 0.99)(first_response_ms_digest)[1] "
                              "FROM o11y.sessions_1h WHERE platform = {platform:String}", parameters=where).result_rows
    assert hourly == [(2, 1, 3, 0.8426, 2300.0)]
