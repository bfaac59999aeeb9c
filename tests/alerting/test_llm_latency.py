"""LLM-native latency: time to first token and time per output token, derived by ClickHouse, counted exactly per minute,
judged tick by tick by the default policy, and replayed by the backtest decision for decision."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from alerting.backtest.minutes import read_minutes, specs_of
from alerting.backtest.replay import history_start, replay
from alerting.incidents.alert_log import Decision
from alerting.rules.window_query import build_query, parse_rows, window_end
from schemas.alert_policy import DEFAULT_POLICY, AlertPolicy, default_policy, policy_from_document, seed_policy
from schemas.latency_measures import MIN_OUTPUT_TOKENS_BOUNDS, TPOT_SLOT
from support.alerting_harness import comparable, make_evaluator
from support.timeline import Timeline, llm_streams

ROWS = [
    # (streamed, status, first byte ms, complete ms, output tokens): what each row must count for
    (True, 200, 1000, 4000, 101),  # TPOT 30 ms: counts from 4 to 64 tokens
    (True, 200, 800, 980, 10),  # TPOT 20 ms, but only 10 tokens: counts for min 4 and 8 only
    (True, 200, 700, 2000, None),  # no tokens reported: no TPOT, still a streamed request
    (True, 503, 300, 9000, 200),  # failed: no TPOT
    (False, 200, 5000, 5000, 200),  # not streamed: its first byte is the whole answer; no TPOT
    (True, 200, 900, 500, 50),  # complete before its first byte (a gateway's clock): no TPOT
    (True, 200, 600, 600, 1),  # one token: no time between tokens
    (True, 200, 1000, 1000 + 63 * 50, 64),  # TPOT exactly 50 ms: not above a 50 ms bound
]


def insert_rows(timeline: Timeline, model: str) -> None:
    values = ", ".join(
        f"(generateUUIDv4(), toDateTime64('{timeline.base + timedelta(seconds=i):%Y-%m-%d %H:%M:%S}', 3, 'UTC'), "
        f"'kilo-gateway', 'user', false, {str(streamed).lower()}, false, 'openai', '{model}', '{model}', [], [], "
        f"{ttfb}, {complete}, {status}, {'NULL' if tokens is None else tokens}, 't', 0, 0)"
        for i, (streamed, status, ttfb, complete, tokens) in enumerate(ROWS)
    )
    timeline.clickhouse.command(
        "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming,"
        " user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms,"
        f" complete_request_ms, status_code, output_tokens, kafka_topic, kafka_partition, kafka_offset) VALUES {values}"
    )


def latency_policy(*latencies: dict[str, Any]) -> AlertPolicy:
    return policy_from_document({**DEFAULT_POLICY, "slos": [
        {"name": f"s{i}", "title": f"S{i}", "kind": "latency_percentile", "objective": "0.99", "min_requests": 1,
         "latency": {"percentile": 50, **latency}} for i, latency in enumerate(latencies)]})


def test_only_streamed_successful_answers_with_enough_tokens_have_a_time_per_output_token(clickhouse: Any) -> None:
    timeline, model = Timeline(clickhouse), f"m-{uuid.uuid4().hex[:8]}"
    insert_rows(timeline, model)
    derived = clickhouse.query(
        "SELECT time_to_first_token_ms, time_per_output_token_ms FROM o11y.api_metrics WHERE resolved_model = {m:String} "
        "ORDER BY received_at", parameters={"m": model}).result_rows
    assert derived == [(1000, 30.0), (800, 20.0), (700, None), (300, None), (None, None), (900, None), (600, None),
                       (1000, 50.0)]

    [slots] = clickhouse.query("SELECT sumForEachMerge(tpot_over) FROM o11y.api_metrics_1m WHERE resolved_model = {m:String}",
                               parameters={"m": model}).result_rows[0]
    counted = {m: (slots[i * TPOT_SLOT], slots[i * TPOT_SLOT + 1:(i + 1) * TPOT_SLOT])
               for i, m in enumerate(MIN_OUTPUT_TOKENS_BOUNDS)}
    assert {m: n for m, (n, _) in counted.items()} == {4: 3, 8: 3, 16: 2, 32: 2, 64: 2, 128: 0}
    # over 25 ms a token: the 30 ms answer and the one at exactly 50 ms; over 50 ms: none (50 is not above 50)
    assert [(over[9], over[12]) for _, over in (counted[16], counted[4])] == [(2, 0), (2, 0)]
    [row] = clickhouse.query("SELECT sum(requests), sum(streamed_requests), sum(buffered_requests) FROM o11y.api_metrics_1m "
                             "WHERE resolved_model = {m:String}", parameters={"m": model}).result_rows
    assert row == (8, 7, 1)  # the answer without tokens is counted like any other request


@pytest.mark.parametrize("latency", [
    {"field": "ttfb_ms", "streaming": True, "threshold_ms": 750},
    {"field": "ttfb_ms", "streaming": False, "threshold_ms": 3000},
    {"field": "ttfb_ms", "threshold_ms": 500},
    {"field": "time_per_output_token_ms", "threshold_ms": 25},
    {"field": "time_per_output_token_ms", "threshold_ms": 40, "min_output_tokens": 8},
    {"field": "time_per_output_token_ms", "threshold_ms": 50, "min_output_tokens": 64},
])
def test_the_rollup_counts_each_measure_as_the_raw_table_does(clickhouse: Any, latency: dict[str, Any]) -> None:
    timeline, model = Timeline(clickhouse), f"m-{uuid.uuid4().hex[:8]}"
    insert_rows(timeline, model)
    policy = latency_policy(latency)
    end = window_end(timeline.at(1))

    def counts(raw: bool) -> Any:
        result = clickhouse.query(build_query(policy, end, raw=raw))
        return parse_rows(policy, list(result.column_names), result.result_rows)[("openai", model, "kilo-gateway")]

    rollup, raw = counts(False), counts(True)
    assert rollup == raw
    expected = {("ttfb_ms", True): 6, ("ttfb_ms", False): 1, ("ttfb_ms", "any"): 7}  # successful requests
    key = (latency["field"], latency.get("streaming", "any"))
    requests = rollup.requests[("s0", 1)]
    if key in expected:
        assert requests == expected[key]
    else:
        assert requests == {16: 2, 8: 3, 64: 2}[latency.get("min_output_tokens", 16)]


def notifications(decisions: list[Decision]) -> list[tuple[str, str, str]]:
    return [(d.severity, d.slo, d.model) for d in decisions if d.decision == "delivered"]


def run(clickhouse: Any, redis_client: Any, slack: Any, timeline: Timeline, policy: AlertPolicy, first: int,
        last: int) -> dict[int, list[Decision]]:
    """Tick by tick; then the backtest over the same minutes must decide exactly the same."""
    evaluator = make_evaluator(clickhouse, redis_client, slack, policy)
    by_tick = {m: evaluator.evaluate_tick(timeline.at(m)) for m in range(first, last)}
    start, end = timeline.at(first, 0), timeline.at(last, 0)
    minutes = read_minutes(clickhouse, specs_of(policy), history_start(start, policy), end)
    replayed = replay(minutes, policy, [], start, end, keep_log=True)
    assert comparable(replayed.log) == comparable([d for ds in by_tick.values() for d in ds])
    return by_tick


def test_answers_growing_tenfold_longer_page_nobody_with_the_default_policy(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    """Six hours of healthy streams on 50 routes while the median answer grows from 200 to 2,000 tokens over two hours,
    at the same first-token time and generation speed, with random errors at half the error budget: the seed's
    complete-time SLOs page and ticket all over; the LLM-native default stays quiet."""
    timeline = Timeline(clickhouse)
    llm_streams(timeline, -360, 360, routes=50, per_minute=20, tokens=(200, 2000, 60, 180), error_rate=0.0005)
    by_tick = run(clickhouse, redis_client, slack, timeline, default_policy(), 1, 361)
    assert slack.posts == [], slack.dump()
    assert [d for ds in by_tick.values() for d in ds if d.decision == "fired"] == []

    seed = seed_policy()
    start, end = timeline.at(1, 0), timeline.at(361, 0)
    old = replay(read_minutes(clickhouse, specs_of(seed), history_start(start, seed), end), seed, [], start, end)
    sent = {severity: sum(days.values()) for severity, days in old.sent.items()}
    assert sent["page"] + sent["ticket"] >= 50, sent  # every route, at least once: the noise this default removes


def test_a_route_whose_generation_halves_pages_once_from_generation_speed(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    """36 tokens/s (28 ms a token) falls to 18 for ten minutes; its first token and errors stay as they were."""
    timeline, model = Timeline(clickhouse), f"m-{uuid.uuid4().hex[:6]}"
    llm_streams(timeline, -360, 120, routes=6, per_minute=20, tpot_ms=(28, 10, 12, 15, 18, 8),
                slower=(0, 60, 70, 1.0, 2.0), model=model)
    by_tick = run(clickhouse, redis_client, slack, timeline, default_policy(), 55, 100)
    decisions = [d for ds in by_tick.values() for d in ds]
    assert notifications(decisions) == [("page", "generation_speed", f"{model}-0")] * 2  # the page, then its resolve
    fired = [m for m, ds in by_tick.items() if any(d.decision == "fired" for d in ds)]
    assert fired == [65]  # five bad minutes (60-64): the page at the fifth tick after the slowdown began
    assert [m for m, ds in by_tick.items() if any(d.decision == "resolved" for d in ds)] == [73]  # 3 clean minutes (30m/3m)
    text = slack.posts[0][1]["blocks"][2]["text"]["text"]
    assert "*The median answer streamed slower than 20 tokens/s*" in text
    assert "The median answer streamed at 16.7–20 tokens/s over the last 1 min" in text
    assert "the SLO wants at least 20 tokens/s" in text


@pytest.mark.parametrize("healthy_ms, threshold_ms, fired", [(23000, None, 65), (1200, 5000, 67)],
                         ids=["reasoning route, default threshold", "chat route, its own threshold"])
def test_a_route_whose_first_token_comes_five_times_later_pages_once_from_time_to_first_token(
    clickhouse: Any, redis_client: Any, slack: Any, healthy_ms: int, threshold_ms: int | None, fired: int
) -> None:
    """Queueing: the first token comes 5x later for ten minutes, generation unchanged. The default's 60 s holds for a
    reasoning route (23 s, o3's median first token); a chat route pages on a threshold of its own, the one `o11y slo
    baseline` suggests for a median in (1 s, 2 s]: 5 s. Its slowed median (6 s) is nearer that threshold, so some
    minutes stay under it and the page takes two ticks more."""
    timeline, model = Timeline(clickhouse), f"m-{uuid.uuid4().hex[:6]}"
    llm_streams(timeline, -360, 120, routes=6, per_minute=20, ttft_ms=(healthy_ms, 600, 900),
                slower=(0, 60, 70, 5.0, 1.0), model=model)
    overrides = [] if threshold_ms is None else [
        {"match": {"model": f"{model}-0", "slo": "time_to_first_token"}, "latency": {"threshold_ms": threshold_ms}}]
    policy = policy_from_document({**DEFAULT_POLICY, "overrides": overrides})
    by_tick = run(clickhouse, redis_client, slack, timeline, policy, 55, 100)
    decisions = [d for ds in by_tick.values() for d in ds]
    assert notifications(decisions) == [("page", "time_to_first_token", f"{model}-0")] * 2
    assert [m for m, ds in by_tick.items() if any(d.decision == "fired" for d in ds)] == [fired]
    assert [m for m, ds in by_tick.items() if any(d.decision == "resolved" for d in ds)] == [73]
    text = slack.posts[0][1]["blocks"][2]["text"]["text"]
    assert "time to first token of streamed successful requests was above" in text
