"""Timelines evaluated tick by tick against chDB, redis-server and a local Slack: what on-call would see."""

from __future__ import annotations

import re
from typing import Any

from schemas.alert_policy import DEFAULT_POLICY, policy_from_document, seed_policy
from support.alerting_harness import make_evaluator, outcomes
from support.timeline import Timeline, realistic


def run_ticks(evaluator: Any, timeline: Timeline, first: int, last: int) -> dict[int, list[Any]]:
    return {m: evaluator.evaluate_tick(timeline.at(m)) for m in range(first, last)}


def ticks_of(by_tick: dict[int, list[Any]], decision: str, severity: str | None = None) -> list[int]:
    return [m for m, ds in by_tick.items() for d in ds if d.decision == decision and (severity is None or d.severity == severity)]


def test_the_workbook_example_pages_at_once_and_resolves_when_no_page_tier_trips(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    """15 % errors for 10 minutes at 100 requests a minute (SRE Workbook, figure 5-6)."""
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 60, 100)
    timeline.traffic(60, 70, 100, 0.15)
    timeline.traffic(70, 120, 100)
    by_tick = run_ticks(make_evaluator(clickhouse, redis_client, slack), timeline, 60, 114)

    assert by_tick[60] == []  # the first bad minute is not complete yet
    assert ticks_of(by_tick, "delivered", "page") == [61, 73]  # the page, then its resolve
    assert ticks_of(by_tick, "resolved") == [73]  # minutes 70-72 clean: neither 5m/1m nor 30m/3m trips (Prometheus: 73)
    assert [h for _, h in slack.headers()] == [
        ":rotating_light: PAGE — LLM Error Rate SLO Breach",
        ":white_check_mark: RESOLVED (PAGE) — LLM Error Rate SLO",
    ]
    page, resolve = (body["blocks"] for _, body in slack.posts)
    assert "*3 % of requests failed* over the last 5 min (15 of 500); the SLO allows 0.1 %." in page[2]["text"]["text"]
    assert "By status: 15 × 5xx." in page[2]["text"]["text"]
    assert "Started 00:00 UTC (first bad minute)" not in page[3]["text"]["text"]
    assert f"Started {timeline.at(60):%H:%M} UTC (first bad minute), 1 min ago." in page[3]["text"]["text"]
    assert f"Lasted 13 min, from {timeline.at(60):%H:%M} UTC to {timeline.at(73):%H:%M} UTC." in resolve[2]["text"]["text"]
    # No ticket for the paged incident: the 6-hour window still holds its minutes 40 minutes later.
    assert ticks_of(by_tick, "delivered", "ticket") == []
    held = [m for m, ds in by_tick.items() if any("still holds paged incident" in d.detail for d in ds)]
    assert held == list(range(73, 100))  # the ticket tier trips on the paged minutes until its 30-minute window drops them


def test_a_page_stays_open_while_the_slower_page_tier_still_burns(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 60, 100)
    timeline.traffic(60, 65, 100, 0.20)
    timeline.traffic(65, 105, 100, 0.01)  # 10x: below 14.4x, above 6x
    timeline.traffic(105, 130, 100)
    by_tick = run_ticks(make_evaluator(clickhouse, redis_client, slack), timeline, 60, 125)

    assert ticks_of(by_tick, "delivered", "page") == [61, 107]
    # At 107 the last three minutes hold one failure of 300 (0.33 %, below 6x): the 30m/3m tier held it open until then.
    assert ticks_of(by_tick, "resolved") == [107]
    still_open = [m for m in range(70, 107) if any(d.decision == "suppressed" and d.tier == "30m/3m" for d in by_tick[m])]
    assert still_open == list(range(70, 107))
    assert [s for s, _ in slack.posts] == ["page", "page"]


