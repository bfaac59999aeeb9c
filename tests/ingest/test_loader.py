"""The loader against a real tansu broker and the real ClickHouse engine (chDB)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from ingest.edge.app import create_app
from ingest.loading.loader import Loader
from ingest.loading.service import build_loader
from o11y.embedded import EmbeddedKafka
from runtime.settings import Settings
from support.events import event_messages, seed_event
from support.held_clickhouse import HeldCalls
from support.kafka_io import produce, read_topic, values
from support.loader_harness import count, dies_before_every_commit, loader_settings, running_loader
from support.waiting import wait_until

LOADED = {"event_type": "api-metrics"}
"""The request loader's series of the loader's metrics."""

RAW_BY_CLIENT = "SELECT count() FROM o11y.api_metrics WHERE client_name = {c:String}"
DISTINCT_BY_CLIENT = "SELECT uniqExact(event_id) FROM o11y.api_metrics WHERE client_name = {c:String}"
ROLLUP_BY_CLIENT = "SELECT sum(requests) FROM o11y.api_metrics_1m WHERE client_name = {c:String}"

CLIENTS = ["kafka-python", "confluent-kafka"]


def committed(servers: str, topic: str, group: str) -> dict[int, int | None]:
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        return {p: consumer.committed(TopicPartition(topic, p)) for p in parts}
    finally:
        consumer.close(autocommit=False)


@pytest.mark.parametrize("kafka_client", CLIENTS)
async def test_events_posted_to_ingest_land_exactly_once_field_for_field(
    aiohttp_client: Any, settings: Settings, clickhouse: Any, kafka_client: Any
) -> None:
    settings = settings.model_copy(update={"kafka_client": kafka_client})
    client = await aiohttp_client(create_app(settings))
    for i in range(60):
        event = seed_event(kiloUserId=f"user-{i}", statusCode=500 if i % 10 == 0 else 200, ipAddress="203.0.113.5")
        response = await client.post("/ingest/api-metrics", data=json.dumps(event), headers={"Content-Type": "application/json"})
        assert response.status == 204
    sent = {m["event_id"]: m for m in values(read_topic(settings.kafka_bootstrap_servers or "", settings.kafka_topic, 60))}
    group = f"g-{uuid.uuid4().hex[:6]}"
    lsettings = loader_settings(settings.kafka_bootstrap_servers or "", settings.kafka_topic, group, kafka_client=kafka_client)
    topic_rows = "SELECT count() FROM o11y.api_metrics WHERE kafka_topic = {t:String}"
    with running_loader(lsettings, clickhouse):
        assert wait_until(lambda: count(clickhouse, topic_rows, t=settings.kafka_topic) >= 60)

    result = clickhouse.query(
        "SELECT * EXCEPT (loaded_at, kafka_topic, kafka_partition, kafka_offset), is_error FROM o11y.api_metrics "
        "WHERE kafka_topic = {t:String}", parameters={"t": settings.kafka_topic})
    rows = [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
    assert len(rows) == 60
    for row in rows:
        message = sent[str(row.pop("event_id"))]
        assert row.pop("received_at").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" == message.pop("received_at")
        assert row.pop("is_error") == (message["status_code"] >= 400)
        message.pop("event_id"), message.pop("schema_version")
        assert row == message
    assert count(clickhouse, "SELECT sum(requests) FROM o11y.api_metrics_1m WHERE client_name = 'kilo-gateway' "
                 "AND minute >= now() - INTERVAL 10 MINUTE AND status_code = 500") >= 6


def test_redelivered_offsets_are_not_counted_twice(kafka: EmbeddedKafka, topic: str, client_name: str, clickhouse: Any) -> None:
    produce(kafka.bootstrap_servers, topic, event_messages(500, client_name))
    with running_loader(loader_settings(kafka.bootstrap_servers, topic, "first"), clickhouse):
        assert wait_until(lambda: count(clickhouse, RAW_BY_CLIENT, c=client_name) == 500)

    registry = CollectorRegistry()
    replay = loader_settings(kafka.bootstrap_servers, topic, "replay-from-earliest")
    with running_loader(replay, clickhouse, registry):
        assert wait_until(lambda: registry.get_sample_value("o11y_loader_skipped_reloaded_messages_total", LOADED) == 500)
    assert count(clickhouse, RAW_BY_CLIENT, c=client_name) == 500
    assert count(clickhouse, ROLLUP_BY_CLIENT, c=client_name) == 500


def test_a_crash_between_insert_and_commit_loads_nothing_twice(
    kafka: EmbeddedKafka, topic: str, client_name: str, clickhouse: Any
) -> None:
    produce(kafka.bootstrap_servers, topic, event_messages(300, client_name))
    settings = loader_settings(kafka.bootstrap_servers, topic, "crashy")

    with running_loader(settings, clickhouse, consumer=dies_before_every_commit(settings)):
        assert wait_until(lambda: count(clickhouse, RAW_BY_CLIENT, c=client_name) == 300)
    assert set(committed(kafka.bootstrap_servers, topic, "crashy").values()) == {None}

    produce(kafka.bootstrap_servers, topic, event_messages(100, client_name, provider="anthropic"))
    with running_loader(settings, clickhouse):
        assert wait_until(lambda: count(clickhouse, RAW_BY_CLIENT, c=client_name) >= 400)
    assert count(clickhouse, RAW_BY_CLIENT, c=client_name) == 400
    assert count(clickhouse, DISTINCT_BY_CLIENT, c=client_name) == 400
    assert count(clickhouse, ROLLUP_BY_CLIENT, c=client_name) == 400


def test_an_identical_retried_insert_is_dropped_by_its_dedup_token(clickhouse: Any, client_name: str) -> None:
    from ingest.loading.clickhouse_sink import ClickHouseSink
    from ingest.loading.rows import decode_row

    rows = [decode_row(value, "retry-topic", 0, offset) for offset, (_, value) in enumerate(event_messages(10, client_name))]
    sink = ClickHouseSink(clickhouse)
    for _ in range(3):
        sink.insert("retry-topic", rows)
    assert count(clickhouse, RAW_BY_CLIENT, c=client_name) == 10
    assert count(clickhouse, ROLLUP_BY_CLIENT, c=client_name) == 10


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_poison_messages_go_to_the_dlq_with_a_reason_and_their_time_and_the_rest_loads(
    kafka: EmbeddedKafka, topic: str, client_name: str, clickhouse: Any, kafka_client: Any
) -> None:
    good = event_messages(4, client_name)
    schema_broken = json.loads(good[0][1])
    schema_broken["status_code"] = "teapot"
    records: list[tuple[bytes | None, bytes]] = [
        good[0], (b"k", b"{not json"), good[1], (good[2][0], json.dumps(schema_broken).encode()), good[2], good[3],
    ]
    produce(kafka.bootstrap_servers, topic, records, partitions=1)
    with running_loader(loader_settings(kafka.bootstrap_servers, topic, "dlq", kafka_client=kafka_client), clickhouse):
        assert wait_until(lambda: count(clickhouse, RAW_BY_CLIENT, c=client_name) == 4)
        assert wait_until(lambda: committed(kafka.bootstrap_servers, topic, "dlq") == {0: 6})
    letters = read_topic(kafka.bootstrap_servers, f"{topic}-dlq", 2)
    assert [m.value for m in letters] == [b"{not json", json.dumps(schema_broken).encode()]
    reasons = [dict(m.headers)["dlq_reason"].decode() for m in letters]
    assert "json" in reasons[0].lower() and "status_code" in reasons[1]
    assert [dict(m.headers)["dlq_source"].decode() for m in letters] == [f"{topic}/0/1", f"{topic}/0/3"]
    originals = read_topic(kafka.bootstrap_servers, topic, 6)
    assert [m.timestamp for m in letters] == [originals[1].timestamp, originals[3].timestamp]


def test_a_received_at_far_from_the_kafka_timestamp_is_dead_lettered_never_half_loaded(
    kafka: EmbeddedKafka, topic: str, client_name: str, clickhouse: Any
) -> None:
    good = event_messages(2, client_name)
    future = json.loads(good[1][1])
    future["received_at"] = "9999-12-31T23:59:59.000Z"
    produce(kafka.bootstrap_servers, topic, [good[0], (good[1][0], json.dumps(future).encode())], partitions=1)
    with running_loader(loader_settings(kafka.bootstrap_servers, topic, "skew"), clickhouse):
        assert wait_until(lambda: committed(kafka.bootstrap_servers, topic, "skew") == {0: 2})
    [letter] = read_topic(kafka.bootstrap_servers, f"{topic}-dlq", 1)
    assert "away from the message's Kafka timestamp" in dict(letter.headers)["dlq_reason"].decode()
    source = read_topic(kafka.bootstrap_servers, topic, 2)[1]
    assert letter.timestamp == source.timestamp, "the dead letter keeps the message's own time"
    assert count(clickhouse, RAW_BY_CLIENT, c=client_name) == 1 and count(clickhouse, ROLLUP_BY_CLIENT, c=client_name) == 1
    # this client's minutes only: other tests' timelines sit in years to come on purpose
    assert count(clickhouse, "SELECT count() FROM o11y.api_metrics_1m WHERE client_name = {c:String} "
                             "AND minute > now() + INTERVAL 1 DAY", c=client_name) == 0


def test_batches_are_cut_by_bytes_so_big_events_cannot_pile_up(
    kafka: EmbeddedKafka, topic: str, client_name: str, clickhouse: Any
) -> None:
    tools = [f"function:tool_{j}_" + "x" * 20 for j in range(250)]  # about 10 KB per event
    produce(kafka.bootstrap_servers, topic, event_messages(600, client_name, toolsAvailable=tools), partitions=1)
    registry = CollectorRegistry()
    settings = loader_settings(kafka.bootstrap_servers, topic, "bytes", loader_batch_bytes=1 << 20)
    with running_loader(settings, clickhouse, registry):
        assert wait_until(lambda: count(clickhouse, RAW_BY_CLIENT, c=client_name) == 600)
    batches = registry.get_sample_value("o11y_loader_batch_rows_count", LOADED) or 0
    rows = registry.get_sample_value("o11y_loader_batch_rows_sum", LOADED) or 0
    assert rows == 600 and batches >= 6, "1 MiB batches of 10 KB rows: about 100 rows each"
    assert (registry.get_sample_value("o11y_loader_batch_rows_bucket", {**LOADED, "le": "1000.0"}) or 0) == batches


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_clickhouse_outage_commits_nothing_loses_nothing_and_resumes(
    kafka: EmbeddedKafka, topic: str, client_name: str, clickhouse: Any, kafka_client: Any
) -> None:
    registry = CollectorRegistry()
    settings = loader_settings(kafka.bootstrap_servers, topic, "outage", kafka_client=kafka_client)
    clickhouse.command("DETACH TABLE o11y.api_metrics")
    try:
        produce(kafka.bootstrap_servers, topic, event_messages(200, client_name))
        with running_loader(settings, clickhouse, registry) as loader:
            assert wait_until(lambda: (registry.get_sample_value("o11y_loader_insert_retries_total", LOADED) or 0) >= 3)
            assert loader.failing
            assert set(committed(kafka.bootstrap_servers, topic, "outage").values()) == {None}
            clickhouse.command("ATTACH TABLE o11y.api_metrics")
            assert wait_until(lambda: not loader.failing, timeout_s=60)
            assert wait_until(lambda: count(clickhouse, RAW_BY_CLIENT, c=client_name) == 200)
    finally:
        if not clickhouse.query("EXISTS TABLE o11y.api_metrics").result_rows[0][0]:
            clickhouse.command("ATTACH TABLE o11y.api_metrics")
    assert sum(v or 0 for v in committed(kafka.bootstrap_servers, topic, "outage").values()) == 200
    assert count(clickhouse, ROLLUP_BY_CLIENT, c=client_name) == 200
    assert registry.get_sample_value("o11y_loader_rows_loaded_total", LOADED) == 200


def test_migrations_run_twice_are_a_no_op(clickhouse: Any) -> None:
    from storage.migrations import migrations
    from storage.schema import migrate
    from storage.table import Retention

    before = clickhouse.query("SELECT version FROM o11y.schema_migrations ORDER BY version").result_rows
    assert migrate(clickhouse) == []
    versions = clickhouse.query("SELECT version FROM o11y.schema_migrations ORDER BY version").result_rows
    assert versions == before == [(v.version,) for v in migrations(Retention())]


def test_a_crash_between_the_raw_part_and_the_rollup_part_is_repaired_on_restart(
    kafka: EmbeddedKafka, topic: str, client_name: str, clickhouse: Any
) -> None:
    """An INSERT into a table with views is not atomic: the raw part can land and the crash take the rollup's."""
    settings = loader_settings(kafka.bootstrap_servers, topic, "split")
    produce(kafka.bootstrap_servers, topic, event_messages(100, client_name), partitions=1)
    def step_until(loader: Loader, done: Callable[[], bool]) -> bool:
        def stepped() -> bool:
            loader.step()
            return done()
        return wait_until(stepped, 60, 0)

    with running_loader(settings, clickhouse):
        assert wait_until(lambda: committed(kafka.bootstrap_servers, topic, "split") == {0: 100})

    clickhouse.command("DETACH TABLE o11y.api_metrics_1m_mv")  # the rollup's part will be lost...
    try:
        consumer = dies_before_every_commit(settings)  # ...and the process dies before its commit
        loader = build_loader(settings, clickhouse, CollectorRegistry(), consumer)
        loader.start()
        produce(kafka.bootstrap_servers, topic, event_messages(100, client_name, provider="anthropic"), partitions=1)
        assert step_until(loader, lambda: count(clickhouse, RAW_BY_CLIENT, c=client_name) == 200)
        consumer.crash()
    finally:
        clickhouse.command("ATTACH TABLE o11y.api_metrics_1m_mv")
    assert count(clickhouse, ROLLUP_BY_CLIENT, c=client_name) == 100
    produce(kafka.bootstrap_servers, topic, event_messages(100, client_name, provider="mistral"), partitions=1)

    with running_loader(settings, clickhouse):  # must re-insert exactly 100..199, then load 200..299
        assert wait_until(lambda: committed(kafka.bootstrap_servers, topic, "split") == {0: 300})
    assert count(clickhouse, RAW_BY_CLIENT, c=client_name) == 300
    assert count(clickhouse, DISTINCT_BY_CLIENT, c=client_name) == 300
    assert count(clickhouse, ROLLUP_BY_CLIENT, c=client_name) == 300


