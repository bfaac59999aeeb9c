"""Routes: the most specific match wins, an override may name a route's receivers, a default catches the rest; the
policy refuses what would lose a notification or hold a credential, and `o11y slo check` says it in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alerting.policy.routing_words import routing_words
from alerting.policy.slo_config import SloConfigError, policy_of
from alerting.service.senders import build_sender
from runtime.settings import Settings
from schemas.alert_policy import DEFAULT_POLICY, AlertPolicy, default_policy
from support.events import PD_ROUTING_KEY
from support.receiver_harness import routed_evaluator, routed_policy
from support.timeline import Timeline

TEAM_ROUTES = [
    {"match": {"provider": "anthropic"}, "receivers": ["alerts"]},
    {"match": {"provider": "anthropic", "model": "claude-*", "severity": "page"}, "receivers": ["oncall", "alerts"]},
    {"match": {"severity": "page"}, "receivers": ["oncall", "alerts", "am"]},
    {"receivers": ["am"], "comment": "everything else"},
]


def policy_with(**changes: Any) -> dict[str, Any]:
    receivers = [{"name": "oncall", "kind": "pagerduty", "routing_key": {"env": "PD_KEY"}},
                 {"name": "alerts", "kind": "slack_app", "token": {"file": "/run/secrets/slack"}, "channel": "C0ALERTS01"},
                 {"name": "am", "kind": "webhook", "url": "https://hooks.example/o11y"}]
    return {**DEFAULT_POLICY, "receivers": receivers, "routes": TEAM_ROUTES, **changes}


def test_the_most_specific_route_wins_and_the_default_takes_the_rest() -> None:
    policy = policy_of(policy_with(), "policy.yaml")
    assert policy.receivers_for(("page", "error_rate", "anthropic", "claude-4", "kilo-gateway")) == ("oncall", "alerts")
    assert policy.receivers_for(("ticket", "error_rate", "anthropic", "claude-4", "kilo-gateway")) == ("alerts",)
    assert policy.receivers_for(("page", "error_rate", "anthropic", "other", "kilo-gateway")) == ("alerts",)
    assert policy.receivers_for(("page", "error_rate", "openai", "gpt-4", "kilo-gateway")) == ("oncall", "alerts", "am")
    assert policy.receivers_for(("ticket", "error_rate", "openai", "gpt-4", "kilo-gateway")) == ("am",)
    assert policy.receivers_for(("page", "data_stale", "", "", "")) == ("oncall", "alerts", "am")


def test_an_override_names_the_receivers_of_the_models_a_team_owns() -> None:
    override = {"match": {"model": "team-a/*"}, "receivers": ["alerts"], "comment": "team A owns its models"}
    policy = policy_of(policy_with(overrides=[override]), "policy.yaml")
    assert policy.receivers_for(("page", "error_rate", "openai", "team-a/fast", "kilo-gateway")) == ("alerts",)
    assert policy.receivers_for(("page", "error_rate", "openai", "gpt-4", "kilo-gateway")) == ("oncall", "alerts", "am")


def test_without_receivers_the_two_webhooks_take_pages_and_tickets_apart() -> None:
    policy = default_policy()
    assert policy.receivers_for(("page", "error_rate", "openai", "gpt-4", "c")) == ("slack-page",)
    assert policy.receivers_for(("ticket", "tool_errors", "read_file", "cli", "c")) == ("slack-ticket",)
    assert "(none declared: the two Slack webhooks, pages and tickets apart)" in "\n".join(routing_words(policy))


@pytest.mark.parametrize(("change", "reason"), [
    ({"routes": TEAM_ROUTES[:-1]}, "the routes need a default route (match: {})"),
    ({"routes": [{"match": {"client": "x"}, "receivers": ["pager"]}, *TEAM_ROUTES]}, "names unknown receiver(s) pager"),
    ({"routes": [*TEAM_ROUTES, {"receivers": ["am"]}]}, "more than one route matches exactly *"),
    ({"receivers": [{"name": "a", "kind": "slack_app", "token": {"env": "T"}, "channel": "#alerts"}]},
     "give the channel's id"),
    ({"overrides": [{"match": {"model": "m"}, "receivers": ["nobody"]}]}, "override model=m names unknown receiver(s) nobody"),
    ({"receivers": [{"name": "oncall", "kind": "pagerduty", "routing_key": PD_ROUTING_KEY}]},
     "credentials are never written in the policy"),
    ({"receivers": [{"name": "x", "kind": "pagerduty", "routing_key": {"env": "A", "file": "/b"}}]},
     "name exactly one of env"),
    ({"receivers": [{"name": "Bad Name", "kind": "webhook", "url": "https://a.example"}]}, "a receiver's name is"),
    ({"receivers": [{"name": "x", "kind": "opsgenie"}]}, "receivers.0"),
])
def test_a_policy_that_would_lose_a_notification_or_hold_a_credential_is_refused(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(SloConfigError) as refused:
        policy_of(policy_with(**change), "policy.yaml")
    assert reason in str(refused.value)
    assert PD_ROUTING_KEY not in str(refused.value)


def test_slo_check_says_where_each_notification_goes() -> None:
    words = "\n".join(routing_words(policy_of(policy_with(), "policy.yaml")))
    assert "  oncall: PagerDuty Events API v2, https://events.pagerduty.com/v2/enqueue; credential from environment " \
           "variable PD_KEY" in words
    assert "  alerts: Slack app, one message per incident with a thread, channel C0ALERTS01; credential from file " \
           "/run/secrets/slack" in words
    assert "  pages of provider anthropic, model claude-*: to oncall, alerts" in words
    assert "  every notification (the default route): to am — everything else" in words


def test_a_missing_credential_stops_the_start_naming_where_it_should_be(tmp_path: Path) -> None:
    policy = policy_of(policy_with(), "policy.yaml")
    with pytest.raises(ValueError, match="PD_KEY and /run/secrets/slack must be set"):
        build_sender(Settings(), policy, environ={})
    secret = tmp_path / "slack-token"
    secret.write_text("xoxb-from-a-file\n")
    document = policy_with()
    document["receivers"][1]["token"] = {"file": str(secret)}
    sender = build_sender(Settings(), policy_of(document, "policy.yaml"), environ={"PD_KEY": PD_ROUTING_KEY})
    assert sender.kind("alerts") == "slack_app" and sender.kind("oncall") == "pagerduty"


def test_a_provider_routed_to_its_own_receivers_reaches_only_them(
        clickhouse: Any, redis_client: Any, slack_api: Any, pagerduty: Any, am_receiver: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 8, 1000, provider="anthropic", model="claude-4")
    timeline.traffic(2, 5, 1000, 0.3, provider="anthropic", model="claude-4")
    routes: list[dict[str, Any]] = [{"match": {"provider": "anthropic"}, "receivers": ["alerts"]},
                                    {"receivers": ["oncall", "am"]}]
    policy: AlertPolicy = routed_policy(slack_api, pagerduty, am_receiver, routes=routes)
    decisions = routed_evaluator(clickhouse, redis_client, policy).evaluate_tick(timeline.at(3))
    assert [(d.receiver, d.decision) for d in decisions if d.receiver] == [("alerts", "delivered")]
    assert len(slack_api.parents("C0ALERTS01")) == 1 and pagerduty.events == [] and am_receiver.messages == []
