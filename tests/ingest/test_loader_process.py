"""`o11y migrate` and `o11y load` as processes: an upgrade in place, a loader killed hard mid-run, one whose loop hangs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from o11y.embedded import EmbeddedKafka, free_port
from support.chdb_query import query_path
from support.events import event_messages
from support.kafka_io import produce
from support.processes import clean_env
from support.waiting import wait_until

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own

UPGRADE = """
import sys
from storage.migrations import migrations
from storage.schema import migrate
from storage.table import Retention
from runtime.clickhouse import connect

c = connect(sys.argv[1])
assert migrate(c, target=1) == [1]
c.command("INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming,"
          " user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms,"
          " complete_request_ms, status_code, kafka_topic, kafka_partition, kafka_offset) VALUES (generateUUIDv4(),"
          " now64(3), 'old', 'u', false, false, false, 'p', 'm', 'm', [], [], 1, 6000, 503, 't', 0, 0),"
          " (generateUUIDv4(), now64(3), 'old', 'anon:203.0.113.77', true, false, false, 'p', 'm', 'm', [], [], 1, 10, 200,"
          " 't', 0, 1)")
assert migrate(c) == [m.version for m in migrations(Retention())][1:]
assert c.query("SELECT kilo_user_id FROM o11y.api_metrics ORDER BY kafka_offset").result_rows == [("u",), ("anonymous",)]
assert migrate(c) == []
assert c.query("SELECT sum(requests), sum(errors_5xx) FROM o11y.usage_1h WHERE client_name = 'old'").result_rows == [(2, 1)]
assert c.query("SELECT name FROM system.columns WHERE database = 'o11y' AND table = 'alert_events' "
               "ORDER BY position DESC LIMIT 3").result_rows == [("receiver",), ("silence_id",), ("incident_id",)]
print(c.query("SELECT sum(requests), o11y_count_over(sumForEachMerge(complete_ms_over), 5000) "
              "FROM o11y.api_metrics_1m").result_rows)
"""


def test_an_older_schema_is_upgraded_in_place_and_its_rows_rolled_up(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", UPGRADE, f"chdb://{tmp_path / 'ch'}"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[(2, 1)]"  # the old rows, one counted above 5000 ms


VERSION_12 = """
import json
import sys
from runtime.clickhouse import connect
from storage.events import USAGE_VIEWS
from storage.schema import migrate

NEW = ("ttft_ms_sketch", "tpot_ms_sketch")
ROW = ("INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming,"
       " user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms, complete_request_ms,"
       " status_code, output_tokens, kafka_topic, kafka_partition, kafka_offset) VALUES (generateUUIDv4(), now64(3), 'old',"
       " 'u', false, true, false, 'p', 'm', 'm', [], [], {ttfb}, {complete}, 200, 100, 't', 0, {offset})")
c = connect(sys.argv[1])
assert migrate(c, target=11)[-1] == 11
for view in USAGE_VIEWS:  # the usage rollups as version 11 made them: without the sketches
    lines = [line for line in view.query().splitlines() if not line.rstrip(",").endswith(NEW)]
    c.command(f"ALTER TABLE {view} MODIFY QUERY " + "\\n".join(lines).replace(",\\nFROM", "\\nFROM"))
    c.command(f"ALTER TABLE {view.target} " + ", ".join(f"DROP COLUMN {name}" for name in NEW))
c.command(ROW.format(ttfb=100, complete=200, offset=0))
assert migrate(c, target=12) == [12]
c.command(ROW.format(ttfb=700, complete=1690, offset=1))
MERGED = ", ".join(f"quantilesDDMerge(0.01, 0.5, 0.95, 0.99)({name})" for name in NEW)
for table in ("usage_1h", "usage_1d"):
    print(json.dumps(c.query(f"SELECT sum(requests), {MERGED} FROM o11y.{table} WHERE client_name = 'old'").result_rows[0]))
