"""Alerting when parts fail: Slack errors, the models URL down, Redis down, two evaluators on one tick."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from alerting_harness import make_evaluator, outcomes
from live_server import LiveServer
from prometheus_client import CollectorRegistry
from redis import Redis
from timeline import Timeline

from alerting.alert_metrics import AlertMetrics
from alerting.alert_service import LeasedTicks
from o11y.embedded import EmbeddedRedis


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
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    delivered = [d for r in results for d in r if d.decision == "delivered"]
    assert len(delivered) == 1 and len(slack.posts) == 1


def test_the_lease_lets_one_replica_evaluate_each_tick(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = failing_burst(clickhouse)
    registry = CollectorRegistry()
    metrics = AlertMetrics.create(registry)
    replicas = [LeasedTicks(make_evaluator(clickhouse, redis_client, slack), redis_client, metrics, owner=f"r{i}") for i in range(2)]
    assert replicas[0].run(timeline.at(2)) is not None
    assert replicas[1].run(timeline.at(2)) is None
    assert registry.get_sample_value("o11y_alert_ticks_skipped_total") == 1
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


def test_models_off_the_recommended_list_get_tickets(clickhouse: Any, redis_client: Any, slack: Any, models_server: dict[str, Any]) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, model="gpt-4")
    timeline.traffic(0, 2, 100, 0.5, model="experimental-model")
    evaluator = make_evaluator(clickhouse, redis_client, slack, recommended_models_url=models_server["url"])
    decisions = evaluator.evaluate_tick(timeline.at(2))
    assert sorted((d.severity, d.model) for d in decisions if d.decision == "delivered") == [
        ("page", "gpt-4"), ("ticket", "experimental-model")]
    assert json.loads(redis_client.get("o11y:recommended-models")) == ["gpt-4"]
    assert 3500 < redis_client.ttl("o11y:recommended-models") <= 3600


def test_the_models_url_down_falls_back_to_the_last_good_list(clickhouse: Any, redis_client: Any, slack: Any, models_server: dict[str, Any]) -> None:
    timeline = Timeline(clickhouse)
    evaluator = make_evaluator(clickhouse, redis_client, slack, recommended_models_url=models_server["url"])
    evaluator.evaluate_tick(timeline.at(0))  # fetches and caches ["gpt-4"]
    redis_client.delete("o11y:recommended-models")  # the hour is over
    models_server["status"], models_server["body"] = 503, {"error": "down"}
    timeline.traffic(0, 2, 100, 0.5, model="experimental-model")
    decisions = evaluator.evaluate_tick(timeline.at(2))
    assert models_server["hits"] == 2
    assert [(d.severity, d.model) for d in decisions if d.decision == "delivered"] == [("ticket", "experimental-model")]


def test_with_no_list_ever_known_every_model_pages(clickhouse: Any, redis_client: Any, slack: Any, models_server: dict[str, Any]) -> None:
    models_server["status"] = 500
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, model="experimental-model")
    decisions = make_evaluator(clickhouse, redis_client, slack, recommended_models_url=models_server["url"]).evaluate_tick(timeline.at(2))
    assert [(d.severity, d.model) for d in decisions if d.decision == "delivered"] == [("page", "experimental-model")]


def test_redis_down_pages_still_go_out_once_and_are_counted(clickhouse: Any, slack: Any) -> None:
    server = EmbeddedRedis().start()
    redis = Redis.from_url(server.url, socket_timeout=1, socket_connect_timeout=1)  # type: ignore[attr-defined]
    registry = CollectorRegistry()
    timeline = failing_burst(clickhouse)
    evaluator = make_evaluator(clickhouse, redis, slack, registry=registry)
    server.stop()
    first = evaluator.evaluate_tick(timeline.at(2))
    second = evaluator.evaluate_tick(timeline.at(3))
    assert ("delivered", "page", "error_rate", "5m/1m") in outcomes(first)
    assert [s for s, _ in slack.posts] == ["page"], "a page, and not again every minute"
    assert all(d.decision in {"suppressed", "degraded"} for d in second)
    assert (registry.get_sample_value("o11y_alert_redis_degraded_total") or 0) >= 1


def test_every_decision_lands_in_the_alert_log(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = failing_burst(clickhouse)
    make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    rows = clickhouse.query(
        "SELECT decision, severity, slo, tier, bad_long, total_long, burn_long FROM o11y.alert_events "
        "WHERE tick = {t:DateTime} ORDER BY event_time, decision",
        parameters={"t": timeline.at(2).replace(second=0, tzinfo=None)}).result_rows
    assert ("delivered", "page", "error_rate", "5m/1m", 100, 200, 500.0) in rows
    assert ("suppressed", "ticket", "error_rate", "360m/30m", 100, 200, 500.0) in rows
