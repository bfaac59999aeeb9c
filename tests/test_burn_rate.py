"""Burn-rate math: exact at the threshold, gated by traffic, and consistent with its definition."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from alerting.burn_rate import WindowCount, burn_rate, tier_trips, window_trips

BUDGET = Fraction(1, 1000)  # objective 0.999


@pytest.mark.parametrize(
    "bad, total, threshold, trips",
    [
        (144, 10_000, "14.4", True),    # 0.0144 exactly: the seed's float math missed this one
        (143, 10_000, "14.4", False),
        (6, 1000, "6", True),           # 0.006 exactly
        (1, 1000, "1", True),           # 0.001 exactly
        (0, 1000, "1", False),
        (15, 100, "14.4", True),        # 15 % errors
        (10, 10, "14.4", True),         # every request failed, at the traffic gate
        (9, 9, "14.4", False),          # below the traffic gate: never alerts
    ],
    ids=lambda v: str(v),
)
def test_a_window_trips_exactly_at_its_threshold(bad: int, total: int, threshold: str, trips: bool) -> None:
    assert window_trips(WindowCount(bad, total), BUDGET, Fraction(threshold), 10) is trips


def test_burn_rate_is_exact() -> None:
    assert burn_rate(WindowCount(144, 10_000), BUDGET) == Fraction("14.4")
    assert burn_rate(WindowCount(0, 0), BUDGET) == 0


def test_a_tier_needs_both_windows() -> None:
    hot, cold = WindowCount(20, 100), WindowCount(0, 100)
    assert tier_trips(hot, hot, BUDGET, Fraction("14.4"), 10)
    assert not tier_trips(hot, cold, BUDGET, Fraction("14.4"), 10)
    assert not tier_trips(cold, hot, BUDGET, Fraction("14.4"), 10)


counts = st.integers(min_value=0, max_value=10**7)


@given(bad=counts, extra=counts, threshold=st.fractions(min_value=Fraction(1, 100), max_value=1000))
def test_tripping_agrees_with_the_burn_rate_definition(bad: int, extra: int, threshold: Fraction) -> None:
    count = WindowCount(bad, bad + extra)
    expected = count.total >= 10 and burn_rate(count, BUDGET) >= threshold
    assert window_trips(count, BUDGET, threshold, 10) is expected


@given(bad=counts, extra=counts)
def test_more_bad_requests_never_untrip(bad: int, extra: int) -> None:
    before = window_trips(WindowCount(bad, bad + extra + 10), BUDGET, Fraction("6"), 10)
    after = window_trips(WindowCount(bad + 1, bad + extra + 10), BUDGET, Fraction("6"), 10)
    assert after or not before
