"""Alerting when parts fail: Slack errors, the models URL down, Redis down, two evaluators on one tick."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry
from redis import Redis

from alerting.delivery.heartbeat import Heartbeat
from alerting.service.metrics import AlertMetrics
from alerting.service.scheduler import LeasedTicks, build_scheduler
from o11y.embedded import EmbeddedRedis
from schemas.alert_policy import DEFAULT_POLICY, policy_from_document
from support.alerting_harness import make_evaluator, outcomes
from support.live_server import LiveServer
from support.timeline import Timeline
from support.waiting import wait_until


def failing_burst(clickhouse: Any) -> Timeline:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5)
    return timeline


def test_slack_500_then_200_delivers_exactly_one_message(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    slack.failures = [500]
    timeline = failing_burst(clickhouse)
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    assert ("delivered", "page", "error_rate", "5m/1m") in outcomes(decisions)
    assert slack.attempts == 2 and len(slack.posts) == 1


def test_slack_429_with_retry_after_is_retried(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    slack.failures = [429]
    timeline = failing_burst(clickhouse)
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    assert ("delivered", "page", "error_rate", "5m/1m") in outcomes(decisions)
    assert len(slack.posts) == 1


def test_a_failed_delivery_writes_no_marker_and_is_retried_next_tick(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    slack.failures = [500] * 20
    timeline = failing_burst(clickhouse)
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    first = evaluator.evaluate_tick(timeline.at(2))
    assert ("failed", "page", "error_rate", "5m/1m") in outcomes(first)
    assert not redis_client.exists("o11y:alert:page:error_rate:openai:gpt-4:kilo-gateway")
    slack.failures = []
    second = evaluator.evaluate_tick(timeline.at(3))
    assert [(d.severity, d.slo) for d in second if d.decision == "delivered"] == [("page", "error_rate")]
    assert redis_client.ttl("o11y:alert:page:error_rate:openai:gpt-4:kilo-gateway") > 800
    assert len(slack.posts) == 1


def test_two_evaluators_on_one_tick_post_once(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = failing_burst(clickhouse)
    evaluators = [make_evaluator(clickhouse, redis_client, slack) for _ in range(2)]
    results: list[Any] = [None, None]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = evaluators[i].evaluate_tick(timeline.at(2))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    delivered = [d for r in results for d in r if d.decision == "delivered"]
    assert len(delivered) == 1 and len(slack.posts) == 1


def test_the_lease_lets_one_replica_evaluate_each_tick(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = failing_burst(clickhouse)
    registry = CollectorRegistry()
    metrics = AlertMetrics.create(registry)
    replicas = [
        LeasedTicks(make_evaluator(clickhouse, redis_client, slack), redis_client, metrics, owner=f"r{i}") for i in range(2)
    ]
    assert replicas[0].run(timeline.at(2)) is not None
    assert replicas[1].run(timeline.at(2)) is None
    assert registry.get_sample_value("o11y_alert_ticks_skipped_total", {"reason": "another_replica"}) == 1
    assert replicas[1].run(timeline.at(3)) is not None


@pytest.fixture
def models_server() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"status": 200, "body": ["gpt-4"], "hits": 0}

    def app() -> web.Application:
        async def models(_: web.Request) -> web.Response:
            state["hits"] += 1
            return web.json_response(state["body"], status=state["status"])

        application = web.Application()
        application.router.add_get("/api/recommended-models", models)
        return application

    with LiveServer(app) as server:
        state["url"] = f"{server.url}/api/recommended-models"
        yield state


def test_models_off_the_recommended_list_get_tickets(
    clickhouse: Any, redis_client: Any, slack: Any, models_server: dict[str, Any]
) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, model="gpt-4")
    timeline.traffic(0, 2, 100, 0.5, model="experimental-model")
    evaluator = make_evaluator(clickhouse, redis_client, slack, recommended_models_url=models_server["url"])
    decisions = evaluator.evaluate_tick(timeline.at(2))
    assert sorted((d.severity, d.model) for d in decisions if d.decision == "delivered") == [
        ("page", "gpt-4"),
        ("ticket", "experimental-model"),
    ]
    assert json.loads(redis_client.get("o11y:recommended-models")) == ["gpt-4"]
    assert 3500 < redis_client.ttl("o11y:recommended-models") <= 3600


def test_the_models_url_down_falls_back_to_the_last_good_list(
    clickhouse: Any, redis_client: Any, slack: Any, models_server: dict[str, Any]
) -> None:
    timeline = Timeline(clickhouse)
    evaluator = make_evaluator(clickhouse, redis_client, slack, recommended_models_url=models_server["url"])
    evaluator.evaluate_tick(timeline.at(0))  # fetches and caches ["gpt-4"]
    redis_client.delete("o11y:recommended-models")  # the hour is over
    models_server["status"], models_server["body"] = 503, {"error": "down"}
    timeline.traffic(0, 2, 100, 0.5, model="experimental-model")
    decisions = evaluator.evaluate_tick(timeline.at(2))
    assert models_server["hits"] == 2
    assert [(d.severity, d.model) for d in decisions if d.decision == "delivered"] == [("ticket", "experimental-model")]


def test_with_no_list_ever_known_every_model_pages(
    clickhouse: Any, redis_client: Any, slack: Any, models_server: dict[str, Any]
) -> None:
    models_server["status"] = 500
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, model="experimental-model")
    decisions = make_evaluator(clickhouse, redis_client, slack, recommended_models_url=models_server["url"]).evaluate_tick(
        timeline.at(2)
    )
    assert [(d.severity, d.model) for d in decisions if d.decision == "delivered"] == [("page", "experimental-model")]


def test_redis_down_pages_still_go_out_once_and_are_counted(clickhouse: Any, slack: Any) -> None:
    server = EmbeddedRedis().start()
    redis = Redis.from_url(server.url, socket_timeout=1, socket_connect_timeout=1)
    registry = CollectorRegistry()
    timeline = failing_burst(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, client="batch-jobs")  # its tickets need no Redis either: incidents live in ClickHouse
    evaluator = make_evaluator(clickhouse, redis, slack, registry=registry)
    server.stop()
    first = evaluator.evaluate_tick(timeline.at(2))
    second = evaluator.evaluate_tick(timeline.at(3))
    assert ("delivered", "page", "error_rate", "5m/1m") in outcomes(first)
    assert ("degraded", "", "", "") in outcomes(first)
    assert sorted(s for s, _ in slack.posts) == ["page", "ticket"], (
        "a page (and the other client's ticket), not again every minute"
    )
    assert "delivered" not in [d.decision for d in second]
    assert (registry.get_sample_value("o11y_alert_redis_degraded_total") or 0) >= 1


def test_every_decision_lands_in_the_alert_log(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = failing_burst(clickhouse)
    make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    rows = clickhouse.query(
        "SELECT decision, severity, slo, tier, bad_long, total_long, burn_long FROM o11y.alert_events "
        "WHERE tick = {t:DateTime} ORDER BY event_time, decision",
        parameters={"t": timeline.at(2).replace(second=0, tzinfo=None)},
    ).result_rows
    assert ("delivered", "page", "error_rate", "5m/1m", 100, 200, 500.0) in rows
    assert ("suppressed", "ticket", "error_rate", "360m/30m", 100, 200, 500.0) in rows


def test_every_decision_names_its_incident(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = failing_burst(clickhouse)
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    ids = {d.incident_id for d in decisions if d.slo == "error_rate" and d.severity == "page"}
    assert len(ids) == 1 and "" not in ids
    [row] = clickhouse.query(
        "SELECT status, started_at, notified, bad_events FROM o11y.incidents WHERE incident_id = {i:String} "
        "ORDER BY revision DESC LIMIT 1",
        parameters={"i": ids.pop()},
    ).result_rows
    assert row[0] == "open" and row[1] == timeline.at(0).replace(second=0, tzinfo=None) and row[2] is True and row[3] == 100


def test_redis_stopped_in_the_middle_of_a_tick_loses_nothing_and_pages_once(clickhouse: Any, slack: Any) -> None:
    server = EmbeddedRedis().start()
    redis = Redis.from_url(server.url, socket_timeout=1, socket_connect_timeout=1)
    registry = CollectorRegistry()
    timeline = failing_burst(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, model="gpt-4o")
    evaluator = make_evaluator(clickhouse, redis, slack, registry=registry)
    slack.on_post = lambda *_: server.stop()  # Redis dies once the first message is out, before markers are written
    try:
        first = evaluator.evaluate_tick(timeline.at(2))
        second = evaluator.evaluate_tick(timeline.at(3))
    finally:
        server.stop()
    assert sorted(d.model for d in first if d.decision == "delivered" and d.severity == "page") == ["gpt-4", "gpt-4o"]
    assert [s for s, _ in slack.posts] == ["page", "page"] and not any(d.decision == "delivered" for d in second)
    logged = clickhouse.query(
        "SELECT decision, model FROM o11y.alert_events WHERE tick = {t:DateTime} AND severity = 'page'",
        parameters={"t": timeline.at(2).replace(second=0, tzinfo=None)},
    ).result_rows
    assert sorted(r for r in logged if r[0] in ("fired", "delivered")) == [
        ("delivered", "gpt-4"),
        ("delivered", "gpt-4o"),
        ("fired", "gpt-4"),
        ("fired", "gpt-4o"),
    ]
    assert (registry.get_sample_value("o11y_alert_redis_degraded_total") or 0) >= 1


def test_a_redis_flush_in_the_middle_of_an_incident_does_not_page_again(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 10, 100, 0.3)
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    evaluator.evaluate_tick(timeline.at(2))
    marker = "o11y:alert:page:error_rate:openai:gpt-4:kilo-gateway"
    assert redis_client.exists(marker)
    redis_client.flushall()
    later = [evaluator.evaluate_tick(timeline.at(m)) for m in range(3, 8)]
    assert [s for s, _ in slack.posts] == ["page"]
    assert not any(d.decision == "fired" for ds in later for d in ds)
    assert redis_client.exists(marker), "the seed's marker is rebuilt from the incident"


def test_a_restarted_evaluator_does_not_notify_old_incidents_again(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 400, 1000, 0.003)  # 3x for hours: a ticket that stays open
    make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(360))
    redis_client.flushall()  # a restart with an empty Redis
    restarted = make_evaluator(clickhouse, redis_client, slack, fresh_state=False)
    assert not any(d.decision == "fired" for m in range(361, 366) for d in restarted.evaluate_tick(timeline.at(m)))
    assert [s for s, _ in slack.posts] == ["ticket"]


def test_a_slack_that_never_answers_cannot_stall_the_tick_or_cause_duplicates(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    timeline = Timeline(clickhouse)
    for i in range(6):
        timeline.traffic(0, 3, 100, 0.5, provider=f"provider-{i}", model=f"model-{i}")
    slack.hang = True
    ungrouped = policy_from_document({**DEFAULT_POLICY, "group_notifications_above": 10})
    evaluator = make_evaluator(clickhouse, redis_client, slack, policy=ungrouped, alert_send_budget_s=2, alert_send_timeout_s=1)
    started = time.monotonic()
    first = evaluator.evaluate_tick(timeline.at(2))
    took = time.monotonic() - started
    second = evaluator.evaluate_tick(timeline.at(3))
    assert took < 15, f"the tick took {took:.0f} s"  # bounded by the send budget, not 6 × timeouts × retries
    assert sorted(d.model for d in first if d.decision == "unconfirmed") == [f"model-{i}" for i in range(6)]
    assert not any(d.decision in ("fired", "delivered", "unconfirmed") for d in second)
    assert len(slack.posts) == 6, "each page reached Slack once, and was never sent again"


def test_a_tick_that_overruns_the_next_one_is_counted_as_skipped(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    timeline = failing_burst(clickhouse)
    slack.hang = True
    registry = CollectorRegistry()
    metrics = AlertMetrics.create(registry)
    evaluator = make_evaluator(clickhouse, redis_client, slack, alert_send_budget_s=2.5, alert_send_timeout_s=1)

    class AtTheBurst:
        def run(self, _: Any) -> Any:
            return evaluator.evaluate_tick(timeline.at(2))

    scheduler = build_scheduler(AtTheBurst(), IntervalTrigger(seconds=1), metrics)
    scheduler.start()
    try:
        assert wait_until(
            lambda: (registry.get_sample_value("o11y_alert_ticks_skipped_total", {"reason": "overrun"}) or 0) >= 1, timeout_s=20
        )
    finally:
        scheduler.shutdown(wait=True)


def test_the_heartbeat_is_called_after_every_completed_tick(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    from support.events import HEARTBEAT_TOKEN

    hits: list[str] = []

    def app() -> web.Application:
        async def ping(request: web.Request) -> web.Response:
            hits.append(request.path)
            return web.Response(text="OK")

        application = web.Application()
        application.router.add_get("/ping/{token}", ping)
        return application

    timeline = failing_burst(clickhouse)
    with LiveServer(app) as server:
        registry = CollectorRegistry()
        metrics = AlertMetrics.create(registry)
        ticks = LeasedTicks(
            make_evaluator(clickhouse, redis_client, slack),
            redis_client,
            metrics,
            heartbeat=Heartbeat(f"{server.url}/ping/{HEARTBEAT_TOKEN}", metrics.heartbeat_failures.inc),
        )
        for m in range(2, 5):
            ticks.run(timeline.at(m))
    assert hits == [f"/ping/{HEARTBEAT_TOKEN}"] * 3
    assert registry.get_sample_value("o11y_alert_heartbeat_failures_total") == 0


def test_webhook_urls_never_reach_a_log_line(slack: Any, caplog: Any) -> None:
    import logging

    from alerting.receivers.slack_webhook import SlackWebhook
    from o11y.embedded import free_port
    from support.alerting_harness import webhook_parcel
    from support.events import WEBHOOK_TOKEN

    caplog.set_level(logging.DEBUG)
    slack.failures, slack.retry_after = [500] * 3 + [429] * 3, "0"
    refused = f"http://127.0.0.1:{free_port()}/services/T0O11Y/ticket/{WEBHOOK_TOKEN}"
    page, ticket = SlackWebhook("slack-page", slack.url("page"), timeout_s=2), SlackWebhook("slack-ticket", refused, timeout_s=2)
    parcel = webhook_parcel({"text": "test", "blocks": []})
    answers = [page.send(parcel), page.send(parcel), ticket.send(parcel)]
    assert [a.outcome for a in answers] == ["failed"] * 3, answers
    assert slack.attempts == 6, "500 and 429 were each tried three times"
    assert caplog.records and WEBHOOK_TOKEN not in caplog.text and "/services/" not in caplog.text


def test_a_webhook_that_is_gone_is_refused_for_good_not_posted_every_minute(
        clickhouse: Any, redis_client: Any, slack: Any) -> None:
    slack.failures = [404]
    timeline = failing_burst(clickhouse)
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    assert ("rejected", "page", "error_rate", "5m/1m") in outcomes(evaluator.evaluate_tick(timeline.at(2)))
    later = evaluator.evaluate_tick(timeline.at(3))
    assert slack.attempts == 1 and [d for d in later if d.receiver] == []