def test_a_re_fire_soon_after_a_resolve_re_opens_the_incident_with_one_message(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 60, 100)
    timeline.traffic(60, 70, 100, 0.15)
    timeline.traffic(70, 78, 100)
    timeline.traffic(78, 82, 100, 0.15)  # five minutes after the resolve at 73
    timeline.traffic(82, 100, 100)
    by_tick = run_ticks(make_evaluator(clickhouse, redis_client, slack), timeline, 60, 100)

    headers = [h for _, h in slack.headers()]
    assert headers == [
        ":rotating_light: PAGE — LLM Error Rate SLO Breach",
        ":white_check_mark: RESOLVED (PAGE) — LLM Error Rate SLO",
        ":repeat: PAGE RE-OPENED — LLM Error Rate SLO Breach",
        ":white_check_mark: RESOLVED (PAGE) — LLM Error Rate SLO",
    ]
    assert ticks_of(by_tick, "delivered", "page") == [61, 73, 79, 85]
    first, reopened = by_tick[61][0].incident_id, by_tick[79][0].incident_id
    assert first == reopened, "the same incident, re-opened"
    assert "(re-opened once in the last hour)" in slack.posts[2][1]["blocks"][3]["text"]["text"]
    assert "It re-opened once." in slack.posts[3][1]["blocks"][2]["text"]["text"]


def test_single_failures_and_tiny_traffic_never_notify(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 360, 1)
    timeline.traffic(360, 430, 1)
    timeline.requests(400, 1, status=500)  # one failure of 430 requests
    timeline.requests(420, 9, status=502, model="tiny-route")  # nine of nine, below min_requests
    by_tick = run_ticks(make_evaluator(clickhouse, redis_client, slack), timeline, 395, 440)
    assert slack.posts == []
    assert ticks_of(by_tick, "fired") == []


