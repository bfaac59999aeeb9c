"""Loader throughput: a pre-filled topic into ClickHouse (chDB) vs raw consumption of the same client, same run.

Two floors are measured in the same run: the client alone reading the topic, and ClickHouse alone taking the same
number of rows already decoded (inserts into the raw table with its views, nothing else running), in blocks of the
size the loader's defaults insert and in blocks of 50,000 rows (what larger inserts would buy).

While the loader runs, the bench also reads how many cores of the machine are busy (every process: the broker, the
loader's thread, ClickHouse) and the CPU the loader's own thread spends per event: which of them bounds it.

The loader runs twice on the same topic and chDB (tables emptied in between): with the event-id dedup lookup off
(`O11Y_DEDUP_HORIZON_S=0`) and on (the default), to measure what storing each event once costs.

Both readers are timed from when they can read (the raw reader's first message, the loader's assignment): joining a
new consumer group takes a few seconds whatever the volume, and is not throughput.

Usage: python bench/loader_bench.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from ingest.loading.service import build_loader  # noqa: E402
from o11y.embedded import EmbeddedKafka  # noqa: E402
from runtime.clickhouse import ClickHouseClient, connect  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from schemas.api_metrics import ApiMetricsParams  # noqa: E402
from schemas.event_message import encode_message, message_from_event, message_key  # noqa: E402
from storage.schema import migrate  # noqa: E402

LOADED = {"event_type": "api-metrics"}
"""The request loader's series of the loader's metrics."""

EVENT = {
    "kiloUserId": "user_123", "organizationId": "org_456", "isAnonymous": False, "isStreaming": True,
    "userByok": False, "mode": "build", "provider": "openai", "requestedModel": "kilo/auto",
    "resolvedModel": "anthropic/claude-sonnet-4.5", "toolsAvailable": ["function:get_weather", "function:searchDocs"],
    "toolsUsed": ["function:searchDocs"], "ttfbMs": 45, "completeRequestMs": 123, "statusCode": 200,
    "tokens": {"inputTokens": 1000, "outputTokens": 200, "totalTokens": 1200},
}
PARTITIONS = 6
BIG_BLOCK_ROWS = 50_000


def prefill(servers: str, topic: str, events: int) -> float:
    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.create_topics([NewTopic(topic, PARTITIONS, 1), NewTopic(f"{topic}-dlq", 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=20, batch_size=512 * 1024,
                             compression_type="lz4")
    models = [f"model-{i}" for i in range(50)]
    started = time.monotonic()
    for i in range(events):
        event = ApiMetricsParams.model_validate({**EVENT, "resolvedModel": models[i % 50], "ttfbMs": i % 5000})
        message = message_from_event(event, "bench", datetime.now(timezone.utc))
        producer.send(topic, key=message_key(message), value=encode_message(message))
    producer.flush()
    producer.close()
    return time.monotonic() - started


def raw_consume(servers: str, topic: str, events: int, kafka_client: str) -> float:
    """Seconds to read `events` with the client alone, in a group of its own, as the loader's member is set up."""
    if kafka_client == "confluent-kafka":
        from confluent_kafka import Consumer

        member = Consumer({"bootstrap.servers": servers, "group.id": f"raw-{uuid.uuid4().hex[:6]}",
                           "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 6000,
                           "max.partition.fetch.bytes": 8 * 1024 * 1024, "fetch.wait.max.ms": 100})
        member.subscribe([topic])
        try:
            return _reading(lambda: sum(1 for m in member.consume(num_messages=10_000, timeout=0.2) if m.error() is None),
                            events)
        finally:
            member.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=servers, group_id=f"raw-{uuid.uuid4().hex[:6]}",
                             auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=6000,
                             max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_wait_ms=100)
    try:
        return _reading(lambda: sum(len(b) for b in consumer.poll(timeout_ms=200, max_records=10_000).values()), events)
    finally:
        consumer.close(autocommit=False)


