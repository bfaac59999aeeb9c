"""One incident's whole life on every receiver: one Slack message with its thread, PagerDuty's trigger and resolve on
one dedup_key, Alertmanager-format firing and resolved with one fingerprint; and where routes send what."""

from __future__ import annotations

import io
from typing import Any

from prometheus_client import CollectorRegistry

from alerting.incidents.silences import SilenceRequest
from alerting.policy.store import PolicyStore
from alerting.service.metrics import AlertMetrics
from alerting.service.scheduler import build_evaluator
from alerting.service.senders import dry_run_sender
from runtime.settings import Settings
from schemas.alert_policy import DEFAULT_POLICY, policy_from_document
from support.alerting_harness import forget_alert_state
from support.receiver_harness import ENVIRONMENT, routed_evaluator, routed_policy
from support.timeline import Timeline

CHANNEL = "C0ALERTS01"


def ticket_then_page_twice(clickhouse: Any) -> Timeline:
    """A slow leak opens a ticket; a burst pages (the ticket escalates); the page resolves, re-fires, resolves."""
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 10, 1000, 0.004)
    timeline.traffic(10, 14, 1000, 0.2)
    timeline.traffic(14, 20, 1000)
    timeline.traffic(20, 23, 1000, 0.2)
    timeline.traffic(23, 40, 1000)
    return timeline


def run(evaluator: Any, timeline: Timeline, first: int, last: int) -> list[Any]:
    return [d for m in range(first, last) for d in evaluator.evaluate_tick(timeline.at(m))]


def test_one_incident_is_one_slack_message_one_pagerduty_key_and_one_fingerprint(
        clickhouse: Any, redis_client: Any, slack_api: Any, pagerduty: Any, am_receiver: Any) -> None:
    timeline = ticket_then_page_twice(clickhouse)
    policy = routed_policy(slack_api, pagerduty, am_receiver)
    decisions = run(routed_evaluator(clickhouse, redis_client, policy), timeline, 1, 36)
    ticket = next(d.incident_id for d in decisions if d.decision == "fired" and d.severity == "ticket")
    page = next(d.incident_id for d in decisions if d.decision == "fired" and d.severity == "page")

    parents = slack_api.parents(CHANNEL)
    assert len(parents) == 2, slack_api.dump()
    by_incident = {p["metadata"]["event_payload"]["incident_id"]: p for p in parents}
    assert set(by_incident) == {ticket, page}
    ticket_ts, page_ts = by_incident[ticket]["ts"], by_incident[page]["ts"]
    assert [r["text"][:40] for r in slack_api.replies(CHANNEL, ticket_ts)] != []
    assert len(slack_api.replies(CHANNEL, ticket_ts)) == 1, "one reply: the escalation"
    assert len(slack_api.replies(CHANNEL, page_ts)) == 3, "resolve, re-open, resolve"
    updates = [ts for _, ts, _ in slack_api.updates]
    assert (updates.count(ticket_ts), updates.count(page_ts)) == (1, 3), "one update per state change"
    [escalated] = [body["text"] for _, ts, body in slack_api.updates if ts == ticket_ts]
    assert "Escalated to a page" in escalated and page in escalated
    assert "Resolved" in slack_api.parents(CHANNEL)[1]["text"] or "Resolved" in str(slack_api.parents(CHANNEL)[1]["blocks"])
    assert slack_api.strays == []

    events = [(e["event_action"], e["dedup_key"]) for e in pagerduty.events]
    assert events == [("trigger", page), ("resolve", page), ("trigger", page), ("resolve", page)]
    assert [a.status for a in pagerduty.alerts] == ["resolved", "resolved"], "a trigger after a resolve opens a new alert"

    fingerprints = am_receiver.by_fingerprint
    assert len(fingerprints) == 2
    statuses = {fp: [m["status"] for m in messages] for fp, messages in fingerprints.items()}
    assert sorted(statuses.values()) == [["firing", "resolved"], ["firing", "resolved", "firing", "resolved"]]
    assert am_receiver.refusals == []
    delivered = [d for d in decisions if d.decision == "delivered"]
    assert {d.receiver for d in delivered} == {"oncall", "alerts", "am"}
    assert all(d.receiver != "oncall" for d in delivered if d.severity == "ticket"), "tickets are not routed to PagerDuty"


