"""`o11y ingest --workers N`: processes sharing one port, their metrics summed, a graceful drain, no half-running unit."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from o11y.embedded import EmbeddedKafka, free_port
from support.events import SECRET, seed_event
from support.kafka_io import read_topic, values
from support.processes import clean_env

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own


def children(pid: int) -> list[int]:
    """The worker processes of `pid` (not multiprocessing's resource tracker)."""
    found = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [p for p in found if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()]


@pytest.fixture
def workers(kafka: EmbeddedKafka, topic: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = clean_env(O11Y_KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers, O11Y_KAFKA_TOPIC=topic, O11Y_HTTP_PORT=str(port),
                    O11Y_HTTP_HOST="127.0.0.1", O11Y_CLIENT_SECRETS=json.dumps({"kilo-gateway": [SECRET]}))
    process = subprocess.Popen([sys.executable, "-m", "o11y.cli", "ingest", "--workers", "2"], env=env)
    try:
        deadline = time.monotonic() + 60
        while len(children(process.pid)) < 2 or not _healthy(port):
            assert process.poll() is None and time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _healthy(port: int) -> bool:
    import urllib.request

    try:
        return bool(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200)
    except OSError:
        return False


async def send(port: int, count: int) -> list[int]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}

    async def one(i: int) -> int:
        # A connection of its own each: the kernel spreads connections, not requests, across the workers.
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=headers) as session:
            async with session.post("/ingest/api-metrics", data=json.dumps(seed_event(kiloUserId=f"w{i}"))) as answer:
                return answer.status

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def test_workers_share_the_port_sum_their_metrics_and_drain(workers: Any, kafka: EmbeddedKafka, topic: str) -> None:
    process, port = workers
    pids = children(process.pid)
    assert len(set(pids)) == 2
    assert asyncio.run(send(port, 120)) == [204] * 120
    import urllib.request

    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    accepted = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                   if line.startswith("o11y_ingest_requests_total{") and 'status="204"' in line)
    assert accepted == 120, "whichever worker answers /metrics counts every worker's requests"

    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids)
    stored = values(read_topic(kafka.bootstrap_servers, topic, 120))
    assert sorted(m["kilo_user_id"] for m in stored) == sorted(f"w{i}" for i in range(120))


def test_a_worker_that_dies_takes_the_unit_down(workers: Any) -> None:
    process, _ = workers
    first, second = children(process.pid)
    os.kill(first, signal.SIGKILL)
    assert process.wait(30) != 0, "the orchestrator restarts the whole unit, not a process short of a worker"
    assert not Path(f"/proc/{second}").exists(), "the other worker was stopped and reaped"


def test_workers_must_be_a_positive_number() -> None:
    out = subprocess.run([sys.executable, "-m", "o11y.cli", "ingest", "--workers", "0"], env=clean_env(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "not a number of processes" in out.stderr
