"""`o11y demo`'s traffic is LLM-like and healthy, requests and agent sessions alike, and each scripted incident, through the
real pipeline, ends in a page or a ticket."""

from __future__ import annotations

import asyncio
import io
import json
import random
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from alerting.delivery.slack_messages import ICONS
from alerting.receivers.slack_webhook import ConsoleNotifier
from alerting.rules.burn_rate import WindowCount
from alerting.rules.decisions import find_trips
from alerting.rules.window_query import WindowCounts
from ingest.edge.app import create_app
from o11y.demo import run_demo
from o11y.demo_requests import INCIDENT_SECONDS, MAIN_CLIENT, REASONING_ROUTE, ROUTES, Incident, make_event
from o11y.demo_sessions import REQUESTS_PER_SESSION, SESSION_TOOLS, make_session
from runtime.settings import Settings
from schemas.alert_policy import DEFAULT_POLICY, AlertPolicy, Dimension, default_policy, policy_from_document
from schemas.session_event import SESSIONS
from support.alerting_harness import make_evaluator
from support.events import OTHER_CLIENT_SECRET, SECRET
from support.live_server import LiveServer
from support.loader_harness import count, loader_settings, running_loader
from support.processes import clean_env
from support.waiting import wait_until

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own


def one_minute_is_enough(slo: str) -> AlertPolicy:
    """The default policy, but `slo` pages on one bad minute (the default needs five, minutes of traffic)."""
    slos = [{**rule, "min_bad_events": 1, "confidence": 0} if rule["name"] == slo else rule for rule in DEFAULT_POLICY["slos"]]
    return policy_from_document({**DEFAULT_POLICY, "slos": slos})


SONNET = ("openrouter", "anthropic/claude-sonnet-4.5", "kilo-gateway")


@pytest.mark.parametrize(("kind", "rate", "slo", "severity", "route", "policy", "header"), [
    # first, and at twice the rate: its slowed answers must outnumber any healthy ones of the route in their minutes
    ("slow-tokens", 120, "generation_speed", "page", SONNET, one_minute_is_enough("generation_speed"),
     "LLM Generation speed (median) SLO Breach"),
    # at four times the rate: its failing calls must outweigh the healthy ones earlier cases sent in its windows
    ("tool-errors", 240, "tool_errors", "ticket", ("execute_command", "vscode", "kilo-gateway"), None,
     "LLM Tool call errors SLO Breach"),
    ("errors", 60, "error_rate", "page", SONNET, None, "LLM Error Rate SLO Breach"),
], ids=["slow tokens page generation_speed", "failing tool calls open a tool_errors ticket", "errors page error_rate"])
def test_a_scripted_incident_ends_in_its_alert(settings: Settings, clickhouse: Any, redis_client: Any, slack: Any, kind: str,
                                               rate: int, slo: str, severity: str, route: tuple[str, str, str],
                                               policy: AlertPolicy | None, header: str) -> None:
    """The burst lands in whichever minutes the clock says: each of them is judged, by its own tick (no waiting for
    the start of a minute). Requests and sessions go through their own endpoints, topics and loaders."""
    settings = settings.model_copy(update={"kafka_session_topic": f"sessions-{settings.kafka_topic}"})
    out = io.StringIO()
    started = datetime.now(timezone.utc)
    with LiveServer(lambda: create_app(settings)) as ingest:
        secrets = {"kilo-gateway": SECRET, "other-client": OTHER_CLIENT_SECRET}
        progress = asyncio.run(run_demo(ingest.url, secrets, rate=rate, duration_s=8, seed=7, out=out,
                                        incident=Incident(kind=kind, start_s=0, duration_s=60)))
    sent_at = datetime.now(timezone.utc)
    total = progress.total()
    assert total.accepted == total.sent and progress.requests.sent > 400 and progress.sessions.sent > 20
    assert total.failed == 0 and "incident ACTIVE" in out.getvalue() and "accepted" in out.getvalue()

    load(settings, clickhouse, progress.requests.accepted, progress.sessions.accepted)
    evaluator = make_evaluator(clickhouse, redis_client, slack, policy)
    first, last = (at.replace(second=5, microsecond=0) + timedelta(minutes=1) for at in (started, sent_at))
    ticks = [first + timedelta(minutes=i) for i in range(int((last - first) / timedelta(minutes=1)) + 1)]
    decisions = [d for tick in ticks for d in evaluator.evaluate_tick(tick)]
    delivered = [d for d in decisions if d.decision == "delivered" and d.severity == severity]
    # the tables hold other tests' rows
    alerted = {(d.slo, d.provider, d.model, d.client_name) for d in delivered if d.slo == slo}
    assert alerted == {(slo, *route)}
    assert (severity, f"{ICONS[severity]} — {header}") in slack.headers()
    [body] = [body for sent, body in slack.posts if sent == severity and body["text"].startswith(f"{ICONS[severity]} — {header}")]
    console = io.StringIO()
    ConsoleNotifier(console).print(severity, body)  # what `o11y dev` prints without a webhook
    assert console.getvalue().startswith(f"[{severity.upper()}] {ICONS[severity]} — {header}: {route[0]} {route[1]} ({route[2]})")
    for table, topic in (("api_metrics", settings.kafka_topic), ("session_metrics", settings.kafka_session_topic)):
        clients = clickhouse.query(f"SELECT DISTINCT client_name FROM o11y.{table} WHERE kafka_topic = {{t:String}} ORDER BY 1",
                                   parameters={"t": topic}).result_rows
        assert clients == [("kilo-gateway",), ("other-client",)], table


