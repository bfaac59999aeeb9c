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
from schemas.alert_policy import DEFAULT_POLICY, AlertPolicy, default_policy, policy_from_document
from schemas.latency_measures import LATENCY_BOUNDS_MS
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

    baseline = read(clickhouse, timeline, Selector(model=model))
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
    assert [(t.slo, t.value) for t in baseline.thresholds] == [("latency_p50", None), ("latency_p90", None)]
    assert all(t.reason.startswith("too little traffic to choose from data") for t in baseline.thresholds)

    as_dict = json.loads(json.dumps(baseline.as_dict()))
    assert as_dict["selector"] == {"model": model, "provider": "openai", "client": None}
    assert [as_dict["error_rate"][p]["rate"] for p in ("1d", "3d", "7d")] == [None, None, None]
    assert as_dict["latency"]["complete_ms"] == {"requests": 0, "p50": None, "p95": None, "p99": None}
    assert as_dict["latency"]["ttfb_ms"] == {"requests": 0, "p50": None, "p95": None, "p99": None}
    assert as_dict["suggestions"]["objective"]["value"] is None
    assert as_dict["suggestions"]["thresholds"]["latency_p50"]["threshold_ms"] is None
    assert "method" in as_dict["latency"]
    text = baseline.describe()
    assert "error rate  1d no traffic   3d no traffic   7d no traffic" in text
    assert "complete_ms no successful requests in 3 days" in text
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

    baseline = read(clickhouse, timeline, Selector(model=model))
    thresholds = {t.slo: t for t in baseline.thresholds}
    # Both default percentile SLOs read complete_request_ms (not ttfb, all at 5000 ms).
    # p50: 400 of 1000 above 500 ms → (250, 500]; twice 500 is 1000, a bound.
    assert thresholds["latency_p50"].value == 1000
    # p90: 100 of 1000 above 2000 ms (≤ 10 %), 400 above 1000 → (1000, 2000]; twice is 4000 → the next bound, 5000.
    assert thresholds["latency_p90"].value == 5000
    assert all(t.value in LATENCY_BOUNDS_MS for t in baseline.thresholds)
    assert thresholds["latency_p90"].reason == (
        "the 3-day p90 of complete_request_ms is in (1000, 2000] ms; 5000 ms is the smallest rollup bound at least twice 2000 ms"
    )
    assert baseline.as_dict()["suggestions"]["thresholds"]["latency_p50"] == {
        "field": "complete_request_ms",
        "percentile": 50.0,
        "current_ms": 5000,
        "threshold_ms": 1000,
        "reason": thresholds["latency_p50"].reason,
    }
    assert "suggested latency_p50 threshold_ms 1000 (now 5000)" in baseline.describe()

    # p50 in (180000, 300000]: twice is beyond every bound, so no threshold the rollup could evaluate.
    model = unique_model()
    timeline.requests(ago(DAY), 1000, complete_ms=200_000, model=model)
    slow = {t.slo: t for t in read(clickhouse, timeline, Selector(model=model)).thresholds}
    assert slow["latency_p50"].value is None
    assert "twice 300000 ms is above the largest bound" in slow["latency_p50"].reason

    # 999 successful requests in 3 days are too few.
    model = unique_model()
    timeline.requests(ago(DAY), 999, model=model)
    timeline.requests(ago(DAY), 10, status=500, model=model)
    few = read(clickhouse, timeline, Selector(model=model))
    assert [t.value for t in few.thresholds] == [None, None]
    assert few.thresholds[0].reason.startswith("too little traffic to choose from data: 999 successful requests in 3 days")


def test_a_policy_without_an_error_rate_slo_is_refused(clickhouse: Any) -> None:
    latency_only = policy_from_document({**DEFAULT_POLICY, "slos": DEFAULT_POLICY["slos"][1:]})
    with pytest.raises(ValueError, match="no SLO of kind error_rate"):
        read_baseline(clickhouse, latency_only, Selector(model=unique_model()), datetime.now().astimezone())
