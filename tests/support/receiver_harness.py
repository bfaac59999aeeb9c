"""An evaluator whose policy routes to the Slack app, PagerDuty and Alertmanager-format stand-ins."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from alerting.evaluation.evaluator import Evaluator
from alerting.service.metrics import AlertMetrics
from alerting.service.scheduler import build_evaluator
from alerting.service.senders import build_sender
from runtime.settings import Settings
from schemas.alert_policy import DEFAULT_POLICY, AlertPolicy, policy_from_document
from support.alerting_harness import forget_alert_state
from support.events import PD_ROUTING_KEY, SLACK_BOT_TOKEN, WEBHOOK_BEARER

ENVIRONMENT = {"O11Y_TEST_PD_KEY": PD_ROUTING_KEY, "O11Y_TEST_SLACK_TOKEN": SLACK_BOT_TOKEN,
               "O11Y_TEST_AM_BEARER": WEBHOOK_BEARER}
"""Where the receivers' credentials come from in these tests: the environment a process would be given."""
PAGES_EVERYWHERE = [{"match": {"severity": "page"}, "receivers": ["oncall", "alerts", "am"]},
                    {"receivers": ["alerts", "am"]}]
"""Pages to PagerDuty, the Slack app and the webhook; everything else (tickets, o11y's own) to the last two."""


def receivers(slack_api: Any, pagerduty: Any, am_receiver: Any, channel: str = "C0ALERTS01") -> list[dict[str, Any]]:
    return [
        {"name": "oncall", "kind": "pagerduty", "routing_key": {"env": "O11Y_TEST_PD_KEY"}, "url": pagerduty.enqueue_url},
        {"name": "alerts", "kind": "slack_app", "token": {"env": "O11Y_TEST_SLACK_TOKEN"}, "channel": channel,
         "api_url": slack_api.base_url},
        {"name": "am", "kind": "webhook", "url": am_receiver.url, "bearer_token": {"env": "O11Y_TEST_AM_BEARER"}},
    ]


def routed_policy(slack_api: Any, pagerduty: Any, am_receiver: Any, routes: list[dict[str, Any]] | None = None,
                  **changes: Any) -> AlertPolicy:
    document = {**DEFAULT_POLICY, "receivers": receivers(slack_api, pagerduty, am_receiver),
                "routes": routes or PAGES_EVERYWHERE, **changes}
    return policy_from_document(document)


def routed_evaluator(clickhouse: Any, redis: Any, policy: AlertPolicy, fresh_state: bool = True,
                     environ: dict[str, str] | None = None, **settings: Any) -> Evaluator:
    config = Settings(**{"alert_send_timeout_s": 1, "alert_send_budget_s": 8.0, **settings})
    if fresh_state:
        forget_alert_state(clickhouse)
    sender = build_sender(config, policy, environ=ENVIRONMENT if environ is None else environ)
    return build_evaluator(config, policy, clickhouse, redis, sender, AlertMetrics.create(CollectorRegistry()))
