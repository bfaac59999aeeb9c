"""`o11y demo`: realistic gateway traffic to any ingest URL, with an optional scripted incident."""

from __future__ import annotations

import asyncio
import math
import random
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp

MAIN_CLIENT = "kilo-gateway"
ROUTES = (  # (provider, model, typical complete_request_ms)
    ("openrouter", "anthropic/claude-sonnet-4.5", 1800),
    ("openrouter", "openai/gpt-5.2", 1500),
    ("vercel", "google/gemini-3-flash-preview", 900),
    ("openrouter", "x-ai/grok-code-fast-1", 700),
    ("mistral", "mistralai/codestral", 500),
)
STREAM_TIMEOUT_MS = 60_000
"""The gateway gives up on a stream after a minute: latencies have a long tail up to there, as real LLM traffic does."""
TOOLS = ("function:read_file", "function:write_to_file", "function:execute_command", "function:search_files",
         "function:list_files", "function:ask_followup_question")
MODES = ("code", "architect", "ask", "debug", "orchestrator")


@dataclass(frozen=True)
class Incident:
    """From `start_s` for `duration_s`, one route of the main client fails (`errors`) or is slow (`slow`)."""

    kind: str = "errors"
    start_s: float = 20.0
    duration_s: float = 180.0
    """Errors page at the first tick; a latency page needs five bad minutes, so a slow incident should last longer."""
    provider: str = ROUTES[0][0]
    model: str = ROUTES[0][1]

    def active(self, elapsed_s: float) -> bool:
        return self.start_s <= elapsed_s < self.start_s + self.duration_s


def make_event(rng: random.Random, elapsed_s: float, incident: Incident | None, client: str = MAIN_CLIENT) -> dict[str, Any]:
    """One gateway request as `client` would report it (the client itself is known from its secret)."""
    provider, model, typical_ms = rng.choice(ROUTES)
    if incident and client == MAIN_CLIENT and rng.random() < 0.4:
        provider, model = incident.provider, incident.model
        typical_ms = next((t for p, m, t in ROUTES if (p, m) == (provider, model)), 1500)
    anonymous = rng.random() < 0.15
    ttfb = int(rng.lognormvariate(math.log(typical_ms / 8), 0.4))
    complete = min(STREAM_TIMEOUT_MS, ttfb + int(rng.lognormvariate(math.log(typical_ms), 0.9)))
    status = rng.choices((200, 429, 500, 502, 400), weights=(99_950, 20, 10, 10, 10))[0]
    hit = (
        incident is not None
        and incident.active(elapsed_s)
        and (client, provider, model) == (MAIN_CLIENT, incident.provider, incident.model)
    )
    if hit and incident is not None and incident.kind == "errors" and rng.random() < 0.2:
        status = rng.choice((500, 502, 503))
    if hit and incident is not None and incident.kind == "slow":
        complete = 16_000 + int(rng.random() * 30_000)
    user = f"anon:198.51.100.{rng.randrange(1, 255)}" if anonymous else f"user_{rng.randrange(1, 400)}"
    tools = rng.sample(TOOLS, rng.randrange(0, 4))
    input_tokens = rng.randrange(200, 60_000)
    output_tokens = rng.randrange(10, 4_000)
    event: dict[str, Any] = {
        "kiloUserId": user,
        "isAnonymous": anonymous,
        "isStreaming": rng.random() < 0.9,
        "userByok": rng.random() < 0.05,
        "mode": rng.choice(MODES),
        "provider": provider,
        "requestedModel": model if rng.random() < 0.7 else "kilo/auto",
        "resolvedModel": model,
        "toolsAvailable": tools,
        "toolsUsed": tools[: rng.randrange(0, len(tools) + 1)],
        "ttfbMs": ttfb,
        "completeRequestMs": complete,
        "statusCode": status,
        "tokens": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "cacheHitTokens": input_tokens // 3,
            "totalTokens": input_tokens + output_tokens,
        },
    }
    if not anonymous and rng.random() < 0.5:
        event["organizationId"] = f"org_{rng.randrange(1, 30)}"
    return event


@dataclass
class Progress:
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    failed: int = 0


async def run_demo(
    url: str,
    secrets: dict[str, str],
    rate: float,
    duration_s: float | None,
    incident: Incident | None,
    out: TextIO = sys.stdout,
    seed: int | None = None,
) -> Progress:
    """Send `rate` events/s, three in four from the main client, until `duration_s` (None: until cancelled)."""
    rng = random.Random(seed)
    progress = Progress()
    endpoint = url.rstrip("/") + "/ingest/api-metrics"
    clients = list(secrets)
    weights = [3 if name == MAIN_CLIENT else 1 for name in clients]
    started = time.monotonic()
    last_report = started
    async with aiohttp.ClientSession() as session:
        pending: set[asyncio.Task[None]] = set()
        while duration_s is None or time.monotonic() - started < duration_s:
            elapsed = time.monotonic() - started
            client = rng.choices(clients, weights)[0]
            event = make_event(rng, elapsed, incident, client)
            headers = {"Authorization": f"Bearer {secrets[client]}"}
            task = asyncio.create_task(_send(session, endpoint, event, headers, progress))
            pending.add(task)
            task.add_done_callback(pending.discard)
            if time.monotonic() - last_report >= 5:
                last_report = time.monotonic()
                _report(progress, elapsed, incident, out)
            await asyncio.sleep(max(0.0, started + progress.sent / rate - time.monotonic()))
        if pending:
            await asyncio.gather(*pending)
    _report(progress, time.monotonic() - started, incident, out)
    return progress


async def _send(
    session: aiohttp.ClientSession, endpoint: str, event: dict[str, Any], headers: dict[str, str], progress: Progress
) -> None:
    progress.sent += 1
    try:
        async with session.post(endpoint, json=event, headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status == 204:
                progress.accepted += 1
            else:
                progress.refused += 1
    except (TimeoutError, aiohttp.ClientError):
        progress.failed += 1


def _report(progress: Progress, elapsed: float, incident: Incident | None, out: TextIO) -> None:
    rate = progress.sent / elapsed if elapsed else 0.0
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
        f"demo: {elapsed:5.0f}s sent {progress.sent:,} ({rate:.0f}/s) accepted {progress.accepted:,} "
        f"refused {progress.refused:,} failed {progress.failed:,}{state}",
        file=out,
        flush=True,
    )
