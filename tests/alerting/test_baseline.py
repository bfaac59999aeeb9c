"""Baselines read from the real rollup (chDB): error rates, latency buckets and suggestions, checked against hand counts."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from alerting.policy.baseline import Baseline, PercentileRange, Selector, read_baseline
from schemas.alert_policy import DEFAULT_POLICY, AlertPolicy, default_policy, policy_from_document, seed_policy
from schemas.latency_measures import LATENCY_BOUNDS_MS, TPOT_BOUNDS_MS
from support.timeline import Timeline

DAY = 1440
END = 8 * DAY
"""Every test reads at base + 8 days (+30 s): the window ends at minute END of the timeline."""


def ago(minutes: int) -> int:
    """The timeline minute `minutes` before the window end."""
    return END - minutes


def unique_model() -> str:
    return f"model-{uuid.uuid4().hex[:10]}"


def now_of(timeline: Timeline) -> datetime:
    return timeline.base + timedelta(minutes=END, seconds=30)


def read(clickhouse: Any, timeline: Timeline, selector: Selector, policy: AlertPolicy | None = None) -> Baseline:
    return read_baseline(clickhouse, policy or default_policy(), selector, now_of(timeline))


def without_byok() -> AlertPolicy:
    return policy_from_document({**DEFAULT_POLICY, "defaults": {**DEFAULT_POLICY["defaults"], "include_byok": False}})


def counts(baseline: Baseline) -> list[tuple[int, int, int]]:
    return [(p.days, p.requests, p.errors) for p in baseline.errors]


def test_error_rates_over_one_three_and_seven_days_match_the_rows(clickhouse: Any) -> None:
    timeline, model = Timeline(clickhouse), unique_model()
    timeline.requests(ago(7 * DAY + 1), 400, model=model)  # one minute before the 7-day window: never counted
    timeline.requests(ago(7 * DAY + 1), 40, status=500, model=model)
    timeline.requests(ago(7 * DAY), 100, model=model)  # the window's first minute
    timeline.requests(ago(7 * DAY), 10, status=503, model=model)
    timeline.requests(ago(5 * DAY), 1000, model=model)
    timeline.requests(ago(5 * DAY), 30, status=500, model=model)
    timeline.requests(ago(2 * DAY), 500, model=model)
    timeline.requests(ago(2 * DAY), 5, status=429, model=model)
    timeline.requests(ago(1), 200, model=model)  # the last complete minute
    timeline.requests(ago(1), 2, status=404, model=model)
    timeline.requests(ago(1), 20, model=model, byok=True)
    timeline.requests(ago(1), 50, status=500, model=model, byok=True)
    timeline.requests(END, 100, status=500, model=model)  # the minute the window ends at: not complete, not counted

    baseline = read(clickhouse, timeline, Selector(model=model))
    assert baseline.end == timeline.base + timedelta(minutes=END)
    # 1 day: 200 + 2 + 20 + 50; 3 days: + 500 + 5; 7 days: + 1000 + 30 + 100 + 10.
    assert counts(baseline) == [(1, 272, 52), (3, 777, 57), (7, 1917, 97)]
    assert [p.rate for p in baseline.errors] == [Fraction(52, 272), Fraction(57, 777), Fraction(97, 1917)]
    assert baseline.include_byok is True

    strict = read(clickhouse, timeline, Selector(model=model), without_byok())
    # BYOK requests (20 + 50, all in the last day) left out.
    assert counts(strict) == [(1, 202, 2), (3, 707, 7), (7, 1847, 47)]
    assert strict.include_byok is False

    as_dict = baseline.as_dict()
    assert as_dict["error_rate"]["1d"] == {
        "start": (baseline.end - timedelta(days=1)).isoformat(),
        "requests": 272,
        "errors": 52,
        "rate": 52 / 272,
    }
    assert as_dict["end"] == baseline.end.isoformat() and as_dict["end"].endswith("+00:00")
    text = baseline.describe()
    assert "error rate  1d 19.1 % of 272 requests   3d 7.34 % of 777 requests   7d 5.06 % of 1,917 requests" in text
    assert "error rate (BYOK excluded)  1d 0.99 % of 202 requests" in strict.describe()


def test_latency_percentiles_lie_in_the_hand_computed_buckets(clickhouse: Any) -> None:
    timeline, model = Timeline(clickhouse), unique_model()
    timeline.requests(ago(2 * DAY), 60, complete_ms=300, ttfb_ms=50, model=model)
    timeline.requests(ago(2 * DAY), 30, complete_ms=1500, ttfb_ms=200, model=model)
    timeline.requests(ago(2 * DAY), 10, complete_ms=8000, ttfb_ms=600, model=model)
    timeline.requests(ago(2 * DAY), 20, status=500, complete_ms=100_000, ttfb_ms=100_000, model=model)  # failed: not counted
    timeline.requests(ago(5 * DAY), 50, complete_ms=100_000, ttfb_ms=100_000, model=model)  # older than 3 days

    baseline = read(clickhouse, timeline, Selector(model=model))
    complete, ttfb = baseline.latency["complete_ms"], baseline.latency["ttfb_ms"]
    assert complete.requests == ttfb.requests == 100
    # complete: 100 above 250 ms, 40 above 500, 10 above 7500, none above 10000.
    # p50: at most 50 above → 500; p95: at most 5 above → 10000; p99: at most 1 above → 10000.
    assert complete.percentiles == {
        "p50": PercentileRange(250, 500),
        "p95": PercentileRange(7500, 10000),
        "p99": PercentileRange(7500, 10000),
    }
    # ttfb: 40 above 100 ms, 10 above 500, none above 1000.
    assert ttfb.percentiles == {
        "p50": PercentileRange(0, 100),
        "p95": PercentileRange(500, 1000),
        "p99": PercentileRange(500, 1000),
    }

    latency = baseline.as_dict()["latency"]
    assert latency["complete_ms"]["p50"] == {"lower_ms": 250, "upper_ms": 500}
    assert latency["ttfb_ms"]["p50"] == {"lower_ms": 0, "upper_ms": 100}
    assert "complete_ms p50 ≤ 500 ms (250–500]   p95 ≤ 10000 ms (7500–10000]" in baseline.describe()


def test_a_percentile_above_the_largest_bound_has_no_upper_bound(clickhouse: Any) -> None:
    timeline, model = Timeline(clickhouse), unique_model()
    timeline.requests(ago(DAY), 995, complete_ms=400_000, model=model)
    timeline.requests(ago(DAY), 5, complete_ms=300, model=model)

    baseline = read(clickhouse, timeline, Selector(model=model), seed_policy())
    complete = baseline.latency["complete_ms"].percentiles
    assert complete["p50"] == PercentileRange(300_000, None)
    assert baseline.as_dict()["latency"]["complete_ms"]["p50"] == {"lower_ms": 300_000, "upper_ms": None}
    thresholds = {t.slo: t for t in baseline.thresholds}
    assert thresholds["latency_p50"].value is None
    assert "above the largest bound, 300000 ms" in thresholds["latency_p50"].reason
    assert "p50 > 300000 ms" in baseline.describe()


def test_provider_and_client_selectors_filter(clickhouse: Any) -> None:
    timeline, model = Timeline(clickhouse), unique_model()
    timeline.requests(ago(60), 100, model=model, client="kilo-gateway", provider="openai")
    timeline.requests(ago(60), 40, model=model, client="other-client", provider="openai")
    timeline.requests(ago(60), 10, status=500, model=model, client="other-client", provider="openai")
    timeline.requests(ago(60), 7, status=502, model=model, client="kilo-gateway", provider="anthropic")
    timeline.requests(ago(60), 99, model=unique_model(), client="kilo-gateway", provider="openai")  # another model

    def one_day(selector: Selector) -> tuple[int, int, int]:
        baseline = read(clickhouse, timeline, selector)
        return baseline.period(1).requests, baseline.period(1).errors, baseline.latency["complete_ms"].requests

    assert one_day(Selector(model=model)) == (157, 17, 140)
    assert one_day(Selector(model=model, client="kilo-gateway")) == (107, 7, 100)
    assert one_day(Selector(model=model, provider="openai")) == (150, 10, 140)
    assert one_day(Selector(model=model, provider="openai", client="other-client")) == (50, 10, 40)
    assert one_day(Selector(model=model, provider="anthropic", client="other-client")) == (0, 0, 0)


def test_names_are_bound_as_parameters_not_written_into_the_sql(clickhouse: Any) -> None:
    timeline, model = Timeline(clickhouse), unique_model()
    quoted = f"{model}' OR 1 = 1 OR resolved_model = '"
    timeline.requests(ago(60), 5, model=quoted, client="it's")
    timeline.requests(ago(60), 3, model=model)

    assert read(clickhouse, timeline, Selector(model=quoted)).period(1).requests == 5
    assert read(clickhouse, timeline, Selector(model=quoted, client="it's")).period(1).requests == 5
    assert read(clickhouse, timeline, Selector(model=model)).period(1).requests == 3


def test_a_model_without_traffic_reports_explicit_nulls(clickhouse: Any) -> None:
    timeline, model = Timeline(clickhouse), unique_model()
    baseline = read(clickhouse, timeline, Selector(model=model, provider="openai"))

    assert counts(baseline) == [(1, 0, 0), (3, 0, 0), (7, 0, 0)]
    assert [p.rate for p in baseline.errors] == [None, None, None]
    assert all(r is None for latency in baseline.latency.values() for r in latency.percentiles.values())
    assert baseline.objective.value is None
    assert baseline.objective.reason == "too little traffic to choose from data: 0 requests in 7 days (at least 1,000 needed)"
    assert [(t.slo, t.value) for t in baseline.thresholds] == [("time_to_first_token", None), ("generation_speed", None)]
    assert [t.reason for t in baseline.thresholds] == [
        "too little traffic to choose from data: 0 streamed successful requests in 3 days (at least 1,000 needed)",
        "too little traffic to choose from data: 0 streamed successful requests with at least 16 output tokens in 3 days "
        "(at least 1,000 needed)"]

    as_dict = json.loads(json.dumps(baseline.as_dict()))
    assert as_dict["selector"] == {"model": model, "provider": "openai", "client": None}
    assert [as_dict["error_rate"][p]["rate"] for p in ("1d", "3d", "7d")] == [None, None, None]
    nothing = {"requests": 0, "p50": None, "p95": None, "p99": None}
    assert as_dict["latency"]["complete_ms"] == {**nothing, "measure": "complete time", "counted": "successful requests"}
    assert as_dict["latency"]["ttfb_ms"] == {**nothing, "measure": "time to first byte", "counted": "successful requests"}
    assert as_dict["latency"]["tpot_ms"]["tokens_per_second"] == {"p50": None, "p95": None, "p99": None}
    assert as_dict["suggestions"]["objective"]["value"] is None
    assert as_dict["suggestions"]["thresholds"]["generation_speed"]["threshold_ms"] is None
    assert "method" in as_dict["latency"]
    text = baseline.describe()
    assert "error rate  1d no traffic   3d no traffic   7d no traffic" in text
    assert "complete_ms no successful requests in 3 days" in text
    assert "ttft_ms no streamed successful requests in 3 days" in text
    assert "no objective suggested: too little traffic" in text


def test_the_objective_is_the_strictest_whose_budget_is_twice_the_worst_rate(clickhouse: Any) -> None:
    timeline = Timeline(clickhouse)
    # 0.3 % over 3 days (5 / 3000 over 7): 0.995's budget 0.5 % < 2 × 0.3 %; 0.99's 1 % is enough.
    model = unique_model()
    timeline.requests(ago(5 * DAY), 1998, model=model)
    timeline.requests(ago(5 * DAY), 2, status=500, model=model)
    timeline.requests(ago(2 * DAY), 997, model=model)
    timeline.requests(ago(2 * DAY), 3, status=500, model=model)
    baseline = read(clickhouse, timeline, Selector(model=model))
    assert baseline.objective.value == Decimal("0.99")
    assert baseline.objective.reason == "the worst error rate (3 days) 0.3 % would use 30 % of a 1 % budget"
    assert baseline.as_dict()["suggestions"]["objective"]["value"] == 0.99
    assert "suggested objective 0.99: the worst error rate (3 days) 0.3 %" in baseline.describe()

    # Exactly twice: 0.05 % errors fit 0.999's 0.1 % budget (at least twice, not more than twice).
    model = unique_model()
    timeline.requests(ago(2 * DAY), 9995, model=model)
    timeline.requests(ago(2 * DAY), 5, status=500, model=model)
    assert read(clickhouse, timeline, Selector(model=model)).objective.value == Decimal("0.999")

    # A bad last day counts even when the week is clean: 1 % over 1 day needs a 2 % budget.
    model = unique_model()
    timeline.requests(ago(5 * DAY), 5000, model=model)
    timeline.requests(ago(2 * DAY), 900, model=model)  # 3 days: 1 of 1000
    timeline.requests(ago(60), 99, model=model)
    timeline.requests(ago(60), 1, status=500, model=model)
    baseline = read(clickhouse, timeline, Selector(model=model))
    assert baseline.objective.value == Decimal("0.98")
    assert baseline.objective.reason.startswith("the worst error rate (1 day) 1 %")

    # No errors: the strictest objective.
    model = unique_model()
    timeline.requests(ago(DAY), 1000, model=model)
    assert read(clickhouse, timeline, Selector(model=model)).objective.value == Decimal("0.9999")

    # 12 %: even 0.9 (budget 10 %) is too strict.
    model = unique_model()
    timeline.requests(ago(DAY), 880, model=model)
    timeline.requests(ago(DAY), 120, status=500, model=model)
    baseline = read(clickhouse, timeline, Selector(model=model))
    assert baseline.objective.value is None
    assert "12 %" in baseline.objective.reason and "objective 0.9" in baseline.objective.reason

    # 999 requests in 7 days: too few to choose from.
    model = unique_model()
    timeline.requests(ago(DAY), 999, model=model)
    baseline = read(clickhouse, timeline, Selector(model=model))
    assert baseline.objective.value is None
    assert baseline.objective.reason.startswith("too little traffic to choose from data: 999 requests")


def test_latency_thresholds_are_rollup_bounds_at_least_twice_the_percentile(clickhouse: Any) -> None:
    timeline, model = Timeline(clickhouse), unique_model()
    timeline.requests(ago(2 * DAY), 600, complete_ms=300, ttfb_ms=5000, model=model)
    timeline.requests(ago(2 * DAY), 300, complete_ms=1500, ttfb_ms=5000, model=model)
    timeline.requests(ago(2 * DAY), 100, complete_ms=8000, ttfb_ms=5000, model=model)
    timeline.requests(ago(2 * DAY), 500, status=500, complete_ms=200_000, model=model)  # failures: not counted

    baseline = read(clickhouse, timeline, Selector(model=model), seed_policy())
    thresholds = {t.slo: t for t in baseline.thresholds}
    # Both of the seed's percentile SLOs read complete_request_ms (not ttfb, all at 5000 ms).
    # p50: 400 of 1000 above 500 ms → (250, 500]; twice 500 is 1000, a bound.
    assert thresholds["latency_p50"].value == 1000
    # p90: 100 of 1000 above 2000 ms (≤ 10 %), 400 above 1000 → (1000, 2000]; twice is 4000 → the next bound, 5000.
    assert thresholds["latency_p90"].value == 5000
    assert all(t.value in LATENCY_BOUNDS_MS for t in baseline.thresholds)
    assert thresholds["latency_p90"].reason == (
        "the 3-day p90 of complete time is in (1000, 2000] ms; 5000 ms is the smallest rollup bound at least twice 2000 ms"
    )
    assert baseline.as_dict()["suggestions"]["thresholds"]["latency_p50"] == {
        "field": "complete_request_ms",
        "measure": "complete_ms",
        "percentile": 50.0,
        "current_ms": 5000,
        "threshold_ms": 1000,
        "reason": thresholds["latency_p50"].reason,
    }
    assert "suggested latency_p50 threshold_ms 1000 (now 5000)" in baseline.describe()

    # p50 in (180000, 300000]: twice is beyond every bound, so no threshold the rollup could evaluate.
    model = unique_model()
    timeline.requests(ago(DAY), 1000, complete_ms=200_000, model=model)
    slow = {t.slo: t for t in read(clickhouse, timeline, Selector(model=model), seed_policy()).thresholds}
    assert slow["latency_p50"].value is None
    assert "twice 300000 ms is above the largest bound" in slow["latency_p50"].reason

    # 999 successful requests in 3 days are too few.
    model = unique_model()
    timeline.requests(ago(DAY), 999, model=model)
    timeline.requests(ago(DAY), 10, status=500, model=model)
    few = read(clickhouse, timeline, Selector(model=model), seed_policy())
    assert [t.value for t in few.thresholds] == [None, None]
    assert few.thresholds[0].reason.startswith("too little traffic to choose from data: 999 successful requests in 3 days")


def streamed_traffic(timeline: Timeline, model: str) -> None:
    """Two days ago: streamed answers of 101 tokens (TPOT = generation time / 100), short streamed ones, answers not
    streamed, and streamed failures."""
    at = ago(2 * DAY)
    timeline.requests(at, 600, ttfb_ms=800, complete_ms=800 + 2000, output_tokens=101, model=model)  # TPOT 20 ms
    timeline.requests(at, 300, ttfb_ms=3000, complete_ms=3000 + 4000, output_tokens=101, model=model)  # TPOT 40 ms
    timeline.requests(at, 100, ttfb_ms=12_000, complete_ms=12_000 + 10_000, output_tokens=101, model=model)  # TPOT 100 ms
    timeline.requests(at, 200, ttfb_ms=100, complete_ms=100 + 4500, output_tokens=10, model=model)  # 10 tokens: TPOT 500 ms
    timeline.requests(at, 400, ttfb_ms=50_000, complete_ms=60_000, output_tokens=101, streaming=False, model=model)
    timeline.requests(at, 50, status=500, ttfb_ms=100_000, complete_ms=100_000, output_tokens=101, model=model)


def test_time_to_first_token_and_time_per_output_token_suggest_the_default_policys_thresholds(clickhouse: Any) -> None:
    timeline, model = Timeline(clickhouse), unique_model()
    streamed_traffic(timeline, model)

    baseline = read(clickhouse, timeline, Selector(model=model))
    ttft, tpot = baseline.latency["ttft_ms"], baseline.latency["tpot_ms"]
    # Time to first token: the 1,200 streamed successful requests (not the 400 answers that were not streamed).
    # 1,000 above 500 ms, 400 above 1000 (p50: at most 600), 100 above 10000 and none above 15000 (p95, p99).
    assert (ttft.requests, ttft.percentiles) == (1200, {
        "p50": PercentileRange(500, 1000), "p95": PercentileRange(10_000, 15_000), "p99": PercentileRange(10_000, 15_000)})
    # Time per output token: the 1,000 streamed successful requests with at least 16 tokens (20, 40 and 100 ms).
    # 400 above 20 ms (p50: at most 500), 100 above 75 ms and none above 100 ms (p95: at most 50, p99: at most 10).
    assert (tpot.requests, tpot.percentiles) == (1000, {
        "p50": PercentileRange(15, 20), "p95": PercentileRange(75, 100), "p99": PercentileRange(75, 100)})
    assert baseline.latency["complete_ms"].requests == 1600

    speed, first_token = (baseline.as_dict()["suggestions"]["thresholds"][name]
                          for name in ("generation_speed", "time_to_first_token"))
    assert first_token == {
        "field": "ttfb_ms", "measure": "ttft_ms", "percentile": 50.0, "current_ms": 60_000, "threshold_ms": 2000,
        "reason": "the 3-day p50 of time to first token is in (500, 1000] ms; 2000 ms is the smallest rollup bound at "
                  "least twice 1000 ms"}
    assert speed == {
        "field": "time_per_output_token_ms", "measure": "tpot_ms", "percentile": 50.0, "current_ms": 50,
        "threshold_ms": 40, "tokens_per_second": {"current": 20.0, "suggested": 25.0},
        "reason": "the 3-day p50 of time per output token is in (15, 20] ms (50–66.7 tokens/s); 40 ms (25 tokens/s) is "
                  "the smallest rollup bound at least twice 20 ms"}

    latency = json.loads(json.dumps(baseline.as_dict()))["latency"]
    assert latency["tpot_ms"] == {
        "requests": 1000, "p50": {"lower_ms": 15, "upper_ms": 20}, "p95": {"lower_ms": 75, "upper_ms": 100},
        "p99": {"lower_ms": 75, "upper_ms": 100}, "measure": "time per output token",
        "counted": "streamed successful requests with at least 16 output tokens", "min_output_tokens": 16,
        "bounds_ms": list(TPOT_BOUNDS_MS),
        "tokens_per_second": {"p50": {"lower": 50.0, "upper": 66.67}, "p95": {"lower": 10.0, "upper": 13.33},
                              "p99": {"lower": 10.0, "upper": 13.33}}}
    assert latency["ttft_ms"]["counted"] == "streamed successful requests"
    text = baseline.describe()
    assert ("ttft_ms p50 ≤ 1000 ms (500–1000]   p95 ≤ 15000 ms (10000–15000]   p99 ≤ 15000 ms (10000–15000]   "
            "(1,200 streamed successful requests, 3 days)") in text
    assert "tpot_ms p50 ≤ 20 ms (15–20]   p95 ≤ 100 ms (75–100]" in text
    assert ("tpot_ms as output tokens/s (1000 / time per output token; p95: the slowest 5 %)  p50 50–66.7   p95 10–13.3   "
            "p99 10–13.3") in text
    assert "suggested generation_speed threshold_ms 40 (now 50, 20 tokens/s)" in text
    assert "suggested time_to_first_token threshold_ms 2000 (now 60000)" in text


def test_each_percentile_slo_is_suggested_from_the_measure_it_judges(clickhouse: Any) -> None:
    timeline, model = Timeline(clickhouse), unique_model()
    streamed_traffic(timeline, model)
    error_rate, _, speed, *_ = DEFAULT_POLICY["slos"]

    def variant(name: str, **latency: Any) -> dict[str, Any]:
        return {**speed, "name": name, "latency": {**speed["latency"], **latency}}

    policy = policy_from_document({**DEFAULT_POLICY, "slos": [
        error_rate,
        variant("speed_p90_8_tokens", percentile=90, min_output_tokens=8),
        variant("speed_20_tokens", min_output_tokens=20),
        {**speed, "name": "buffered_first_byte",
         "latency": {"percentile": 50, "field": "ttfb_ms", "streaming": False, "threshold_ms": 60_000}},
    ]})
    baseline = read(clickhouse, timeline, Selector(model=model), policy)
    # With at least 8 tokens the 200 short answers count too (TPOT 500 ms): 200 of 1,200 above 400 ms, none above 1000.
    eight = baseline.latency["tpot_ms_min_8"]
    assert (eight.requests, eight.percentile(Fraction(9, 10))) == (1200, PercentileRange(400, 1000))
    assert baseline.latency["buffered_ttfb_ms"].requests == 400
    assert "tpot_ms_min_20" not in baseline.latency
    assert [(t.slo, t.value, t.reason) for t in baseline.thresholds] == [
        ("speed_p90_8_tokens", None, "the 3-day p90 of time per output token is in (400, 1000] ms (1–2.5 tokens/s); "
                                     "twice 1000 ms is above the largest bound, 1000 ms"),
        ("speed_20_tokens", None, "the rollup counts time per output token for min_output_tokens of 4, 8, 16, 32, 64, "
                                  "128 only; 20 is judged from the raw table, which a baseline does not read"),
        ("buffered_first_byte", None, "too little traffic to choose from data: 400 successful requests not streamed in 3 "
                                      "days (at least 1,000 needed)")]


def test_a_policy_without_an_error_rate_slo_is_refused(clickhouse: Any) -> None:
    latency_only = policy_from_document({**DEFAULT_POLICY, "slos": DEFAULT_POLICY["slos"][1:]})
    with pytest.raises(ValueError, match="no SLO of kind error_rate"):
        read_baseline(clickhouse, latency_only, Selector(model=unique_model()), datetime.now().astimezone())