def _reading(poll: Callable[[], int], events: int) -> float:
    """Seconds `events` take to read with `poll` (messages per call), timed from the first messages: the group's join
    is not throughput, and the first call's messages are not counted either."""
    began, first, seen = 0.0, 0, 0
    while seen < events:
        got = poll()
        if got and not seen:
            began, first = time.monotonic(), got
        seen += got
    return (time.monotonic() - began) * events / (seen - first)


TABLES = ("api_metrics", "api_metrics_1m", "loaded_offsets", "event_ids")


def empty_tables(client: ClickHouseClient) -> None:
    for table in TABLES:
        client.command(f"TRUNCATE TABLE o11y.{table}")


def machine_busy_s() -> float:
    """CPU seconds all cores of the machine spent busy so far (Linux `/proc/stat`): what every process here shares."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Load(NamedTuple):
    seconds: float
    """From the loader's assignment to its last row loaded."""
    machine_cores: float
    """Cores of the machine busy meanwhile (every process: broker, loader thread, ClickHouse)."""
    thread_cpu_us: float
    """CPU the loader's own thread spent per event (its Python work: decode, batch, commit), assignment included."""


def load(servers: str, topic: str, events: int, client: ClickHouseClient, horizon_s: int, kafka_client: Any) -> Load:
    empty_tables(client)
    registry = CollectorRegistry()
    settings = Settings(kafka_bootstrap_servers=servers, kafka_topic=topic, kafka_client=kafka_client,
                        loader_group_id=f"bench-loader-{horizon_s}-{kafka_client}", loader_session_timeout_ms=6000,
                        dedup_horizon_s=horizon_s)
    loader = build_loader(settings, client, registry)
    stop = threading.Event()
    thread_cpu: list[float] = []

    def run() -> None:
        began = time.thread_time()
        loader.run(stop)
        thread_cpu.append(time.thread_time() - began)

    thread = threading.Thread(target=run)
    thread.start()
    while not registry.get_sample_value("o11y_loader_assignments_total", LOADED):
        time.sleep(0.005)
    started, busy = time.monotonic(), machine_busy_s()  # from the assignment, as the raw reader from its first message
    while (registry.get_sample_value("o11y_loader_rows_loaded_total", LOADED) or 0) < events:
        time.sleep(0.05)
    elapsed, busy = time.monotonic() - started, machine_busy_s() - busy
    stop.set()
    thread.join()
    assert client.query("SELECT count() FROM o11y.api_metrics").result_rows[0][0] == events
    return Load(elapsed, busy / elapsed, thread_cpu[0] / events * 1e6)


