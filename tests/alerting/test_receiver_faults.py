"""Receivers that fail, hang or throttle, evaluators that race, a Redis flush and a restart: never a second Slack
message or PagerDuty trigger for one incident, and only what may pass is tried again."""

from __future__ import annotations

import logging
import threading
from typing import Any

from aiohttp import web

from schemas.alert_policy import DEFAULT_POLICY, policy_from_document
from support.events import PD_ROUTING_KEY, SLACK_BOT_TOKEN, WEBHOOK_BEARER
from support.live_server import LiveServer
from support.receiver_harness import routed_evaluator, routed_policy
from support.timeline import Timeline

CHANNEL = "C0ALERTS01"


def burst(clickhouse: Any, first: int = 2, last: int = 6) -> Timeline:
    """A page that opens at the burst and resolves a few minutes after it."""
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 20, 1000)
    timeline.traffic(first, last, 1000, 0.3)
    return timeline


def triggers(pagerduty: Any) -> list[str]:
    return [e["dedup_key"] for e in pagerduty.events if e["event_action"] == "trigger"]


def test_two_evaluators_on_one_tick_post_one_message_and_one_trigger(
        clickhouse: Any, redis_client: Any, slack_api: Any, pagerduty: Any, am_receiver: Any) -> None:
    timeline = burst(clickhouse)
    policy = routed_policy(slack_api, pagerduty, am_receiver)
    evaluators = [routed_evaluator(clickhouse, redis_client, policy, fresh_state=i == 0) for i in range(2)]
    barrier = threading.Barrier(2)

    def tick(evaluator: Any) -> None:
        barrier.wait()
        evaluator.evaluate_tick(timeline.at(3))

    threads = [threading.Thread(target=tick, args=(e,)) for e in evaluators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(slack_api.parents(CHANNEL)) == 1 and len(triggers(pagerduty)) == 1
    assert len(am_receiver.messages) == 1


def test_a_redis_flush_and_a_restart_mid_incident_never_post_it_again(
        clickhouse: Any, redis_client: Any, slack_api: Any, pagerduty: Any, am_receiver: Any) -> None:
    timeline = burst(clickhouse)
    policy = routed_policy(slack_api, pagerduty, am_receiver)
    routed_evaluator(clickhouse, redis_client, policy).evaluate_tick(timeline.at(3))
    redis_client.flushall()
    restarted = routed_evaluator(clickhouse, redis_client, policy, fresh_state=False)
    for minute in range(3, 14):
        restarted.evaluate_tick(timeline.at(minute))
    [parent] = slack_api.parents(CHANNEL)
    assert [r["text"].split(" — ")[0] for r in slack_api.replies(CHANNEL, parent["ts"])] == [
        ":white_check_mark: RESOLVED (PAGE)"]
    assert [e["event_action"] for e in pagerduty.events] == ["trigger", "resolve"]
    assert [m["status"] for m in am_receiver.messages] == ["firing", "resolved"]


def test_a_receiver_that_gives_no_answer_is_never_sent_that_step_again(
        clickhouse: Any, redis_client: Any, slack_api: Any, pagerduty: Any, am_receiver: Any) -> None:
    timeline = burst(clickhouse)
    policy = routed_policy(slack_api, pagerduty, am_receiver)
    evaluator = routed_evaluator(clickhouse, redis_client, policy)
    slack_api.hang(1, method="chat.postMessage")
    pagerduty.hang(1)
    opened = evaluator.evaluate_tick(timeline.at(3))
    assert sorted(d.receiver for d in opened if d.decision == "unconfirmed") == ["alerts", "oncall"]
    for minute in range(4, 14):
        evaluator.evaluate_tick(timeline.at(minute))
    [parent] = slack_api.parents(CHANNEL)
    assert len(slack_api.replies(CHANNEL, parent["ts"])) == 1, "the resolve found the message that got no answer"
    assert [e["event_action"] for e in pagerduty.events] == ["trigger", "resolve"]


def test_what_may_pass_is_tried_again_next_tick_and_what_needs_a_person_is_not(
        clickhouse: Any, redis_client: Any, slack_api: Any, pagerduty: Any, am_receiver: Any,
        caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    timeline = burst(clickhouse, 2, 12)
    policy = routed_policy(slack_api, pagerduty, am_receiver)
    evaluator = routed_evaluator(clickhouse, redis_client, policy)
    pagerduty.status(1, 429)
    slack_api.ratelimit(1, retry_after="30")
    am_receiver.status(1, 401)
    first = evaluator.evaluate_tick(timeline.at(3))
    assert sorted((d.receiver, d.decision) for d in first if d.receiver) == [
        ("alerts", "failed"), ("am", "rejected"), ("oncall", "failed")]
    second = evaluator.evaluate_tick(timeline.at(4))
    assert sorted((d.receiver, d.decision) for d in second if d.receiver) == [("alerts", "delivered"), ("oncall", "delivered")]
    third = evaluator.evaluate_tick(timeline.at(5))
    assert [d for d in third if d.receiver] == [], "nothing lacks the opening but the webhook that refused it"
    assert len(slack_api.parents(CHANNEL)) == 1 and len(triggers(pagerduty)) == 1 and am_receiver.messages == []
    log = caplog.text
    assert "HTTP 401" in log and "HTTP 429" in log
    assert all(secret not in log for secret in (PD_ROUTING_KEY, SLACK_BOT_TOKEN, WEBHOOK_BEARER))


def test_a_refused_event_and_an_unknown_channel_are_final(
        clickhouse: Any, redis_client: Any, slack_api: Any, pagerduty: Any, am_receiver: Any) -> None:
    timeline = burst(clickhouse, 2, 12)
    policy = routed_policy(slack_api, pagerduty, am_receiver)
    evaluator = routed_evaluator(clickhouse, redis_client, policy)
    pagerduty.status(1, 400)
    slack_api.error(1, "channel_not_found")
    first = evaluator.evaluate_tick(timeline.at(3))
    answers = {d.receiver: (d.decision, d.detail) for d in first if d.receiver}
    assert answers["oncall"][0] == "rejected" and answers["alerts"] == ("rejected", "opened: channel_not_found")
    assert answers["am"][0] == "delivered"
    assert [d for d in evaluator.evaluate_tick(timeline.at(4)) if d.receiver] == []
    assert pagerduty.events == [] and slack_api.parents(CHANNEL) == []


def test_a_receiver_never_moves_a_credential_elsewhere_or_into_the_log(
        clickhouse: Any, redis_client: Any, slack_api: Any, pagerduty: Any, am_receiver: Any, caplog: Any) -> None:
    """A redirect is not followed (it would carry the bearer token to another host), and an answer that echoes the
    token back is stored and logged without it."""
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(am_receiver.url)

    async def echo(request: web.Request) -> web.Response:
        return web.Response(status=400, text=f"bad request from {request.headers.get('Authorization')}")

    def app() -> web.Application:
        application = web.Application()
        application.router.add_post("/moved", redirect)
        application.router.add_post("/echo", echo)
        return application

    caplog.set_level(logging.INFO)
    timeline = burst(clickhouse)
    with LiveServer(app) as server:
        hooks = [{"name": name, "kind": "webhook", "url": f"{server.url}/{name}", "bearer_token": {"env": "O11Y_TEST_AM_BEARER"}}
                 for name in ("moved", "echo")]
        policy = policy_from_document({**DEFAULT_POLICY, "receivers": hooks, "routes": [{"receivers": ["moved", "echo"]}]})
        decisions = routed_evaluator(clickhouse, redis_client, policy).evaluate_tick(timeline.at(3))
    answers = {d.receiver: (d.decision, d.detail) for d in decisions if d.receiver}
    assert answers["moved"][0] == "rejected" and answers["moved"][1].startswith("opened: HTTP 307")
    assert answers["echo"] == ("rejected", "opened: HTTP 400: bad request from [redacted]")
    assert am_receiver.messages == [] and am_receiver.refusals == []
    stored = clickhouse.query("SELECT answer FROM o11y.deliveries ORDER BY receiver").result_rows
    assert WEBHOOK_BEARER not in str(stored) and WEBHOOK_BEARER not in caplog.text