"""


def test_version_12_adds_the_llm_latency_sketches_to_usage_rollups_filled_before(tmp_path: Path) -> None:
    """The hours rolled up before have empty sketches; a request loaded after counts (ttfb 700 ms, 10 ms per token)."""
    out = subprocess.run(
        [sys.executable, "-c", VERSION_12, f"chdb://{tmp_path / 'ch'}"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for line in out.stdout.strip().splitlines()[-2:]:
        requests, ttft, tpot = json.loads(line)
        assert requests == 2 and abs(ttft[0] - 700) <= 7 and abs(tpot[0] - 10) <= 0.1, line


def loader_env(kafka: EmbeddedKafka, topic: str, path: Path, port: int) -> dict[str, str]:
    env = clean_env(
        O11Y_KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
        O11Y_KAFKA_TOPIC=topic,
        O11Y_CLICKHOUSE_URL=f"chdb://{path}",
        O11Y_HTTP_PORT=str(port),
        O11Y_HTTP_HOST="127.0.0.1",
        O11Y_LOADER_BATCH_ROWS="250",
        O11Y_LOADER_BATCH_MS="100",
        O11Y_LOADER_SESSION_TIMEOUT_MS="6000",
    )
    return env


def rows_loaded(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith('o11y_loader_rows_loaded_total{event_type="api-metrics"} '):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def committed_total(kafka: EmbeddedKafka, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id="o11y-loader", enable_auto_commit=False)
    try:
        return sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in consumer.partitions_for_topic(topic) or [])
    finally:
        consumer.close(autocommit=False)


def test_a_loader_killed_hard_mid_run_and_restarted_loads_every_event_once(
    kafka: EmbeddedKafka, topic: str, tmp_path: Path
) -> None:
    path = tmp_path / "ch"
    total = 20_000
    produce(kafka.bootstrap_servers, topic, event_messages(total, "killed"))
    port = free_port()
    env = loader_env(kafka, topic, path, port)
    assert subprocess.run([sys.executable, "-m", "o11y.cli", "migrate"], env=env, timeout=120).returncode == 0

    first = subprocess.Popen([sys.executable, "-m", "o11y.cli", "load"], env=env)
    try:
        assert wait_until(lambda: rows_loaded(port) >= 1000, timeout_s=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    loaded_before_kill = rows_loaded(port)
    assert loaded_before_kill == 0.0  # the process is gone

    second = subprocess.Popen([sys.executable, "-m", "o11y.cli", "load"], env=env)
    try:
        assert wait_until(lambda: committed_total(kafka, topic) == total, timeout_s=120)
        assert rows_loaded(port) < total, "the restarted loader should not have loaded everything again"
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
    counts = query_path(str(path), "SELECT count(), uniqExact(event_id) FROM o11y.api_metrics")
    assert counts == [[total, total]]
    assert query_path(str(path), "SELECT sum(requests) FROM o11y.api_metrics_1m") == [[total]]


def test_the_dead_letter_limit_ends_o11y_load_with_one_line_and_status_1(
    kafka: EmbeddedKafka, topic: str, tmp_path: Path
) -> None:
    produce(kafka.bootstrap_servers, topic, [(b"k", b"not an event")] * 4, partitions=1)
    env = loader_env(kafka, topic, tmp_path / "ch", free_port())
    env.update(O11Y_LOADER_DLQ_MAX_RUN="2", O11Y_LOG_FORMAT="text")
    assert subprocess.run([sys.executable, "-m", "o11y.cli", "migrate"], env=env, timeout=120).returncode == 0
    out = subprocess.run([sys.executable, "-m", "o11y.cli", "load"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr[-2000:]
    stopped = [line for line in out.stderr.splitlines() if "loader stopped:" in line]
    assert len(stopped) == 1 and f"3 invalid messages in a row in {topic}/0 up to offset 2" in stopped[0]
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("kafka_client", ["confluent-kafka", "kafka-python"])
def test_a_loader_whose_loop_hangs_exits_with_status_1_and_its_partitions_move_to_the_next_loader(
    kafka: EmbeddedKafka, topic: str, tmp_path: Path, kafka_client: str
) -> None:
    total = 600
    produce(kafka.bootstrap_servers, topic, [(f"key-{i}".encode(), value)
                                             for i, (_, value) in enumerate(event_messages(total, "hung"))])
    path = tmp_path / "ch"
    env = loader_env(kafka, topic, path, free_port())
    env.update(O11Y_KAFKA_CLIENT=kafka_client, O11Y_LOADER_MAX_POLL_INTERVAL_MS="10000", O11Y_LOG_FORMAT="text",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")]))
    assert subprocess.run([sys.executable, "-m", "o11y.cli", "migrate"], env=env, timeout=120).returncode == 0

    # Its ClickHouse never answers the loop, while the client's own threads go on heartbeating for the member.
    out = subprocess.run([sys.executable, "-m", "support.stuck_loader"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1, out.stderr[-2000:]
    stopped = [line for line in out.stderr.splitlines() if "loader stopped:" in line]
    assert len(stopped) == 1, out.stderr[-2000:]
    assert "its loop has not turned for" in stopped[0] and "(O11Y_LOADER_MAX_POLL_INTERVAL_MS=10000)" in stopped[0]

    # Its partitions were not kept: the next loader of the group loads every event.
    second = subprocess.Popen([sys.executable, "-m", "o11y.cli", "load"], env=env)
    try:
        assert wait_until(lambda: committed_total(kafka, topic) == total, timeout_s=120)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
    assert query_path(str(path), "SELECT count(), uniqExact(event_id) FROM o11y.api_metrics") == [[total, total]]