def loader_block_rows() -> int:
    """Rows in one of the loader's inserts, as its defaults cut them: a batch ends at its row or byte budget,
    whichever comes first, and is inserted as one block per partition."""
    from ingest.loading.rows import decode_row

    message = message_from_event(ApiMetricsParams.model_validate(EVENT), "bench", datetime.now(timezone.utc))
    line = decode_row(encode_message(message), "bench", 0, 0).line
    defaults = Settings()
    return min(defaults.loader_batch_rows, defaults.loader_batch_bytes // (len(line) + 1)) // PARTITIONS


def clickhouse_alone(client: ClickHouseClient, events: int, block_rows: int) -> float:
    """ClickHouse's own floor: seconds to insert `events` rows already decoded, in blocks of `block_rows`, into the raw
    table with its views (what the loader's insert thread waits on), nothing else running."""
    from ingest.loading.rows import INSERT_FORMAT, INSERT_SETTINGS, decode_row

    empty_tables(client)
    event = ApiMetricsParams.model_validate(EVENT)
    lines = []
    for offset in range(block_rows):
        message = message_from_event(event, "bench", datetime.now(timezone.utc))
        lines.append(decode_row(encode_message(message), "floor", 0, offset).line)
    block = b"\n".join(lines)
    blocks = -(-events // block_rows)
    started = time.monotonic()
    for i in range(blocks):
        client.raw_insert("o11y.api_metrics", insert_block=block, fmt=INSERT_FORMAT,
                          settings={**INSERT_SETTINGS, "insert_deduplication_token": f"floor-{block_rows}-{i}"})
    return (time.monotonic() - started) * events / (blocks * block_rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--clients", default="kafka-python,confluent-kafka", help="O11Y_KAFKA_CLIENT values to measure")
    args = parser.parse_args()
    clients = args.clients.split(",")
    per_client: dict[str, dict[str, float]] = {}
    with EmbeddedKafka() as kafka, tempfile.TemporaryDirectory() as tmp:
        servers = kafka.bootstrap_servers
        fill_s = prefill(servers, "bench", args.events)
        client = connect(f"chdb://{tmp}/ch")
        migrate(client)
        default = "confluent-kafka" if "confluent-kafka" in clients else clients[0]
        block_rows = loader_block_rows()
        floor_s = clickhouse_alone(client, args.events, block_rows)
        big_floor_s = clickhouse_alone(client, args.events, BIG_BLOCK_ROWS)
        plain = load(servers, "bench", args.events, client, 0, default)
        loads: dict[str, Load] = {}
        for name in clients:
            raw_s = raw_consume(servers, "bench", args.events, name)
            loads[name] = loaded = load(servers, "bench", args.events, client, 86_400, name)
            per_client[name] = {"raw_consume_events_per_s": round(args.events / raw_s),
                                "loader_events_per_s": round(args.events / loaded.seconds),
                                "ratio_loader_vs_raw": round(raw_s / loaded.seconds, 3),
                                "machine_cores_busy": round(loaded.machine_cores, 2),
                                "loader_thread_cpu_us_per_event": round(loaded.thread_cpu_us, 1)}
            print(f"{name}: raw {args.events / raw_s:,.0f}/s, loader {args.events / loaded.seconds:,.0f}/s "
                  f"({raw_s / loaded.seconds:.2f}x raw; {loaded.machine_cores:.2f} of {os.cpu_count()} cores busy, "
                  f"the loader's thread {loaded.thread_cpu_us:.1f} µs of CPU per event)", flush=True)
        ids_bytes = client.query("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'o11y' "
                                 "AND table = 'event_ids' AND active").result_rows[0][0]
    load_s = loads[default].seconds
    results = {
        "events": args.events, "partitions": PARTITIONS, "prefill_s": round(fill_s, 1), "clients": per_client,
        **per_client[default], "default_client": default, "cores": os.cpu_count(),
        "loader_without_dedup_events_per_s": round(args.events / plain.seconds),
        "loader_block_rows": block_rows,
        "clickhouse_alone_events_per_s": round(args.events / floor_s),
        f"clickhouse_alone_{BIG_BLOCK_ROWS}_row_blocks_events_per_s": round(args.events / big_floor_s),
        "ratio_loader_vs_clickhouse_alone": round(floor_s / load_s, 3),
        "dedup_cost_ratio": round(plain.seconds / load_s, 3),
        "event_ids_bytes_per_event": round(int(ids_bytes) / args.events, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    out = ROOT / "bench" / "results" / "loader.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"raw {default} consumption {results['raw_consume_events_per_s']:>9,} events/s")
    print(f"ClickHouse alone (inserts)   {results['clickhouse_alone_events_per_s']:>9,} events/s "
          f"(rows already decoded, into the raw table and its views, in the loader's blocks of {block_rows:,} rows; "
          f"{results[f'clickhouse_alone_{BIG_BLOCK_ROWS}_row_blocks_events_per_s']:,}/s in blocks of {BIG_BLOCK_ROWS:,})")
    print(f"loader, dedup off            {results['loader_without_dedup_events_per_s']:>9,} events/s")
    print(f"loader into ClickHouse       {results['loader_events_per_s']:>9,} events/s "
          f"(dedup on: {results['dedup_cost_ratio']:.2f}x of off; o11y.event_ids "
          f"{results['event_ids_bytes_per_event']} bytes/event on disk)")
    print(f"loader / raw = {results['ratio_loader_vs_raw']:.2f}, loader / ClickHouse alone = "
          f"{results['ratio_loader_vs_clickhouse_alone']:.2f}  (peak RSS {results['peak_rss_mb']} MB; {out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
