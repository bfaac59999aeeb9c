"""An evaluator wired to the real chDB, a real redis-server and the local Slack stand-in."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from alerting.evaluation.evaluator import Evaluator
from alerting.incidents.alert_log import Decision
from alerting.incidents.incidents import Incident, Notice
from alerting.receivers.channels import Parcel
from alerting.service.metrics import AlertMetrics
from alerting.service.scheduler import build_evaluator
from alerting.service.senders import build_sender
from runtime.settings import Settings
from schemas.alert_policy import AlertPolicy, default_policy

STATE_TABLES = ("o11y.incidents", "o11y.alert_ticks", "o11y.slo_override_changes", "o11y.silences", "o11y.deliveries")


def forget_alert_state(clickhouse: Any) -> None:
    """Each test's timeline starts with no incidents and no judged minutes (the chDB is shared by the session)."""
    for table in STATE_TABLES:
        clickhouse.command(f"TRUNCATE TABLE {table}")


def make_evaluator(clickhouse: Any, redis: Any, slack: Any, policy: AlertPolicy | None = None,
                   registry: CollectorRegistry | None = None, fresh_state: bool = True, **settings: Any) -> Evaluator:
    config = Settings(slack_page_webhook_url=SecretStr(slack.url("page")),
                      slack_ticket_webhook_url=SecretStr(slack.url("ticket")), **settings)
    if fresh_state:
        forget_alert_state(clickhouse)
    metrics = AlertMetrics.create(registry or CollectorRegistry())
    return build_evaluator(
        config, policy or default_policy(), clickhouse, redis, build_sender(config, policy or default_policy()), metrics
    )


def outcomes(decisions: list[Decision]) -> list[tuple[str, str, str, str]]:
    return [(d.decision, d.severity, d.slo, d.tier) for d in decisions]


def comparable(decisions: list[Decision]) -> list[tuple[Any, ...]]:
    """Decisions with incident ids numbered by first appearance (each run names incidents its own way)."""
    numbers: dict[str, str] = {}
    for d in decisions:
        if d.incident_id:
            numbers.setdefault(d.incident_id, f"#{len(numbers) + 1}")
    result = []
    for d in decisions:
        detail = d.detail
        for incident_id, number in numbers.items():
            detail = detail.replace(incident_id, number)
        result.append(tuple(vars(replace(d, incident_id=numbers.get(d.incident_id, ""), detail=detail)).values()))
    return result


def webhook_parcel(body: dict[str, Any]) -> Parcel:
    """A Slack webhook message about one opened page, as a tick hands it to its receiver."""
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    incident = Incident("incident-1", ("page", "error_rate", "openai", "gpt-4", "kilo-gateway"), "open", "5m/1m", at, at, at)
    return Parcel("slack-page", (Notice("opened", incident, None),), "open:0", body=body)