def load(settings: Settings, clickhouse: Any, requests: int, sessions: int) -> None:
    """Both loaders, until each table holds every event of its type the demo sent."""
    lsettings = loader_settings(settings.kafka_bootstrap_servers or "", settings.kafka_topic, "demo",
                                kafka_session_topic=settings.kafka_session_topic)
    rows = "SELECT count() FROM o11y.{table} WHERE kafka_topic = {{t:String}}"
    with running_loader(lsettings, clickhouse), running_loader(lsettings, clickhouse, kind=SESSIONS):
        assert wait_until(lambda: count(clickhouse, rows.format(table="api_metrics"), t=settings.kafka_topic) == requests)
        assert wait_until(lambda: count(clickhouse, rows.format(table="session_metrics"),
                                        t=settings.kafka_session_topic) == sessions)


def test_demo_events_are_all_valid_and_varied() -> None:
    from schemas.api_metrics import ApiMetricsParams

    rng = random.Random(1)
    events = [ApiMetricsParams.model_validate({**make_event(rng, 10.0, None), "clientSecret": "x"}) for _ in range(20_000)]
    assert {e.is_anonymous for e in events} == {True, False} and {e.user_byok for e in events} == {True, False}
    assert len({e.resolved_model for e in events}) >= 5 and len({e.status_code for e in events}) >= 3
    assert any(e.tools_used for e in events)


