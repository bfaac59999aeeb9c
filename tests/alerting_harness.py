"""An evaluator wired to the real chDB, a real redis-server and the local Slack stand-in."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from alerting.alert_metrics import AlertMetrics
from alerting.alert_service import build_evaluator, build_notifier
from alerting.evaluator import Decision, Evaluator
from o11y.settings import Settings
from schemas.slo_spec import AlertPolicy, default_policy


def make_evaluator(clickhouse: Any, redis: Any, slack: Any, policy: AlertPolicy | None = None,
                   registry: CollectorRegistry | None = None, **settings: Any) -> Evaluator:
    config = Settings(slack_page_webhook_url=SecretStr(slack.url("page")),
                      slack_ticket_webhook_url=SecretStr(slack.url("ticket")), **settings)
    metrics = AlertMetrics.create(registry or CollectorRegistry())
    return build_evaluator(config, policy or default_policy(), clickhouse, redis, build_notifier(config), metrics)


def outcomes(decisions: list[Decision]) -> list[tuple[str, str, str, str]]:
    return [(d.decision, d.severity, d.slo, d.tier) for d in decisions]
