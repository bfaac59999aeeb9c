"""Hostile input against the real `o11y ingest` process and broker: memory stays bounded, nothing leaks, no 500."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from o11y.embedded import EmbeddedKafka, free_port
from support.events import ADMIN_TOKEN, SECRET, WEBHOOK_TOKEN, seed_event
from support.hostile import ATTACK_BODY, RSS_BOUND_MB, URL, Ingest, attack_and_measure
from support.processes import clean_env

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own


@pytest.fixture(scope="module")
def ingest(kafka: EmbeddedKafka) -> Iterator[Ingest]:
    server = Ingest(kafka, "hardening")
    yield server
    logs = server.stop()
    assert SECRET not in logs and ADMIN_TOKEN not in logs


def test_eighty_unauthenticated_8_mb_batches_cost_no_memory_and_no_latency(ingest: Ingest) -> None:
    header = asyncio.run(attack_and_measure(ingest, 80, ATTACK_BODY, {"Authorization": "Bearer WRONG-0123456789abcdef",
                                                                      "Content-Type": "application/json"}))
    in_body = asyncio.run(attack_and_measure(ingest, 80, b'[{"clientSecret": "WRONG-0123456789"},' + ATTACK_BODY[1:],
                                             {"Content-Type": "application/json"}))
    peak = ingest.peak_rss_mb()
    print(f"\n80 x 8 MB unauthenticated batches: secret in a header -> {header}; in the body -> {in_body}; "
          f"ingest peak RSS {peak:.0f} MB")
    assert set(header["statuses"]) <= {403, 0} and set(in_body["statuses"]) <= {403, 503, 0}
    assert 403 in header["statuses"] and 403 in in_body["statuses"]
    assert peak < RSS_BOUND_MB


def test_an_item_over_the_event_limit_is_a_413_that_names_it(ingest: Ingest) -> None:
    items = [seed_event(), seed_event(kiloUserId="x" * 200, toolsAvailable=["t" * 200] * 256), seed_event()]
    items[1]["padding"] = "p" * (1024 * 1024)
    request = urllib.request.Request(ingest.url("/ingest/api-metrics/batch"), data=json.dumps(items).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 413
    assert json.loads(error.value.read())["index"] == 1


def test_a_malformed_header_line_gets_a_generic_counted_400_that_repeats_nothing(ingest: Ingest) -> None:
    answers = []
    for line in (f"Authorization: Bearer {SECRET}\x01".encode(), f"Bearer {SECRET}".encode()):
        with socket.create_connection(("127.0.0.1", ingest.port), timeout=10) as sock:
            sock.sendall(b"POST " + URL.encode() + b" HTTP/1.1\r\nHost: x\r\n" + line + b"\r\nContent-Length: 2\r\n\r\n{}")
            answers.append(sock.recv(65536))
    for answer in answers:
        assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0] and SECRET.encode() not in answer
        assert b"\r\nServer: o11y\r\n" in answer and b"\r\nX-Content-Type-Options: nosniff\r\n" in answer
        assert answer.endswith(b'{"success": false, "error": "Malformed HTTP request"}')
    metrics = urllib.request.urlopen(ingest.url("/metrics", admin=True), timeout=10).read().decode()
    assert 'o11y_ingest_requests_total{route="malformed",status="400"} 2.0' in metrics


def test_operations_endpoints_live_on_the_admin_port_and_tell_strangers_little(ingest: Ingest) -> None:
    with pytest.raises(urllib.error.HTTPError) as hidden:
        urllib.request.urlopen(ingest.url("/metrics"), timeout=10)
    assert hidden.value.code == 404
    with urllib.request.urlopen(ingest.url("/readyz", admin=True), timeout=10) as anonymous:
        assert json.loads(anonymous.read()) == {"status": "ready"}
        assert anonymous.headers["Server"] == "o11y"
    request = urllib.request.Request(ingest.url("/readyz", admin=True), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as detailed:
        assert json.loads(detailed.read())["components"] == {"kafka": "ok"}
    with urllib.request.urlopen(urllib.request.Request(ingest.url(URL), data=json.dumps(seed_event()).encode(),
                                                       headers={"Content-Type": "application/json"}), timeout=10) as ok:
        assert ok.status == 204 and ok.headers["Server"] == "o11y"


@pytest.mark.parametrize(
    "variable, value, line",
    [
        ("O11Y_CLIENT_SECRETS", '{"a": ["padded-secret-0123456789 "]}', "starts or ends with white space"),
        ("O11Y_CLIENT_SECRETS", '{"a": ["same-secret-0123456789"], "b": ["same-secret-0123456789"]}', "share a secret"),
        ("O11Y_LOG_LEVEL", "LOUD", "O11Y_LOG_LEVEL"),
        ("O11Y_CLICKHOUSE_URL", "ch.internal:8123", "O11Y_CLICKHOUSE_URL: must start with http:// or https:// or chdb://"),
        ("O11Y_CLICKHOUSE_URL", "http://ch.internal:99999", "O11Y_CLICKHOUSE_URL: has a port that is not a number"),
        ("O11Y_REDIS_URL", "localhost:6379", "O11Y_REDIS_URL: must start with redis://"),
        ("O11Y_KAFKA_BOOTSTRAP_SERVERS", "broker-1", "O11Y_KAFKA_BOOTSTRAP_SERVERS: must be host:port"),
        ("O11Y_HTTP_PORT", "70000", "O11Y_HTTP_PORT: Input should be less than or equal to 65535"),
        ("O11Y_SLACK_PAGE_WEBHOOK_URL", f"hooks.slack.com/services/T0/B0/{WEBHOOK_TOKEN}",
         "O11Y_SLACK_PAGE_WEBHOOK_URL: must start with https:// or http://"),
    ],
)
def test_a_bad_setting_at_start_is_one_line(variable: str, value: str, line: str) -> None:
    env = clean_env(O11Y_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9", O11Y_CLIENT_SECRETS=json.dumps({"a": [SECRET]}))
    env[variable] = value
    out = subprocess.run([sys.executable, "-m", "o11y.cli", "ingest"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and line in out.stderr and WEBHOOK_TOKEN not in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_an_unreachable_clickhouse_at_start_is_one_line_without_its_password() -> None:
    env = clean_env(O11Y_CLICKHOUSE_URL=f"http://o11y:hunter2-db-password@127.0.0.1:{free_port()}/o11y")
    out = subprocess.run([sys.executable, "-m", "o11y.cli", "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "cannot reach ClickHouse at 127.0.0.1:" in out.stderr
    assert "Traceback" not in out.stderr and "hunter2" not in out.stderr
