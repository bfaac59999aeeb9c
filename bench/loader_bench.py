"""Loader throughput: a pre-filled topic into ClickHouse (chDB) vs raw kafka-python consumption, same run.

Usage: python bench/loader_bench.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from ingest.clickhouse_migrations import migrate  # noqa: E402
from ingest.loader_service import build_loader  # noqa: E402
from o11y.embedded import EmbeddedKafka  # noqa: E402
from runtime.clickhouse import connect  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from schemas.api_metrics import ApiMetricsParams  # noqa: E402
from schemas.event_message import encode_message, message_from_event, message_key  # noqa: E402

EVENT = {
    "kiloUserId": "user_123", "organizationId": "org_456", "isAnonymous": False, "isStreaming": True,
    "userByok": False, "mode": "build", "provider": "openai", "requestedModel": "kilo/auto",
    "resolvedModel": "anthropic/claude-sonnet-4.5", "toolsAvailable": ["function:get_weather", "function:searchDocs"],
    "toolsUsed": ["function:searchDocs"], "ttfbMs": 45, "completeRequestMs": 123, "statusCode": 200,
    "tokens": {"inputTokens": 1000, "outputTokens": 200, "totalTokens": 1200},
}
PARTITIONS = 6


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


def raw_consume(servers: str, topic: str, events: int) -> float:
    consumer = KafkaConsumer(topic, bootstrap_servers=servers, group_id=f"raw-{uuid.uuid4().hex[:6]}",
                             auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=6000,
                             max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_wait_ms=100)
    started = time.monotonic()
    seen = 0
    while seen < events:
        for batch in consumer.poll(timeout_ms=200, max_records=10_000).values():
            seen += len(batch)
    elapsed = time.monotonic() - started
    consumer.close(autocommit=False)
    return elapsed


def load(servers: str, topic: str, events: int, url: str) -> float:
    client = connect(url)
    migrate(client)
    registry = CollectorRegistry()
    settings = Settings(kafka_bootstrap_servers=servers, kafka_topic=topic, loader_group_id="bench-loader",
                        loader_session_timeout_ms=6000)
    loader = build_loader(settings, client, registry)
    stop = threading.Event()
    thread = threading.Thread(target=loader.run, args=(stop,))
    started = time.monotonic()
    thread.start()
    while (registry.get_sample_value("o11y_loader_rows_loaded_total") or 0) < events:
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    stop.set()
    thread.join()
    assert client.query("SELECT count() FROM o11y.api_metrics").result_rows[0][0] == events
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with EmbeddedKafka() as kafka, tempfile.TemporaryDirectory() as tmp:
        servers = kafka.bootstrap_servers
        fill_s = prefill(servers, "bench", args.events)
        raw_s = raw_consume(servers, "bench", args.events)
        load_s = load(servers, "bench", args.events, f"chdb://{tmp}/ch")
    results = {
        "events": args.events, "partitions": PARTITIONS, "prefill_s": round(fill_s, 1),
        "raw_consume_events_per_s": round(args.events / raw_s), "loader_events_per_s": round(args.events / load_s),
        "ratio_loader_vs_raw": round(raw_s / load_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    out = ROOT / "bench" / "results" / "loader.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"raw kafka-python consumption {results['raw_consume_events_per_s']:>9,} events/s")
    print(f"loader into ClickHouse       {results['loader_events_per_s']:>9,} events/s")
    print(f"loader / raw = {results['ratio_loader_vs_raw']:.2f}  (peak RSS {results['peak_rss_mb']} MB; {out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
