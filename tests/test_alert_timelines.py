"""Timelines evaluated tick by tick against chDB, redis-server and a local Slack: what on-call would see."""

from __future__ import annotations

from typing import Any

from alerting_harness import make_evaluator, outcomes
from timeline import Timeline


def run_ticks(evaluator: Any, timeline: Timeline, first: int, last: int) -> dict[int, list[Any]]:
    return {m: evaluator.evaluate_tick(timeline.at(m)) for m in range(first, last)}


def delivered(by_tick: dict[int, list[Any]], severity: str | None = None) -> list[tuple[int, str, str]]:
    return [(m, d.slo, d.tier) for m, ds in by_tick.items() for d in ds
            if d.decision == "delivered" and (severity is None or d.severity == severity)]


def test_fifteen_percent_errors_page_once_then_resolve(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(-60, 0, 100)
    timeline.traffic(0, 10, 100, 0.15)
    timeline.traffic(10, 40, 100)
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    by_tick = run_ticks(evaluator, timeline, 0, 40)

    assert by_tick[0] == []  # the first bad minute is not complete yet
    assert delivered(by_tick, "page") == [(1, "error_rate", "5m/1m")]  # detected at the first tick that can see it
    suppressed = [(m, d.tier) for m, ds in by_tick.items() for d in ds if d.decision == "suppressed" and d.severity == "page"]
    assert suppressed and all(2 <= m <= 15 for m, _ in suppressed), "re-trips inside the cooldown are suppressed"
    resolved = [(m, d.severity, d.tier) for m, ds in by_tick.items() for d in ds if d.decision == "resolved"]
    assert resolved[0] == (15, "page", "5m/1m")  # both 5m and 1m windows clean again
    headers = slack.headers()
    assert headers[0] == ("page", ":rotating_light: PAGE — LLM Error Rate SLO Breach")
    assert headers[1] == ("page", ":white_check_mark: RESOLVED (PAGE) — LLM Error Rate SLO")
    text = slack.posts[0][1]["blocks"][2]["text"]["text"]
    assert "*15 of 500 requests failed* in the last 5 min" in text
    # The slower 6-hour ticket tier may follow once the page's cooldown is over, never while it is active.
    assert all(m >= 16 for m, _, _ in delivered(by_tick, "ticket"))


def test_an_error_fraction_exactly_at_the_threshold_pages(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 1, 10_000, 0.0144)
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(1))
    assert ("delivered", "page", "error_rate", "5m/1m") in outcomes(decisions)
    page = next(d for d in decisions if d.decision == "delivered")
    assert (page.bad_long, page.total_long, page.burn_long) == (144, 10_000, 14.4)


def test_just_below_the_threshold_does_not_trip_that_tier(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 1, 10_000, 0.0143)
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(1))
    assert [d.tier for d in decisions if d.decision == "delivered"] == ["30m/3m"]  # 14.3x is below 14.4x, above 6x


def test_nine_requests_that_all_fail_never_alert(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 1, 9, 1.0)
    by_tick = run_ticks(make_evaluator(clickhouse, redis_client, slack), timeline, 1, 40)
    assert all(ds == [] for ds in by_tick.values())
    assert slack.posts == []


def test_a_page_suppresses_the_ticket_of_its_dimension(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 5, 100, 0.5)
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(5))
    assert ("delivered", "page", "error_rate", "5m/1m") in outcomes(decisions)
    assert ("suppressed", "page", "error_rate", "30m/3m") in outcomes(decisions)
    assert ("suppressed", "ticket", "error_rate", "360m/30m") in outcomes(decisions)
    assert [s for s, _ in slack.posts] == ["page"]


def test_a_ticket_never_suppresses_a_page(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 60, 1000, 0.004)  # burn 4: a ticket, not a page
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    first = evaluator.evaluate_tick(timeline.at(60))
    assert outcomes(first) == [("fired", "ticket", "error_rate", "360m/30m"), ("delivered", "ticket", "error_rate", "360m/30m")]
    timeline.traffic(60, 62, 1000, 0.5)  # then the provider falls over
    second = evaluator.evaluate_tick(timeline.at(62))
    assert ("delivered", "page", "error_rate", "5m/1m") in outcomes(second)
    assert [s for s, _ in slack.posts] == ["ticket", "page"]


def test_clients_and_models_that_may_not_page_get_tickets(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, client="batch-jobs")
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    fired = [d for d in decisions if d.decision == "delivered"]
    assert [(d.severity, d.client_name) for d in fired] == [("ticket", "batch-jobs")]
    assert "not page-eligible" in slack.posts[0][1]["blocks"][3]["elements"][0]["text"]


def test_latency_p50_and_p90_breaches_alert_with_observed_percentiles(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 3, 80, complete_ms=400)
    timeline.traffic(0, 3, 20, complete_ms=20_000)  # 20 % slower than 15 s: both latency SLOs burn
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(3))
    pages = {(d.slo, d.tier) for d in decisions if d.decision == "delivered"}
    assert pages == {("latency_p50", "5m/1m"), ("latency_p90", "5m/1m")}
    p90 = next(d for d in decisions if d.decision == "delivered" and d.slo == "latency_p90")
    assert (p90.bad_long, p90.total_long) == (60, 300)
    assert p90.observed_p90_ms is not None and p90.observed_p90_ms > 15_000
    texts = [body["blocks"][2]["text"]["text"] for _, body in slack.posts]
    assert any("*60 of 300 requests* took longer than 15,000 ms" in t and "Observed complete_request_ms: p50" in t for t in texts)


def test_different_clients_alert_independently(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, model="gpt-4")
    timeline.traffic(0, 2, 100, 0.5, model="gpt-4", client="other-client")
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    assert sorted((d.severity, d.client_name) for d in decisions if d.decision == "delivered") == [
        ("page", "kilo-gateway"), ("ticket", "other-client")]


def test_byok_traffic_can_be_left_out_of_an_slo(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    from schemas.slo_spec import DEFAULT_POLICY, policy_from_document

    policy = policy_from_document({**DEFAULT_POLICY, "defaults": {**DEFAULT_POLICY["defaults"], "include_byok": False}})
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, byok=True)  # the user's own key failing is not our outage
    timeline.traffic(0, 2, 100)
    assert make_evaluator(clickhouse, redis_client, slack, policy=policy).evaluate_tick(timeline.at(2)) == []


def test_a_threshold_off_the_rollup_buckets_is_judged_exactly_from_raw_rows(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    from schemas.slo_spec import DEFAULT_POLICY, policy_from_document

    document = {**DEFAULT_POLICY, "slos": [{"name": "ttfb_slow", "title": "TTFB", "latency": {"field": "ttfb_ms", "threshold_ms": 1234}}]}
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 90, ttfb_ms=1234)  # at the threshold is not slower than it
    timeline.traffic(0, 2, 10, ttfb_ms=1235)
    decisions = make_evaluator(clickhouse, redis_client, slack, policy=policy_from_document(document)).evaluate_tick(timeline.at(2))
    page = next(d for d in decisions if d.decision == "delivered")
    assert (page.slo, page.bad_long, page.total_long) == ("ttfb_slow", 20, 200)
