"""`o11y dev` without Slack webhooks: a page on the console reads as the message a person would see, not as Block Kit."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from alerting.service.metrics import AlertMetrics
from alerting.service.scheduler import build_evaluator
from alerting.service.senders import build_sender
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.alerting_harness import forget_alert_state
from support.timeline import Timeline


def test_a_page_on_the_console_is_words_and_its_json_is_for_debug_only(
        clickhouse: Any, redis_client: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="alerting.receivers.slack_webhook")
    forget_alert_state(clickhouse)
    model = f"console-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 12, 100, model=model)
    timeline.traffic(10, 12, 100, 0.3, model=model)
    settings = Settings()  # no webhook: the console stands in, as `o11y dev` wires it
    sender = build_sender(settings, default_policy(), console_allowed=True)
    evaluator = build_evaluator(settings, default_policy(), clickhouse, redis_client, sender,
                                AlertMetrics.create(CollectorRegistry()))
    decisions = evaluator.evaluate_tick(timeline.at(11))
    assert ("delivered", "page") in [(d.decision, d.severity) for d in decisions]

    printed = capsys.readouterr().out
    assert f"[PAGE] :rotating_light: PAGE — LLM Error Rate SLO Breach: openai {model} (kilo-gateway)\n" in printed
    assert f"\n  Provider: openai · Model: {model} · Burn rate: 50.0x (threshold: 14.4x) · Window: 5 min\n" in printed
    assert "\n  5 % of requests failed over the last 5 min (30 of 600); the SLO allows 0.1 %.\n" in printed
    assert '"blocks"' not in printed and "{" not in printed, printed
    assert len(printed.splitlines()) <= 12, printed
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG and '"blocks"' in r.getMessage()]
    assert len(debug) == 1
