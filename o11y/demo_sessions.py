"""The demo's agent sessions: one finished session as the service that ran it reports it, healthy or with a failing tool."""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

from o11y.demo_requests import MAIN_CLIENT, REASONING_ROUTE, ROUTES, TOOLS, Incident, Route, output_length

REQUESTS_PER_SESSION = 20
"""A session ends for every 20 requests the demo sends: a session makes a dozen model calls or so, and not every request
is an agent's. At the default 20 requests/s that is a session a second, a few a minute per platform and model."""
PLATFORMS = {"vscode": 5, "cli": 3, "jetbrains": 2}
SESSION_TOOLS = {tool.removeprefix("function:"): weight for tool, weight in zip(TOOLS, (35, 15, 20, 15, 10, 5), strict=True)}
"""Tool type → weight among a session's calls (the requests' tools, as the session service names them)."""
HEALTHY_FAILURES = {"read_file": 0.03, "write_to_file": 0.01, "execute_command": 0.05, "search_files": 0.01,
                    "list_files": 0.005, "ask_followup_question": 0.0}
"""Share of a tool type's calls that fail on a good day (a file not found, a command that exits 1): far below the
default policy's 10 %, so that healthy demo traffic never opens a `tool_errors` ticket."""
ENDINGS = {"completed": 880, "interrupted": 70, "abandoned": 45, "error": 5}
"""How sessions end, per thousand: the user stops some, walks away from some, and one in 200 fails; with the stuck tool
calls, 0.7 % of sessions are bad, far below the 2 % `session_failures` allows."""
STUCK = 0.002
BROKEN_TOOL_FAILURES = 0.5
"""`tool-errors`: the share of the broken tool's calls that fail on its platform."""
STEERED = 0.4
"""During `tool-errors`, this share of the main client's sessions runs on the broken platform (besides its own share):
enough of its calls in every minute for the ticket's three-minute window to judge."""


def make_session(rng: random.Random, elapsed_s: float, incident: Incident | None, client: str = MAIN_CLIENT) -> dict[str, Any]:
    """One agent session of `client` that ends `elapsed_s` into the demo."""
    broken = incident if incident is not None and incident.breaks_tools(elapsed_s, client) else None
    platform = broken.platform if broken is not None and rng.random() < STEERED else _pick(rng, PLATFORMS)
    route = rng.choice(ROUTES)
    turns = rng.randrange(1, 7)
    steps = turns * rng.randrange(2, 7)
    calls = Counter(rng.choices(list(SESSION_TOOLS), weights=list(SESSION_TOOLS.values()), k=steps - turns))
    failed = {tool: _failed(rng, n, _failure_share(tool, platform, broken)) for tool, n in calls.items()}
    ending = _pick(rng, ENDINGS)
    errors = {"tool_error": sum(failed.values()), "api_error": int(ending == "error")}
    anonymous = rng.random() < 0.1
    session: dict[str, Any] = {
        "kiloUserId": f"anon:198.51.100.{rng.randrange(1, 255)}" if anonymous else f"user_{rng.randrange(1, 400)}",
        "sessionId": f"ses_{rng.getrandbits(48):012x}",
        "platform": platform,
        "sessionDurationMs": int(sum(rng.lognormvariate(math.log(6_000), 0.5) for _ in range(steps))
                                 + sum(rng.lognormvariate(math.log(20_000), 0.7) for _ in range(turns))),
        "timeToFirstResponseMs": int(rng.lognormvariate(math.log(route.pace.ttft_ms), 0.3)),
        "totalTurns": turns,
        "totalSteps": steps,
        "toolCallsByType": dict(calls),
        "toolErrorsByType": {tool: n for tool, n in failed.items() if n},
        "totalErrors": sum(errors.values()),
        "errorsByType": {kind: n for kind, n in errors.items() if n},
        "stuckToolCallCount": int(rng.random() < STUCK),
        "terminationReason": ending,
        "model": route.model,
        "ingestVersion": 1,
        **_tokens(rng, route, steps),
    }
    if not anonymous and rng.random() < 0.5:
        session["organizationId"] = f"org_{rng.randrange(1, 30)}"
    return session


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _failure_share(tool: str, platform: str, broken: Incident | None) -> float:
    if broken is not None and (tool, platform) == (broken.tool, broken.platform):
        return BROKEN_TOOL_FAILURES
    return HEALTHY_FAILURES[tool]


def _failed(rng: random.Random, calls: int, share: float) -> int:
    return sum(rng.random() < share for _ in range(calls))


def _tokens(rng: random.Random, route: Route, steps: int) -> dict[str, Any]:
    """Every step sends the whole context again, mostly from the prompt cache; a reasoning model also thinks."""
    prompt = steps * rng.randrange(8_000, 40_000)
    output = sum(output_length(rng) for _ in range(steps))
    cache_read, cache_write = prompt * 8 // 10, prompt // 10
    cost = ((prompt - cache_read - cache_write) * 3 + cache_read * 0.3 + cache_write * 3.75 + output * 15) / 1e6
    compactions = int(prompt > 400_000)
    return {
        "totalTokens": {"input": prompt, "output": output, "reasoning": output // 2 if route == REASONING_ROUTE else 0,
                        "cacheRead": cache_read, "cacheWrite": cache_write},
        "totalCost": round(cost, 4),
        "compactionCount": compactions,
        "autoCompactionCount": compactions,
    }
