"""`o11y demo`'s scripted incident, through the real pipeline, ends in a page on the Slack stand-in."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ingest.edge.app import create_app
from o11y.demo import Incident, run_demo
from runtime.settings import Settings
from support.alerting_harness import make_evaluator
from support.events import OTHER_CLIENT_SECRET, SECRET
from support.live_server import LiveServer
from support.loader_harness import count, loader_settings, running_loader
from support.processes import clean_env
from support.waiting import wait_until

pytestmark = pytest.mark.component  # o11y processes, brokers or a browser of its own


def test_a_scripted_error_incident_pages(settings: Settings, clickhouse: Any, redis_client: Any, slack: Any) -> None:
    seconds_left = 60 - datetime.now(timezone.utc).second
    if seconds_left < 12:
        time.sleep(seconds_left + 1)  # keep the burst inside one minute, the window the tick judges
    out = io.StringIO()
    with LiveServer(lambda: create_app(settings)) as ingest:
        secrets = {"kilo-gateway": SECRET, "other-client": OTHER_CLIENT_SECRET}
        progress = asyncio.run(run_demo(ingest.url, secrets, rate=60, duration_s=8, seed=7, out=out,
                                        incident=Incident(kind="errors", start_s=0, duration_s=60)))
    sent_at = datetime.now(timezone.utc)
    assert progress.accepted == progress.sent > 400 and progress.failed == 0
    assert "incident ACTIVE" in out.getvalue() and "accepted" in out.getvalue()

    topic_rows = "SELECT count() FROM o11y.api_metrics WHERE kafka_topic = {t:String}"
    lsettings = loader_settings(settings.kafka_bootstrap_servers or "", settings.kafka_topic, "demo")
    with running_loader(lsettings, clickhouse):
        assert wait_until(lambda: count(clickhouse, topic_rows, t=settings.kafka_topic) == progress.accepted)

    tick = sent_at.replace(second=5, microsecond=0) + timedelta(minutes=1)
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(tick)
    pages = [d for d in decisions if d.decision == "delivered" and d.severity == "page"]
    paged = {(d.slo, d.provider, d.model, d.client_name) for d in pages}
    assert ("error_rate", "openrouter", "anthropic/claude-sonnet-4.5", "kilo-gateway") in paged
    assert ("page", ":rotating_light: PAGE — LLM Error Rate SLO Breach") in slack.headers()
    clients = clickhouse.query("SELECT DISTINCT client_name FROM o11y.api_metrics WHERE kafka_topic = {t:String} ORDER BY 1",
                               parameters={"t": settings.kafka_topic}).result_rows
    assert clients == [("kilo-gateway",), ("other-client",)]


def test_demo_events_are_all_valid_and_varied() -> None:
    import random

    from o11y.demo import make_event
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
