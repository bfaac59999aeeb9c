"""`o11y ingest` as a separate process, and a memory attack on it measured from outside (tests and bench)."""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from o11y.embedded import EmbeddedKafka, free_port, wait_for_port
from support.events import ADMIN_TOKEN, SECRET, seed_event
from support.processes import clean_env

URL = "/ingest/api-metrics"
RSS_BOUND_MB = 200
"""The documented bound for this test's settings: O11Y_HTTP_MAX_INFLIGHT_BYTES of 80 MiB over a ~60 MB process."""


class Ingest:
    """`o11y ingest` as a process, from this tree or from `source` (another checkout, to measure it the same way)."""

    def __init__(self, kafka: EmbeddedKafka, topic: str, source: str | None = None, **extra: str) -> None:
        self.port, self.admin_port = free_port(), free_port()
        env = clean_env(O11Y_KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers, O11Y_KAFKA_TOPIC=topic,
                        O11Y_CLIENT_SECRETS=json.dumps({"kilo-gateway": [SECRET]}), O11Y_HTTP_HOST="127.0.0.1",
                        O11Y_HTTP_PORT=str(self.port), O11Y_ADMIN_PORT=str(self.admin_port),
                        O11Y_ADMIN_TOKENS=json.dumps({"ops": [ADMIN_TOKEN]}), O11Y_HTTP_MAX_INFLIGHT_BYTES=str(80 << 20),
                        O11Y_WORKERS="1",
                        **extra)
        if source is not None:
            env["PYTHONPATH"] = source
        self.process = subprocess.Popen([sys.executable, "-m", "o11y.cli", "ingest"], env=env, cwd=source,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_port(self.port, self.process, "o11y ingest", timeout_s=60)
        if source is None:
            wait_for_port(self.admin_port, self.process, "o11y ingest admin", timeout_s=30)

    def url(self, path: str, admin: bool = False) -> str:
        return f"http://127.0.0.1:{self.admin_port if admin else self.port}{path}"

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024

    def stop(self) -> str:
        self.process.terminate()
        _, err = self.process.communicate(timeout=30)
        return err.decode(errors="replace")


ATTACK_BODY = b"[" + b"{}," * (8 * 1024 * 1024 // 3 - 20) + b"{}]"
"""8 MB of empty objects: 2.8 million items."""


async def attack_and_measure(ingest: Ingest, requests: int, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """`requests` concurrent batches of `body` while a gateway keeps sending valid events; their latency."""
    latencies: list[float] = []
    statuses: list[int] = []

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def attack() -> None:
            try:
                async with session.post(ingest.url("/ingest/api-metrics/batch"), data=body, headers=headers) as response:
                    statuses.append(response.status)
            except aiohttp.ClientError:
                statuses.append(0)  # the server closed the connection without reading the body

        async def valid_events() -> None:
            for _ in range(40):
                started = time.monotonic()
                async with session.post(ingest.url(URL), json=seed_event()) as response:
                    assert response.status == 204
                latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.05)

        await asyncio.gather(valid_events(), *(attack() for _ in range(requests)))
    return {"statuses": sorted(set(statuses)), "p50_ms": statistics.median(latencies) * 1000,
            "max_ms": max(latencies) * 1000}