def test_the_demo_sends_to_the_configured_ingest_port_and_says_so_in_its_help(settings: Settings) -> None:
    with LiveServer(lambda: create_app(settings)) as ingest:
        env = clean_env(O11Y_HTTP_PORT=str(ingest.port), O11Y_HTTP_HOST="127.0.0.1",
                        O11Y_DEMO_SECRETS=json.dumps({"kilo-gateway": SECRET}))
        shown = subprocess.run([sys.executable, "-m", "o11y.cli", "demo", "--help"], env=env, capture_output=True,
                               text=True, timeout=60)
        assert f"http://127.0.0.1:{ingest.port}" in " ".join(shown.stdout.split()), shown.stdout
        assert "tool-errors: half the execute_command calls" in " ".join(shown.stdout.split()), shown.stdout
        sent = subprocess.run([sys.executable, "-m", "o11y.cli", "demo", "--rate", "20", "--duration", "2", "--incident",
                               "none"], env=env, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    last = sent.stdout.splitlines()[-1]
    assert " failed 0" in last and " accepted 0 " not in last and " refused 0" in last, last
    assert " and 0 sessions" not in last and " sessions, accepted " in last, last


TTFT_LIMIT_MS = next(s["latency"]["threshold_ms"] for s in DEFAULT_POLICY["slos"] if s["name"] == "time_to_first_token")
TPOT_LIMIT_MS = next(s["latency"]["threshold_ms"] for s in DEFAULT_POLICY["slos"] if s["name"] == "generation_speed")
MIN_TOKENS = next(s["latency"]["min_output_tokens"] for s in DEFAULT_POLICY["slos"] if s["name"] == "generation_speed")


def main_client_minutes(incident: Incident | None, rate: float, seconds: float) -> dict[int, list[dict[str, Any]]]:
    """The main client's events, by minute since the start, as `o11y demo --rate` sends them with two clients."""
    rng = random.Random(11)
    minutes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for n in range(int(rate * seconds)):
        client = rng.choices([MAIN_CLIENT, "other-client"], [3, 1])[0]
        event = make_event(rng, n / rate, incident, client)
        if client == MAIN_CLIENT:
            minutes[int(n / rate // 60)].append(event)
    return minutes


def medians(events: list[dict[str, Any]], model: str) -> tuple[float, float, int]:
    """The default policy's two measures of one route: median time to first token and median time per output token
    (from `completeRequestMs = ttfbMs + (outputTokens − 1) × TPOT`), and how many requests the latter counts. A minute
    without requests is not judged: its medians are 0."""
    streamed = [e for e in events if e["resolvedModel"] == model and e["isStreaming"] and e["statusCode"] < 400]
    ttfts = [e["ttfbMs"] for e in streamed]
    tpots = [(e["completeRequestMs"] - e["ttfbMs"]) / (e["tokens"]["outputTokens"] - 1)
             for e in streamed if e["tokens"]["outputTokens"] >= MIN_TOKENS]
    return statistics.median(ttfts or [0]), statistics.median(tpots or [0]), len(tpots)


def test_healthy_demo_traffic_is_llm_like_and_never_trips_the_default_policy() -> None:
    minutes = main_client_minutes(None, rate=20, seconds=600)
    for route in ROUTES:
        for events in minutes.values():
            ttft, tpot, counted = medians(events, route.model)
            assert counted >= 10 and ttft <= TTFT_LIMIT_MS and tpot <= TPOT_LIMIT_MS, (route.model, ttft, tpot)
        ttft, tpot, _ = medians([e for events in minutes.values() for e in events], route.model)
        assert ttft == pytest.approx(route.pace.ttft_ms, rel=0.1), route.model
        assert 1000 / tpot == pytest.approx(route.pace.tokens_per_s, rel=0.1), route.model
    events = [e for events in minutes.values() for e in events]
    assert medians(events, REASONING_ROUTE.model)[0] > 20_000, "one route thinks before its first token"
    assert 0.85 < sum(e["isStreaming"] for e in events) / len(events) < 0.95
    outputs = [e["tokens"]["outputTokens"] for e in events if e["statusCode"] < 400]
    assert min(outputs) < MIN_TOKENS and max(outputs) > 4000 and 100 < statistics.median(outputs) < 1000
    buffered = [e for e in events if not e["isStreaming"]]
    assert all(0 <= e["completeRequestMs"] - e["ttfbMs"] < 20 for e in buffered), "the first byte brings the whole answer"
    assert all(e["tokens"]["outputTokens"] == 0 for e in events if e["statusCode"] >= 400)


@pytest.mark.parametrize(("kind", "tpot_factor", "ttft_factor"), [
    ("slow-tokens", (1.9, 2.1), (0.95, 1.05)),
    ("queueing", (0.95, 1.05), (4.75, 5.25)),
    ("slow", (2.0, 10.0), (0.95, 1.05)),
], ids=["slow tokens halve the generation speed", "queueing makes the first token wait five times as long",
        "slow answers are slow generation"])
def test_a_latency_incident_changes_one_measure_of_its_route(kind: str, tpot_factor: tuple[float, float],
                                                             ttft_factor: tuple[float, float]) -> None:
    incident = Incident(kind=kind, start_s=30, duration_s=INCIDENT_SECONDS[kind])
    minutes = main_client_minutes(incident, rate=20, seconds=600)
    during = [e for m, events in minutes.items() if incident.active(m * 60) and incident.active(m * 60 + 59.999) for e in events]
    after = [e for m, events in minutes.items() if m * 60 >= incident.start_s + incident.duration_s for e in events]
    ttft, tpot, _ = medians(during, incident.model)
    ttft_before, tpot_before, _ = medians(after, incident.model)
    assert ttft_factor[0] < ttft / ttft_before < ttft_factor[1] and tpot_factor[0] < tpot / tpot_before < tpot_factor[1]
    assert incident.model == (REASONING_ROUTE.model if kind == "queueing" else ROUTES[0].model)


@pytest.mark.parametrize(("kind", "rate"), [("slow-tokens", 1), ("queueing", 1), ("slow", 20)],
                         ids=["slow tokens, even at one event a second", "queueing, even at one event a second",
                              "slow, at the default rate (its TPOT varies more)"])
def test_a_latency_incident_gives_its_route_five_bad_minutes_and_leaves_the_others_healthy(kind: str, rate: float) -> None:
    incident = Incident(kind=kind, start_s=30, duration_s=INCIDENT_SECONDS[kind])
    minutes = main_client_minutes(incident, rate=rate, seconds=600)
    inside = [m for m in minutes if incident.active(m * 60) and incident.active(m * 60 + 59.999)]
    assert len(inside) >= 5
    for m in inside:
        ttft, tpot, counted = medians(minutes[m], incident.model)
        assert counted >= 10 and (ttft > TTFT_LIMIT_MS or tpot > TPOT_LIMIT_MS), (m, ttft, tpot, counted)
    after = [m for m in minutes if m * 60 >= incident.start_s + incident.duration_s]
    for m in after:
        ttft, tpot, _ = medians(minutes[m], incident.model)
        assert ttft <= TTFT_LIMIT_MS and tpot <= TPOT_LIMIT_MS, (m, ttft, tpot)
    for route in ROUTES:
        for m in minutes if route.model != incident.model else ():
            ttft, tpot, _ = medians(minutes[m], route.model)
            assert ttft <= TTFT_LIMIT_MS and tpot <= TPOT_LIMIT_MS, (route.model, m)


def test_demo_sessions_are_all_valid_and_varied() -> None:
    from schemas.session_event import SessionMetricsParams

    rng = random.Random(1)
    sessions = [SessionMetricsParams.model_validate({**make_session(rng, 10.0, None), "clientSecret": "x"})
                for _ in range(5_000)]
    assert {s.platform for s in sessions} == {"vscode", "cli", "jetbrains"}
    assert {s.model for s in sessions} == {route.model for route in ROUTES}
    endings = Counter(s.termination_reason for s in sessions)
    assert set(endings) == {"completed", "interrupted", "abandoned", "error"} and endings["completed"] > 0.8 * len(sessions)
    assert endings["error"] < 0.01 * len(sessions), "an error is rare"
    assert {tool for s in sessions for tool in s.tool_calls_by_type} == set(SESSION_TOOLS)
    assert any(s.tool_errors_by_type for s in sessions) and any(s.stuck_tool_call_count for s in sessions)
    assert all(s.total_errors == sum(s.errors_by_type.values()) for s in sessions)
    assert all(s.total_steps > s.total_turns and s.total_tokens.cache_read < s.total_tokens.input for s in sessions)


def demo_sessions(incident: Incident | None, rate: float, seconds: float) -> dict[int, list[tuple[str, dict[str, Any]]]]:
    """The sessions `o11y demo --rate` sends with two clients (one for every `REQUESTS_PER_SESSION` requests), with their
    client, by minute since the start."""
    rng = random.Random(11)
    minutes: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for n in range(0, int(rate * seconds), REQUESTS_PER_SESSION):
        client = rng.choices([MAIN_CLIENT, "other-client"], [3, 1])[0]
        minutes[int(n / rate // 60)].append((client, make_session(rng, n / rate, incident, client)))
    return minutes


Counts = dict[tuple[str, Dimension], list[tuple[int, int]]]
"""(SLO, route) → bad and total units up to the end of each minute: element m counts minutes 0 … m - 1."""


def running_counts(minutes: dict[int, list[tuple[str, dict[str, Any]]]], policy: AlertPolicy) -> Counts:
    """Each route's sessions (`session_failures`) and tool calls (`tool_errors`), counted as the default policy does."""
    failures = policy.slo("session_failures")
    assert failures is not None
    per_minute: dict[tuple[str, Dimension], list[list[int]]] = defaultdict(lambda: [[0, 0] for _ in range(max(minutes) + 1)])
    for minute, sessions in minutes.items():
        for client, s in sessions:
            bad = s["terminationReason"] in failures.bad_reasons or (failures.stuck_is_bad and s["stuckToolCallCount"] > 0)
            units = [("session_failures", (s["platform"], s["model"], client), int(bad), 1)]
            units += [("tool_errors", (tool, s["platform"], client), s["toolErrorsByType"].get(tool, 0), calls)
                      for tool, calls in s["toolCallsByType"].items()]
            for slo, dimension, bad_units, total in units:
                counts = per_minute[slo, dimension][minute]
                counts[0], counts[1] = counts[0] + bad_units, counts[1] + total
    running: Counts = {}
    for key, each_minute in per_minute.items():
        running[key] = [(0, 0)]
        for bad_units, total in each_minute:
            running[key].append((running[key][-1][0] + bad_units, running[key][-1][1] + total))
    return running


def session_trips(minutes: dict[int, list[tuple[str, dict[str, Any]]]]) -> dict[int, set[tuple[str, ...]]]:
    """What the default policy's own decision (`find_trips`) trips at each window end, minute by minute: every
    (severity, SLO, route) of `session_failures` and `tool_errors`."""
    policy = default_policy()
    running = running_counts(minutes, policy)
    lengths = {slo.name: {m for w in slo.windows for m in (w.long_minutes, w.short_minutes)} for slo in policy.slos}
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    trips: dict[int, set[tuple[str, ...]]] = {}
    for end in range(1, max(minutes) + 2):
        by_dimension: dict[Dimension, WindowCounts] = defaultdict(lambda: WindowCounts({}, {}, {}, {}, {}))
        for (slo, dimension), sums in running.items():
            for length in lengths[slo]:
                (bad_before, total_before), (bad, total) = sums[max(0, end - length)], sums[end]
                by_dimension[dimension].counts[slo, length] = WindowCount(bad - bad_before, total - total_before)
        found = find_trips(policy, start + timedelta(minutes=end), by_dimension, lambda client, _: client in policy.page_clients)
        trips[end] = {(t.severity, *t.key[1:]) for t in found}
    return trips


def test_healthy_demo_sessions_never_trip_the_default_policy() -> None:
    """Six hours at the default rate: no tier of `session_failures` or `tool_errors` trips on any route, at any tick."""
    minutes = demo_sessions(None, rate=20, seconds=6 * 3600)
    sessions = [s for found in minutes.values() for _, s in found]
    assert len(sessions) == 6 * 3600 and all(minutes[m] for m in range(360))
    assert {key for keys in session_trips(minutes).values() for key in keys} == set()


@pytest.mark.parametrize(("earlier_minutes", "duration_s", "opens_by"), [
    (0, INCIDENT_SECONDS["tool-errors"], 1),
    (60, 1200, 17),
], ids=["on a fresh start, at the first tick after its first minute",
        "after an hour of healthy traffic, within 17 minutes when given 20 (as the README says)"])
def test_failing_tool_calls_open_one_ticket_and_page_nobody(earlier_minutes: int, duration_s: float, opens_by: int) -> None:
    incident = Incident(kind="tool-errors", start_s=earlier_minutes * 60 + 20, duration_s=duration_s)
    trips = session_trips(demo_sessions(incident, rate=20, seconds=(earlier_minutes + 60) * 60))
    ticket = ("ticket", "tool_errors", incident.tool, incident.platform, MAIN_CLIENT)
    assert {key for keys in trips.values() for key in keys} == {ticket}, "one tool on one platform, and no session failed"
    tripping = [end for end, keys in trips.items() if keys]
    ended = int((incident.start_s + incident.duration_s) // 60) + 1  # the first window end after its last bad minute
    assert tripping[0] - earlier_minutes <= opens_by and tripping == list(range(tripping[0], tripping[-1] + 1))
    assert ended < tripping[-1] < ended + 30, "it resolves once its half-hour window forgets the bad calls"
