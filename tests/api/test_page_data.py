"""What the pages read: the overview's hourly counts keep settled hours and re-read the rest."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from alerting.rules.period_cache import floor_to
from api.pages.data import HourlyCounts, slo_counts
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