def test_a_silence_that_begins_mid_incident_changes_the_message_and_posts_nothing(
        clickhouse: Any, redis_client: Any, slack_api: Any, pagerduty: Any, am_receiver: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 20, 1000, 0.3)
    evaluator = routed_evaluator(clickhouse, redis_client, routed_policy(slack_api, pagerduty, am_receiver))
    evaluator.evaluate_tick(timeline.at(3))
    request = SilenceRequest(provider="openai", starts_at=timeline.at(4), ends_at=timeline.at(9),
                             comment="provider maintenance")
    PolicyStore(clickhouse).save_silence(request.silence("alice", timeline.at(4)), timeline.at(4))
    for minute in range(4, 12):
        evaluator.evaluate_tick(timeline.at(minute))
    [parent] = slack_api.parents(CHANNEL)
    shown = [body["text"] for _, ts, body in slack_api.updates if ts == parent["ts"]]
    assert len(shown) == 2, "one update when the silence begins, one when it ends"
    assert "Silenced until" in shown[0] and "alice" in shown[0] and "Silenced" not in shown[1]
    assert slack_api.replies(CHANNEL, parent["ts"]) == [] and len(pagerduty.events) == 1


def test_a_dry_run_says_which_receivers_each_notice_would_reach(
        clickhouse: Any, redis_client: Any, slack_api: Any, pagerduty: Any, am_receiver: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 6, 1000, 0.3)
    policy = routed_policy(slack_api, pagerduty, am_receiver)
    forget_alert_state(clickhouse)
    printed = io.StringIO()
    evaluator = build_evaluator(Settings(), policy, clickhouse, None, dry_run_sender(policy, printed),
                                AlertMetrics.create(CollectorRegistry()), write=False)
    decisions = evaluator.evaluate_tick(timeline.at(3))
    lines = [line for line in printed.getvalue().splitlines() if line.startswith("would send")]
    assert [line.split(", open:0")[0] for line in lines] == [
        "would send page to oncall (pagerduty)", "would send page to alerts (slack_app)", "would send page to am (webhook)"]
    assert {d.receiver for d in decisions if d.decision == "dry_run"} == {"oncall", "alerts", "am"}
    assert slack_api.calls == [] and pagerduty.events == [] and am_receiver.messages == []


def test_six_hours_of_incidents_are_one_slack_message_each_where_webhooks_post_every_change(
        clickhouse: Any, redis_client: Any, slack: Any, slack_api: Any, capsys: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 360, 500)
    for first in (60, 75, 90):  # a page that flaps: opened, re-opened twice, resolved three times
        timeline.traffic(first, first + 3, 500, 0.3)
    timeline.traffic(120, 360, 500, 0.004, provider="anthropic", model="claude-4")  # a slow leak: a ticket
    timeline.traffic(150, 200, 500, 0.004, model="gpt-4o")  # a leak that turns into a burst: ticket, then page
    timeline.traffic(200, 204, 500, 0.3, model="gpt-4o")
    timeline.traffic(204, 360, 500, model="gpt-4o")
    receivers = [{"name": f"slack-{s}", "kind": "slack_webhook", "url": {"env": f"HOOK_{s.upper()}"}} for s in ("page", "ticket")]
    receivers.append({"name": "alerts", "kind": "slack_app", "token": {"env": "O11Y_TEST_SLACK_TOKEN"},
                      "channel": "C0ALERTS01", "api_url": slack_api.base_url})
    routes = [{"match": {"severity": s}, "receivers": [f"slack-{s}", "alerts"]} for s in ("page", "ticket")]
    routes.append({"receivers": ["slack-page", "alerts"]})
    policy = policy_from_document({**DEFAULT_POLICY, "receivers": receivers, "routes": routes})
    environ = {**ENVIRONMENT, "HOOK_PAGE": slack.url("page"), "HOOK_TICKET": slack.url("ticket")}
    decisions = run(routed_evaluator(clickhouse, redis_client, policy, environ=environ), timeline, 1, 361)

    webhook: dict[str, int] = {}
    for d in decisions:
        if d.decision == "delivered" and d.receiver.startswith("slack-"):
            webhook[d.incident_id] = webhook.get(d.incident_id, 0) + 1
    parents = {p["metadata"]["event_payload"]["incident_id"]: p for p in slack_api.parents(CHANNEL)}
    assert set(parents) == set(webhook) | {d.incident_id for d in decisions if d.decision == "escalated"}
    assert len(slack.posts) == sum(webhook.values())
    replies = {incident: len(slack_api.replies(CHANNEL, p["ts"])) for incident, p in parents.items()}
    assert max(webhook.values()) == 6 and sum(webhook.values()) > len(parents)
    with capsys.disabled():
        print(f"\nsix hours, {len(parents)} incidents: webhook messages {sorted(webhook.values())} "
              f"(total {sum(webhook.values())}); Slack app: one message each, thread replies {sorted(replies.values())}")