def test_one_route_slower_than_its_p50_threshold_pages_for_that_route_only(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    """The seed's complete-time SLOs (no longer the default) still judge complete time per minute, exactly."""
    timeline = Timeline(clickhouse)
    realistic(timeline, -360, 90, dimensions=50, per_minute=60, slow=(7, 30, 40, 6000))
    by_tick = run_ticks(make_evaluator(clickhouse, redis_client, slack, seed_policy()), timeline, 25, 90)
    pages = [(d.slo, d.model) for ds in by_tick.values() for d in ds if d.decision == "delivered" and d.severity == "page"]
    assert pages == [("latency_p50", "model-7"), ("latency_p50", "model-7")], slack.dump()  # the page, then its resolve
    opened = ticks_of(by_tick, "fired")[0]
    assert 35 <= opened <= 40  # five bad minutes are needed
    text = slack.posts[0][1]["blocks"][2]["text"]["text"]
    assert "*The p50 of complete time of successful requests was above 5 s*" in text
    observed = re.search(r"Observed p50: between ([\d.]+) s and [\d.]+ s over the last 3 min", text)
    assert observed and float(observed.group(1)) >= 5, text  # the recent p50 is past the threshold


def test_many_routes_of_one_provider_failing_together_send_one_message(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    for i in range(100):
        timeline.traffic(0, 2, 20, 0.5, provider="openrouter", model=f"made-up-{i}")
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    assert len([d for d in decisions if d.decision == "delivered"]) == 100  # every incident tracked and logged
    assert len(slack.posts) == 1
    body = slack.posts[0][1]
    assert body["blocks"][0]["text"]["text"] == ":rotating_light: PAGE — 100 SLO breaches on openrouter"
    assert "…and 80 more." in body["blocks"][1]["text"]["text"]


def test_other_failing_models_of_the_provider_are_named(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    for model in ("a", "b", "c"):
        timeline.traffic(0, 2, 100, 0.5, provider="openrouter", model=model)
    make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    contexts = [body["blocks"][4]["elements"][0]["text"] for _, body in slack.posts]  # delivered in any order
    named = sorted(text.rsplit("\n", 1)[-1] for text in contexts)
    assert named == [f"Also failing on openrouter: 2 more models ({others})." for others in ("a, b", "a, c", "b, c")]


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


def test_a_ticket_never_suppresses_a_page_and_a_page_takes_over_its_ticket(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 60, 1000, 0.004)  # burn 4: a ticket, not a page
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    first = evaluator.evaluate_tick(timeline.at(60))
    assert outcomes(first) == [("fired", "ticket", "error_rate", "360m/30m"), ("delivered", "ticket", "error_rate", "360m/30m")]
    timeline.traffic(60, 62, 1000, 0.5)  # then the provider falls over
    second = evaluator.evaluate_tick(timeline.at(62))
    assert ("delivered", "page", "error_rate", "5m/1m") in outcomes(second)
    assert ("escalated", "ticket") in [(d.decision, d.severity) for d in second]
    assert [s for s, _ in slack.posts] == ["ticket", "page"]


def test_clients_and_models_that_may_not_page_get_tickets(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, client="batch-jobs")
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    fired = [d for d in decisions if d.decision == "delivered"]
    assert [(d.severity, d.client_name) for d in fired] == [("ticket", "batch-jobs")]
    assert "not page-eligible" in slack.posts[0][1]["blocks"][4]["elements"][0]["text"]


def test_the_seed_request_ratio_latency_slo_is_still_available(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    document = {
        **DEFAULT_POLICY,
        "slos": [
            {
                "name": "slow_requests",
                "title": "Slow requests",
                "kind": "latency_ratio",
                "latency": {"threshold_ms": 15000, "statuses": "all"},
            }
        ],
    }
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 3, 80, complete_ms=400)
    timeline.traffic(0, 3, 20, complete_ms=20_000)
    evaluator = make_evaluator(clickhouse, redis_client, slack, policy=policy_from_document(document))
    decisions = evaluator.evaluate_tick(timeline.at(3))
    page = next(d for d in decisions if d.decision == "delivered")
    assert (page.slo, page.bad_long, page.total_long) == ("slow_requests", 60, 300)
    assert (
        "*20 % of requests took longer than 15 s* (complete time of requests)" in slack.posts[0][1]["blocks"][2]["text"]["text"]
    )


def test_different_clients_alert_independently(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, model="gpt-4")
    timeline.traffic(0, 2, 100, 0.5, model="gpt-4", client="other-client")
    decisions = make_evaluator(clickhouse, redis_client, slack).evaluate_tick(timeline.at(2))
    assert sorted((d.severity, d.client_name) for d in decisions if d.decision == "delivered") == [
        ("page", "kilo-gateway"),
        ("ticket", "other-client"),
    ]


def test_byok_traffic_can_be_left_out_of_an_slo(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    policy = policy_from_document({**DEFAULT_POLICY, "defaults": {**DEFAULT_POLICY["defaults"], "include_byok": False}})
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 100, 0.5, byok=True)  # the user's own key failing is not our outage
    timeline.traffic(0, 2, 100)
    assert make_evaluator(clickhouse, redis_client, slack, policy=policy).evaluate_tick(timeline.at(2)) == []


def test_a_threshold_off_the_rollup_buckets_is_judged_exactly_from_raw_rows(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    document = {
        **DEFAULT_POLICY,
        "slos": [
            {"name": "ttfb_slow", "title": "TTFB", "kind": "latency_ratio", "latency": {"field": "ttfb_ms", "threshold_ms": 1234}}
        ],
    }
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 90, ttfb_ms=1234)  # at the threshold is not slower than it
    timeline.traffic(0, 2, 10, ttfb_ms=1235)
    decisions = make_evaluator(clickhouse, redis_client, slack, policy=policy_from_document(document)).evaluate_tick(
        timeline.at(2)
    )
    page = next(d for d in decisions if d.decision == "delivered")
    assert (page.slo, page.bad_long, page.total_long) == ("ttfb_slow", 20, 200)
