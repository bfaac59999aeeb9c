"""The demo's gateway requests: its routes and their pace, one request event, and the scripted incidents."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, NamedTuple

MAIN_CLIENT = "kilo-gateway"


@dataclass(frozen=True)
class Pace:
    """How fast a healthy route answers: its median time to first token and its generation speed."""

    ttft_ms: float
    tokens_per_s: float


class Route(NamedTuple):
    provider: str
    model: str
    pace: Pace


ROUTES = (
    # 36 tokens/s: halved by `slow-tokens`, the median passes the default policy's 20 tokens/s.
    Route("openrouter", "anthropic/claude-sonnet-4.5", Pace(1_400, 36)),
    # Reasoning: it thinks for ~23 s before its first token; `queueing` (×5) passes the default policy's 60 s.
    Route("openrouter", "openai/gpt-5.2", Pace(23_000, 60)),
    Route("vercel", "google/gemini-3-flash-preview", Pace(600, 120)),
    Route("openrouter", "x-ai/grok-code-fast-1", Pace(500, 100)),
    Route("mistral", "mistralai/codestral", Pace(400, 80)),
)
REASONING_ROUTE = ROUTES[1]
OUTPUT_LENGTHS = ((1, 15, 8), (16, 250, 45), (250, 1_500, 35), (1_500, 8_000, 12))
"""(fewest, most, weight) output tokens: a coding agent's answers are mostly short tool calls, some whole files; the
shortest say nothing of the generation speed (the default policy counts 16 or more)."""
STREAMED = 0.9
INCIDENT_SECONDS = {"errors": 180.0, "slow": 420.0, "slow-tokens": 420.0, "queueing": 420.0, "tool-errors": 600.0}
"""Each kind and how long it lasts by default. Errors page at the first tick; a latency page needs five bad minutes of
at least 10 counted requests each, and seven minutes hold six whole ones whatever second they start at. Failing tool
calls open a ticket at the first tick too; it stays open until its half-hour window has forgotten most of them."""
REQUEST_KINDS = ("errors", "slow", "slow-tokens", "queueing")
"""The incidents of requests; `tool-errors` is an incident of agent sessions (`o11y.demo_sessions`)."""
TOOLS = ("function:read_file", "function:write_to_file", "function:execute_command", "function:search_files",
         "function:list_files", "function:ask_followup_question")
MODES = ("code", "architect", "ask", "debug", "orchestrator")


@dataclass(frozen=True)
class Incident:
    """From `start_s` for `duration_s`, one route of the main client fails (`errors`: 20 % of its requests), is slow
    (`slow`: whole answers take 16–46 s or more), generates at half speed (`slow-tokens`) or waits five times as long
    for its first token (`queueing`). The route defaults to the first one, the reasoning route for `queueing`. Or one
    tool type of the main client's agent sessions on one platform fails half its calls (`tool-errors`)."""

    kind: str = "errors"
    start_s: float = 20.0
    duration_s: float = INCIDENT_SECONDS["errors"]
    provider: str = ""
    model: str = ""
    tool: str = "execute_command"
    platform: str = "vscode"

    def __post_init__(self) -> None:
        if not self.model:
            route = REASONING_ROUTE if self.kind == "queueing" else ROUTES[0]
            object.__setattr__(self, "provider", route.provider)
            object.__setattr__(self, "model", route.model)

    def active(self, elapsed_s: float) -> bool:
        return self.start_s <= elapsed_s < self.start_s + self.duration_s

    def hits(self, elapsed_s: float, client: str, route: Route) -> bool:
        return (self.kind in REQUEST_KINDS and self.active(elapsed_s)
                and (client, route.provider, route.model) == (MAIN_CLIENT, self.provider, self.model))

    def breaks_tools(self, elapsed_s: float, client: str) -> bool:
        """Whether `client`'s sessions that end now are the ones whose tool fails."""
        return self.kind == "tool-errors" and self.active(elapsed_s) and client == MAIN_CLIENT


def make_event(rng: random.Random, elapsed_s: float, incident: Incident | None, client: str = MAIN_CLIENT) -> dict[str, Any]:
    """One gateway request as `client` would report it (the client itself is known from its secret)."""
    route = _route(rng, incident, client)
    kind = incident.kind if incident is not None and incident.hits(elapsed_s, client, route) else None
    anonymous = rng.random() < 0.15
    status = rng.choices((200, 429, 500, 502, 400), weights=(99_950, 20, 10, 10, 10))[0]
    if kind == "errors" and rng.random() < 0.2:
        status = rng.choice((500, 502, 503))
    streaming = rng.random() < STREAMED
    output_tokens = output_length(rng) if status < 400 else 0
    ttfb, complete = _timings(rng, route.pace, kind, streaming, output_tokens)
    user = f"anon:198.51.100.{rng.randrange(1, 255)}" if anonymous else f"user_{rng.randrange(1, 400)}"
    tools = rng.sample(TOOLS, rng.randrange(0, 4))
    input_tokens = rng.randrange(200, 60_000)
    event: dict[str, Any] = {
        "kiloUserId": user,
        "isAnonymous": anonymous,
        "isStreaming": streaming,
        "userByok": rng.random() < 0.05,
        "mode": rng.choice(MODES),
        "provider": route.provider,
        "requestedModel": route.model if rng.random() < 0.7 else "kilo/auto",
        "resolvedModel": route.model,
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


def _route(rng: random.Random, incident: Incident | None, client: str) -> Route:
    route = rng.choice(ROUTES)
    if incident and incident.kind in REQUEST_KINDS and client == MAIN_CLIENT and rng.random() < 0.4:
        # Enough of the main client's traffic on the incident's route for every minute to count it.
        route = next((r for r in ROUTES if (r.provider, r.model) == (incident.provider, incident.model)), route)
    return route


def output_length(rng: random.Random) -> int:
    fewest, most, _ = rng.choices(OUTPUT_LENGTHS, weights=[w for _, _, w in OUTPUT_LENGTHS])[0]
    return min(most, int(math.exp(rng.uniform(math.log(fewest), math.log(most + 1)))))


def _timings(rng: random.Random, pace: Pace, kind: str | None, streaming: bool, output_tokens: int) -> tuple[int, int]:
    """(ttfbMs, completeRequestMs): the first token after `ttft`, then one token per `tpot`, so that a streamed request's
    complete time is ttfb + (output tokens − 1) × TPOT. A failed request answers at once, with no tokens."""
    ttft = rng.lognormvariate(math.log(pace.ttft_ms * (5 if kind == "queueing" else 1)), 0.3)
    tpot = rng.lognormvariate(math.log(1000 / pace.tokens_per_s * (2 if kind == "slow-tokens" else 1)), 0.2)
    if output_tokens == 0:
        at_once = int(rng.lognormvariate(math.log(300), 0.5))
        return at_once, at_once
    first = int(ttft)
    complete = first + round((output_tokens - 1) * tpot)
    if kind == "slow":
        complete = max(complete, 16_000 + int(rng.random() * 30_000))
    # Not streamed: the first byte comes with the whole answer.
    return (first, complete) if streaming else (max(0, complete - rng.randrange(1, 20)), complete)
