"""`o11y demo`'s traffic is LLM-like and healthy, and each scripted incident, through the real pipeline, ends in a page."""

from __future__ import annotations

import asyncio
import io
import json
import random
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ingest.edge.app import create_app
from o11y.demo import INCIDENT_SECONDS, MAIN_CLIENT, REASONING_ROUTE, ROUTES, Incident, make_event, run_demo
from runtime.settings import Settings
from schemas.alert_policy import DEFAULT_POLICY, AlertPolicy, policy_from_document
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


@pytest.mark.parametrize(("kind", "rate", "slo", "policy", "header"), [
    # first, and at twice the rate: its slowed answers must outnumber any healthy ones of the route in their minutes
    ("slow-tokens", 120, "generation_speed", one_minute_is_enough("generation_speed"),
     "LLM Generation speed (median) SLO Breach"),
    ("errors", 60, "error_rate", None, "LLM Error Rate SLO Breach"),
], ids=["slow tokens page generation_speed", "errors page error_rate"])
def test_a_scripted_incident_pages(settings: Settings, clickhouse: Any, redis_client: Any, slack: Any, kind: str, rate: int,
                                   slo: str, policy: AlertPolicy | None, header: str) -> None:
    """The burst lands in whichever minutes the clock says: each of them is judged, by its own tick (no waiting for
    the start of a minute)."""
    out = io.StringIO()
    started = datetime.now(timezone.utc)
    with LiveServer(lambda: create_app(settings)) as ingest:
        secrets = {"kilo-gateway": SECRET, "other-client": OTHER_CLIENT_SECRET}
        progress = asyncio.run(run_demo(ingest.url, secrets, rate=rate, duration_s=8, seed=7, out=out,
                                        incident=Incident(kind=kind, start_s=0, duration_s=60)))
    sent_at = datetime.now(timezone.utc)
    assert progress.accepted == progress.sent > 400 and progress.failed == 0
    assert "incident ACTIVE" in out.getvalue() and "accepted" in out.getvalue()

    topic_rows = "SELECT count() FROM o11y.api_metrics WHERE kafka_topic = {t:String}"
    lsettings = loader_settings(settings.kafka_bootstrap_servers or "", settings.kafka_topic, "demo")
    with running_loader(lsettings, clickhouse):
        assert wait_until(lambda: count(clickhouse, topic_rows, t=settings.kafka_topic) == progress.accepted)

    evaluator = make_evaluator(clickhouse, redis_client, slack, policy)
    first, last = (at.replace(second=5, microsecond=0) + timedelta(minutes=1) for at in (started, sent_at))
    ticks = [first + timedelta(minutes=i) for i in range(int((last - first) / timedelta(minutes=1)) + 1)]
    decisions = [d for tick in ticks for d in evaluator.evaluate_tick(tick)]
    pages = [d for d in decisions if d.decision == "delivered" and d.severity == "page"]
    paged = {(d.slo, d.provider, d.model, d.client_name) for d in pages if d.slo == slo}  # the table holds other tests' rows
    assert paged == {(slo, "openrouter", "anthropic/claude-sonnet-4.5", "kilo-gateway")}
    assert ("page", f":rotating_light: PAGE — {header}") in slack.headers()
    clients = clickhouse.query("SELECT DISTINCT client_name FROM o11y.api_metrics WHERE kafka_topic = {t:String} ORDER BY 1",
                               parameters={"t": settings.kafka_topic}).result_rows
    assert clients == [("kilo-gateway",), ("other-client",)]


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
        sent = subprocess.run([sys.executable, "-m", "o11y.cli", "demo", "--rate", "20", "--duration", "2", "--incident",
                               "none"], env=env, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    last = sent.stdout.splitlines()[-1]
    assert " failed 0" in last and " accepted 0 " not in last and " refused 0" in last, last


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
