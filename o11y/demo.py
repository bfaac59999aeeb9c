"""`o11y demo`: realistic gateway requests and agent sessions to any ingest URL, with an optional scripted incident."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import aiohttp

from o11y.demo_requests import MAIN_CLIENT, Incident, make_event
from o11y.demo_sessions import REQUESTS_PER_SESSION, make_session

REQUESTS_PATH = "/ingest/api-metrics"
SESSIONS_PATH = "/ingest/session-metrics"


@dataclass
class Tally:
    """What one endpoint was sent and how it answered."""

    sent: int = 0
    accepted: int = 0
    refused: int = 0
    failed: int = 0


@dataclass
class Progress:
    requests: Tally = field(default_factory=Tally)
    sessions: Tally = field(default_factory=Tally)

    def total(self) -> Tally:
        both = (self.requests, self.sessions)
        return Tally(*(sum(getattr(t, name) for t in both) for name in ("sent", "accepted", "refused", "failed")))


class _Outbox:
    """Posts without waiting for the answer, as a busy gateway does; `drain` waits for every answer."""

    def __init__(self, http: aiohttp.ClientSession, url: str, secrets: dict[str, str]) -> None:
        self._http, self._url, self._secrets = http, url.rstrip("/"), secrets
        self._pending: set[asyncio.Task[None]] = set()

    def post(self, path: str, client: str, event: dict[str, Any], tally: Tally) -> None:
        tally.sent += 1
        headers = {"Authorization": f"Bearer {self._secrets[client]}"}
        task = asyncio.create_task(_send(self._http, self._url + path, event, headers, tally))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending)


async def run_demo(
    url: str,
    secrets: dict[str, str],
    rate: float,
    duration_s: float | None,
    incident: Incident | None,
    out: TextIO = sys.stdout,
    seed: int | None = None,
) -> Progress:
    """Send `rate` requests/s and a finished session for every `REQUESTS_PER_SESSION` requests, three in four of each from
    the main client, until `duration_s` (None: until cancelled)."""
    rng, session_rng = random.Random(seed), random.Random(None if seed is None else seed + 1)
    clients = list(secrets)
    weights = [3 if name == MAIN_CLIENT else 1 for name in clients]
    progress = Progress()
    started = last_report = time.monotonic()
    async with aiohttp.ClientSession() as http:
        outbox = _Outbox(http, url, secrets)
        while duration_s is None or time.monotonic() - started < duration_s:
            elapsed = time.monotonic() - started
            if progress.requests.sent % REQUESTS_PER_SESSION == 0:
                client = session_rng.choices(clients, weights)[0]
                outbox.post(SESSIONS_PATH, client, make_session(session_rng, elapsed, incident, client), progress.sessions)
            client = rng.choices(clients, weights)[0]
            outbox.post(REQUESTS_PATH, client, make_event(rng, elapsed, incident, client), progress.requests)
            if time.monotonic() - last_report >= 5:
                last_report = time.monotonic()
                _report(progress, elapsed, incident, out)
            await asyncio.sleep(max(0.0, started + progress.requests.sent / rate - time.monotonic()))
        await outbox.drain()
    _report(progress, time.monotonic() - started, incident, out)
    return progress


async def _send(
    session: aiohttp.ClientSession, endpoint: str, event: dict[str, Any], headers: dict[str, str], tally: Tally
) -> None:
    try:
        async with session.post(endpoint, json=event, headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status == 204:
                tally.accepted += 1
            else:
                tally.refused += 1
    except (TimeoutError, aiohttp.ClientError):
        tally.failed += 1


def _report(progress: Progress, elapsed: float, incident: Incident | None, out: TextIO) -> None:
    rate = progress.requests.sent / elapsed if elapsed else 0.0
    total = progress.total()
    state = ""
    if incident is not None:
        state = " | incident " + (
            "ACTIVE"
            if incident.active(elapsed)
            else "over"
            if elapsed > incident.start_s
            else f"in {incident.start_s - elapsed:.0f}s"
        )
    print(
        f"demo: {elapsed:5.0f}s sent {progress.requests.sent:,} requests ({rate:.0f}/s) and {progress.sessions.sent:,} "
        f"sessions, accepted {total.accepted:,} refused {total.refused:,} failed {total.failed:,}{state}",
        file=out,
        flush=True,
    )
