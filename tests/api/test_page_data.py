"""What the pages read: the overview's hourly counts keep settled hours and re-read the rest; a route's latency."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from alerting.rules.period_cache import floor_to
from api.pages.data import HourlyCounts, route_latency, slo_counts
from schemas.alert_policy import default_policy
from support.timeline import Timeline


def test_settled_hours_are_read_once_and_the_current_hour_every_time(clickhouse: Any) -> None:
    model = f"hourly-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    first_hour = floor_to(timeline.base, 3600)
    minute = int((first_hour + timedelta(hours=1) - timeline.base).total_seconds() // 60)  # the first minute of hour 2
    timeline.traffic(0, minute + 10, 10, 0.5, model=model)
    end = first_hour + timedelta(hours=2)
    route = ("openai", model, "kilo-gateway")
    cache, policy = HourlyCounts(), default_policy()

    counts = cache.read(clickhouse, policy, first_hour, end, settled_before=first_hour + timedelta(hours=1))
    expected = slo_counts(clickhouse, policy, first_hour, end, 3600).counts[("error_rate", route)]
    assert counts.counts[("error_rate", route)] == expected and len(expected) == 2

    timeline.requests(minute - 5, 7, status=500, model=model)  # late rows in the settled hour
    timeline.requests(minute + 5, 3, status=500, model=model)  # and in the current one
    again = cache.read(clickhouse, policy, first_hour, end, settled_before=first_hour + timedelta(hours=1))
    (t1, b1), (t2, b2) = (again.counts[("error_rate", route)][h] for h in (first_hour, first_hour + timedelta(hours=1)))
    assert (t1, b1) == expected[first_hour], "a settled hour is not read again"
    assert (t2, b2) == (expected[first_hour + timedelta(hours=1)][0] + 3, expected[first_hour + timedelta(hours=1)][1] + 3)


def test_a_routes_latency_has_time_to_first_token_and_time_per_output_token_of_streamed_answers(clickhouse: Any) -> None:
    model = f"speed-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    # Minute 0: streamed answers of 101 tokens, 2 s of generation (20 ms per token), and answers not streamed.
    timeline.requests(0, 30, ttfb_ms=700, complete_ms=2700, output_tokens=101, model=model)
    timeline.requests(0, 30, ttfb_ms=9000, complete_ms=9500, output_tokens=101, streaming=False, model=model)
    timeline.requests(0, 5, status=500, ttfb_ms=60_000, complete_ms=60_000, output_tokens=101, model=model)
    # Minute 1: only answers not streamed: no time to first token, no time per output token.
    timeline.requests(1, 30, ttfb_ms=9000, complete_ms=9500, output_tokens=101, streaming=False, model=model)
    # Minute 2: streamed answers of 8 tokens: a time to first token, too few tokens for a time per output token.
    timeline.requests(2, 30, ttfb_ms=400, complete_ms=1100, output_tokens=8, model=model)
    first = floor_to(timeline.base, 60)

    found = route_latency(clickhouse, ("openai", model, "kilo-gateway"), first, first + timedelta(minutes=3), 60)
    at = [first + timedelta(minutes=m) for m in range(3)]
    assert found["ttft_ms"] == {at[0]: {"p50": 700.0, "p90": 700.0, "p99": 700.0},
                                at[2]: {"p50": 400.0, "p90": 400.0, "p99": 400.0}}
    assert found["tpot_ms"] == {at[0]: {"p50": 20.0, "p90": 20.0, "p99": 20.0}}
    assert found["ttfb_ms"][at[1]] == {"p50": 9000.0, "p90": 9000.0, "p99": 9000.0}
    assert set(found["complete_ms"]) == set(at)