def test_a_run_of_poison_beyond_the_limit_stops_the_loader_and_commits_nothing_past_it(
    kafka: EmbeddedKafka, topic: str, client_name: str, clickhouse: Any
) -> None:
    good = event_messages(6, client_name)
    poison: list[tuple[bytes | None, bytes]] = [(b"k", b"{a broken producer")] * 5
    produce(kafka.bootstrap_servers, topic, [*good[:3], *poison, *good[3:]], partitions=1)
    settings = loader_settings(kafka.bootstrap_servers, topic, "poisoned", loader_dlq_max_run=3)
    loader = build_loader(settings, clickhouse, CollectorRegistry())
    thread = threading.Thread(target=loader.run, args=(threading.Event(),), daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the loader stops by itself"
    assert loader.fatal == (f"loader stopped: 4 invalid messages in a row in {topic}/0 up to offset 6 "
                            "(O11Y_LOADER_DLQ_MAX_RUN=3): fix the producer, then restart the loader")
    assert committed(kafka.bootstrap_servers, topic, "poisoned") == {0: 6}  # three events, three dead letters
    assert count(clickhouse, RAW_BY_CLIENT, c=client_name) == 3
    assert len(read_topic(kafka.bootstrap_servers, f"{topic}-dlq", 3)) == 3


def test_a_stuck_insert_does_not_hold_a_rebalance_and_the_chain_is_rebuilt_on_assignment(
    kafka: EmbeddedKafka, topic: str, client_name: str, clickhouse: Any
) -> None:
    spread = [(f"key-{i}".encode(), value) for i, (_, value) in enumerate(event_messages(600, client_name))]
    produce(kafka.bootstrap_servers, topic, spread)  # every partition has events, whoever owns which
    settings = loader_settings(kafka.bootstrap_servers, topic, "stuck")
    # The first loader's ClickHouse holds inserts into the raw table until released.
    slow = HeldCalls(clickhouse, lambda call, what: call == "raw_insert" and what == "o11y.api_metrics", hold_s=120)
    first, second = CollectorRegistry(), CollectorRegistry()
    with running_loader(settings, slow, first):
        assert slow.stuck.wait(60), "the first loader's insert hangs in ClickHouse"
        with running_loader(settings, clickhouse, second):
            # The revocation waited a third of the session timeout at most: the group moved on, the second loader
            # loads its share while the first loader's insert is still stuck, and the first one took its new share.
            assert wait_until(lambda: (second.get_sample_value("o11y_loader_rows_loaded_total", LOADED) or 0) > 0, timeout_s=60)
            assert not slow.release.is_set()
            assert wait_until(lambda: first.get_sample_value("o11y_loader_assignments_total", LOADED) == 2)
            slow.release.set()
            assert wait_until(lambda: count(clickhouse, DISTINCT_BY_CLIENT, c=client_name) == 600, timeout_s=60)
    assert count(clickhouse, ROLLUP_BY_CLIENT, c=client_name) == count(clickhouse, RAW_BY_CLIENT, c=client_name)
