"""Each event is stored once: copies of messages, gateway retries by event id or Idempotency-Key, batch items."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from ingest.edge.app import create_app
from ingest.loading.event_dedup import copies
from ingest.loading.rows import Row
from o11y.embedded import EmbeddedKafka
from runtime.settings import Settings
from support.events import OTHER_CLIENT_SECRET, SECRET, event_messages, seed_event
from support.kafka_io import produce, read_topic, values
from support.loader_harness import count, loader_settings, running_loader
from support.waiting import wait_until

LOADED = {"event_type": "api-metrics"}
"""The request loader's series of the loader's metrics."""

RAW = "SELECT count() FROM o11y.api_metrics WHERE kafka_topic = {t:String}"
DISTINCT = "SELECT uniqExact(event_id) FROM o11y.api_metrics WHERE kafka_topic = {t:String}"
ROLLUP = "SELECT sum(requests) FROM o11y.api_metrics_1m WHERE client_name = {c:String}"
URL = "/ingest/api-metrics"


def row(partition: int, offset: int, event_id: str, client: str = "a") -> Row:
    return Row(partition, event_id, b"{}", offset, client, 0)


def test_a_copy_is_left_out_but_a_row_stored_at_its_own_place_is_kept() -> None:
    stored = [("a", "e1", ("t", 0, 5)), ("a", "e2", ("t", 0, 7))]
    rows = [row(0, 7, "e2"), row(0, 9, "e1"), row(0, 10, "e3")]
    assert copies("t", rows, stored) == {(0, 9)}  # e1 is stored at offset 5; e2 at 7 is this very row (a replay)


def test_the_second_row_of_one_event_in_a_batch_is_left_out_and_clients_do_not_collide() -> None:
    rows = [row(1, 4, "e1"), row(1, 2, "e1"), row(1, 3, "e1", client="b")]
    assert copies("t", rows, []) == {(1, 4)}


def test_copies_of_every_message_in_the_log_are_stored_once(
    kafka: EmbeddedKafka, topic: str, client_name: str, clickhouse: Any
) -> None:
    records = event_messages(300, client_name)
    produce(kafka.bootstrap_servers, topic, records)
    produce(kafka.bootstrap_servers, topic, records)  # an operator re-produces the whole range
    registry = CollectorRegistry()
    with running_loader(loader_settings(kafka.bootstrap_servers, topic, "copies"), clickhouse, registry):
        assert wait_until(lambda: registry.get_sample_value("o11y_loader_duplicate_events_total", LOADED) == 300, 60)
    assert count(clickhouse, RAW, t=topic) == count(clickhouse, DISTINCT, t=topic) == 300
    assert count(clickhouse, ROLLUP, c=client_name) == 300

    produce(kafka.bootstrap_servers, topic, records[:50])  # ...and later, after a restart, some of it once more
    again = CollectorRegistry()
    with running_loader(loader_settings(kafka.bootstrap_servers, topic, "copies"), clickhouse, again):
        assert wait_until(lambda: again.get_sample_value("o11y_loader_duplicate_events_total", LOADED) == 50, 60)
    assert count(clickhouse, RAW, t=topic) == 300 and count(clickhouse, ROLLUP, c=client_name) == 300


@pytest.fixture
def own_broker() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka() as broker:
        yield broker


def retry_settings(broker: EmbeddedKafka, topic: str) -> Settings:
    return Settings(kafka_bootstrap_servers=broker.bootstrap_servers, kafka_topic=topic, kafka_ack_timeout_ms=1500,
                    client_secrets={"kilo-gateway": [SecretStr(SECRET)], "other-client": [SecretStr(OTHER_CLIENT_SECRET)]})


async def test_a_retry_after_a_503_whose_write_landed_is_stored_once(
    aiohttp_client: Any, own_broker: EmbeddedKafka, clickhouse: Any
) -> None:
    topic = f"retry-{uuid.uuid4().hex[:8]}"
    client = await aiohttp_client(create_app(retry_settings(own_broker, topic)))
    event_id, user = str(uuid.uuid4()), f"retried-{uuid.uuid4().hex[:6]}"
    body = json.dumps(seed_event(eventId=event_id, kiloUserId=user))
    headers = {"Content-Type": "application/json"}
    assert (await client.post(URL, data=json.dumps(seed_event(kiloUserId="warm-up")), headers=headers)).status == 204

    own_broker.pause()  # the request reaches the broker, which answers only after the ack timeout
    try:
        assert (await client.post(URL, data=body, headers=headers)).status == 503
    finally:
        own_broker.resume()
    statuses = []
    for _ in range(40):  # the gateway retries the same event until it is acknowledged
        statuses.append((await client.post(URL, data=body, headers=headers)).status)
        if statuses[-1] == 204:
            break
        await asyncio.sleep(0.5)
    assert statuses[-1] == 204, statuses
    in_log = [m for m in values(read_topic(own_broker.bootstrap_servers, topic, 3)) if m["kilo_user_id"] == user]
    assert len(in_log) >= 2 and {m["event_id"] for m in in_log} == {event_id}, "the first write landed too"

    with running_loader(loader_settings(own_broker.bootstrap_servers, topic, "retry"), clickhouse):
        assert wait_until(lambda: count(clickhouse, RAW, t=topic) == 2)  # the warm-up and the retried event
    stored = clickhouse.query("SELECT toString(event_id) FROM o11y.api_metrics WHERE kilo_user_id = {u:String}",
                              parameters={"u": user}).result_rows
    assert stored == [(event_id,)]


async def test_idempotency_keys_and_batch_ids_store_each_event_once(
    client: Any, settings: Settings, clickhouse: Any
) -> None:
    headers = {"Content-Type": "application/json"}
    key = str(uuid.uuid4())
    for _ in range(2):
        response = await client.post(URL, data=json.dumps(seed_event(kiloUserId="keyed")),
                                     headers={**headers, "Idempotency-Key": key.upper()})
        assert response.status == 204
    ids = [str(uuid.uuid4()) for _ in range(4)]
    first = [seed_event(eventId=i, kiloUserId=f"batch-{n}") for n, i in enumerate(ids[:3])]
    second = [seed_event(eventId=ids[1], kiloUserId="batch-1"), seed_event(eventId=ids[3], kiloUserId="batch-3"),
              seed_event(eventId=ids[3], kiloUserId="batch-3")]
    for items in (first, second):
        response = await client.post(URL + "/batch", data=json.dumps(items), headers=headers)
        assert response.status == 200 and (await response.json())["accepted"] == 3

    topic = settings.kafka_topic
    assert len(read_topic(settings.kafka_bootstrap_servers or "", topic, 8)) == 8
    with running_loader(loader_settings(settings.kafka_bootstrap_servers or "", topic, "keys"), clickhouse):
        assert wait_until(lambda: count(clickhouse, RAW, t=topic) == 5)
    rows = clickhouse.query("SELECT toString(event_id), kilo_user_id FROM o11y.api_metrics WHERE kafka_topic = {t:String} "
                            "ORDER BY kilo_user_id", parameters={"t": topic}).result_rows
    assert rows == [(ids[0], "batch-0"), (ids[1], "batch-1"), (ids[2], "batch-2"), (ids[3], "batch-3"), (key, "keyed")]


async def test_a_uuid_key_is_the_event_id_and_must_agree_with_event_id(client: Any) -> None:
    headers = {"Content-Type": "application/json"}
    other = await client.post(URL, data=json.dumps(seed_event(eventId=str(uuid.uuid4()))),
                              headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert other.status == 400 and (await other.json())["issues"][0]["code"] == "conflicting_event_id"
    same = str(uuid.uuid4())
    agreeing = await client.post(URL, data=json.dumps(seed_event(eventId=same)),
                                 headers={**headers, "Idempotency-Key": f" {same.upper()} "})
    assert agreeing.status == 204
    not_uuid = await client.post(URL, data=json.dumps(seed_event(eventId="7")), headers=headers)
    assert not_uuid.status == 400 and (await not_uuid.json())["issues"][0]["path"] == ["eventId"]


KEYS = uuid.UUID("eea7266d-7693-4501-a195-da2c1075d646")
"""The namespace the docs give (docs/gateways/retries.md) for the ids a key that is not a UUID names."""
MODELS_ONLY = {"ttfbMs": 45.0}
"""An event msgspec leaves to the model (a whole float): keys must name the same id on both readers."""


async def test_a_gateways_own_request_id_names_one_event_per_client(client: Any, settings: Settings) -> None:
    key = "req_01J9ZK3V8Q2T/gen-7f3a"
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    for event, key_form in ((seed_event(kiloUserId="retried"), key), (seed_event(kiloUserId="retried", **MODELS_ONLY), key),
                            (seed_event(kiloUserId="retried"), f'"{key}"'),  # the draft's quoted form: the same key
                            (seed_event(kiloUserId="other", clientSecret=OTHER_CLIENT_SECRET), key),
                            (seed_event(kiloUserId="longest"), "k" * 255)):
        response = await client.post(URL, data=json.dumps(event), headers={**headers, "Idempotency-Key": key_form})
        assert response.status == 204, await response.text()
    messages = values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 5))
    ids = {(m["client_name"], m["kilo_user_id"], m["event_id"]) for m in messages}
    assert ids == {("kilo-gateway", "retried", str(uuid.uuid5(KEYS, f"kilo-gateway\n{key}"))),
                   ("other-client", "other", str(uuid.uuid5(KEYS, f"other-client\n{key}"))),
                   ("kilo-gateway", "longest", str(uuid.uuid5(KEYS, "kilo-gateway\n" + "k" * 255)))}
    assert len(messages) == 5


async def test_a_key_and_an_event_id_sent_together_must_name_the_same_event(client: Any, settings: Settings) -> None:
    headers = {"Content-Type": "application/json", "Idempotency-Key": "req_both"}
    named = str(uuid.uuid5(KEYS, "kilo-gateway\nreq_both"))
    for overrides in ({}, MODELS_ONLY):
        agreeing = await client.post(URL, data=json.dumps(seed_event(eventId=named, **overrides)), headers=headers)
        assert agreeing.status == 204
        other = await client.post(URL, data=json.dumps(seed_event(eventId=str(uuid.uuid4()), **overrides)), headers=headers)
        assert other.status == 400 and (await other.json())["issues"][0]["code"] == "conflicting_event_id"
    assert {m["event_id"] for m in values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 2))} == {named}


@pytest.mark.parametrize("key, problem", [
    ("", "this one is empty"), ('""', "this one is empty"), ("k" * 256, "this one has 256 characters"),
    ("tab\there", "U+0009 at position 3"), ("caf\u00e9", "U+00E9 at position 3"),
], ids=["empty", "empty when quoted", "256 characters", "a tab", "not ASCII"])
async def test_a_key_against_the_rule_is_refused_naming_the_rule(client: Any, key: str, problem: str) -> None:
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    answers = [await client.post(URL, data=json.dumps(seed_event(**overrides)), headers=headers)
               for overrides in ({}, MODELS_ONLY)]
    answers.append(await client.post(URL + "/batch", data=json.dumps([seed_event()]), headers=headers))
    for answer in answers:
        issues = (await answer.json())["issues"]
        assert answer.status == 400
        assert [(i["code"], i["path"]) for i in issues] == [("invalid_idempotency_key", ["Idempotency-Key"])]
        assert "1 to 255 printable ASCII characters" in issues[0]["message"] and problem in issues[0]["message"]


async def test_a_batch_retried_with_its_key_names_the_same_event_at_each_place(client: Any, settings: Settings) -> None:
    own = str(uuid.uuid4())

    def items(**overrides: Any) -> list[dict[str, Any]]:
        return [seed_event(kiloUserId="item-0", **overrides), seed_event(kiloUserId="item-1", eventId=own, **overrides),
                seed_event(kiloUserId="item-2", **overrides)]

    by_header = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}", "Idempotency-Key": "req_batch"}
    attempts = [  # each of the batch endpoint's three readers once; a refused item moves no other item's place
        (by_header, items(clientSecret=...), 3),
        (by_header, [*items(clientSecret=...)[:2], seed_event(kiloUserId="item-2", clientSecret=..., **MODELS_ONLY)], 3),
        ({"Content-Type": "application/json", "Idempotency-Key": "req_batch"}, [items()[0], {"statusCode": 1}, items()[2]], 2),
    ]
    for headers, body, accepted in attempts:
        response = await client.post(URL + "/batch", data=json.dumps(body), headers=headers)
        assert response.status == 200 and (await response.json())["accepted"] == accepted, await response.text()
    messages = values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 8))
    place = [str(uuid.uuid5(KEYS, f"kilo-gateway\nreq_batch\n{index}")) for index in range(3)]
    assert {(m["kilo_user_id"], m["event_id"]) for m in messages} == {("item-0", place[0]), ("item-1", own), ("item-2", place[2])}
    assert len(messages) == 8


async def test_the_admin_token_header_carries_the_client_secret_after_the_other_headers(
    client: Any, settings: Settings
) -> None:
    headers = {"Content-Type": "application/json"}
    alone = await client.post(URL, data=json.dumps(seed_event(clientSecret=..., kiloUserId="token-alone")),
                              headers={**headers, "X-O11Y-ADMIN-TOKEN": SECRET})
    assert alone.status == 204
    over_body = await client.post(URL, data=json.dumps(seed_event(clientSecret=OTHER_CLIENT_SECRET, kiloUserId="token-wins")),
                                  headers={**headers, "X-O11Y-ADMIN-TOKEN": SECRET})
    assert over_body.status == 204
    under_client_header = await client.post(
        URL, data=json.dumps(seed_event(clientSecret=..., kiloUserId="client-header-wins")),
        headers={**headers, "X-O11Y-ADMIN-TOKEN": SECRET, "X-O11Y-Client-Secret": OTHER_CLIENT_SECRET})
    assert under_client_header.status == 204
    unknown = await client.post(URL, data=json.dumps(seed_event()), headers={**headers, "X-O11Y-ADMIN-TOKEN": "x" * 20})
    assert unknown.status == 403

    clients = {m["kilo_user_id"]: m["client_name"] for m in values(read_topic(settings.kafka_bootstrap_servers or "",
                                                                               settings.kafka_topic, 3))}
    assert clients == {"token-alone": "kilo-gateway", "token-wins": "kilo-gateway", "client-header-wins": "other-client"}
