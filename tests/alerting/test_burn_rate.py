"""Burn-rate math: exact at the threshold, gated by traffic, bad events and chance, consistent with its definitions."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.rules.burn_rate import Gates, WindowCount, burn_rate, percentile_exceeds, tier_trips, window_trips
from schemas.noise import significant

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
    gates = Gates(10)
    assert tier_trips(hot, hot, BUDGET, Fraction("14.4"), gates)
    assert not tier_trips(hot, cold, BUDGET, Fraction("14.4"), gates)
    assert not tier_trips(cold, hot, BUDGET, Fraction("14.4"), gates)


@pytest.mark.parametrize(
    "long, short, trips",
    [
        ((1, 430), (1, 30), False),       # one failure of 430 over six hours: never a ticket
        ((4, 430), (1, 30), False),       # four are still fewer than min_bad_events
        ((5, 430), (1, 30), True),        # five, and far more than chance allows
        ((9, 7200), (1, 600), False),     # 0.125 % of 7,200: above 1x, but a 0.1 % route shows 9 by chance
        ((18, 7200), (2, 600), True),     # 18 of 7,200: chance at the objective is below 1 in 1,000
    ],
    ids=lambda v: str(v),
)
def test_the_ticket_tier_needs_enough_bad_events_and_more_than_chance(
    long: tuple[int, int], short: tuple[int, int], trips: bool
) -> None:
    gates = Gates(10, min_bad=5, noise_alpha=0.001)
    assert tier_trips(WindowCount(*long), WindowCount(*short), BUDGET, Fraction(1), gates) is trips


def exact_tail(k: int, n: int, p: Fraction) -> Fraction:
    return sum((comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)), Fraction(0))


@given(
    k=st.integers(0, 60),
    n=st.integers(1, 60),
    p=st.fractions(Fraction(1, 1000), Fraction(1, 2)),
    alpha=st.sampled_from([0.1, 0.01, 0.001, 1e-6]),
)
def test_the_noise_gate_is_the_binomial_tail(k: int, n: int, p: Fraction, alpha: float) -> None:
    if k > n or k <= n * p:
        assert not significant(k, n, float(p), alpha)
        return
    tail = float(exact_tail(k, n, p))
    if abs(tail - alpha) > alpha * 1e-6:  # away from the edge, the float sum must agree with the exact one
        assert significant(k, n, float(p), alpha) is (tail <= alpha)


@given(k=st.integers(0, 2000), n=st.integers(1, 2000))
def test_more_bad_events_never_make_the_gate_less_sure(k: int, n: int) -> None:
    if k < n and significant(k, n, 0.001, 0.001):
        assert significant(k + 1, n, 0.001, 0.001)


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


def nearest_rank(values: list[int], quantile: Fraction) -> int:
    """The textbook nearest-rank percentile: the ceil(q·n)-th smallest value."""
    rank = -(-quantile.numerator * len(values) // quantile.denominator)
    return sorted(values)[max(rank, 1) - 1]


@given(
    values=st.lists(st.integers(0, 60_000), min_size=1, max_size=200),
    threshold=st.integers(0, 60_000),
    percentile=st.sampled_from([50, 90, 95, 99, Fraction(999, 10)]),
)
def test_a_minute_is_bad_exactly_when_its_percentile_exceeds_the_threshold(
    values: list[int], threshold: int, percentile: int | Fraction
) -> None:
    quantile = Fraction(percentile) / 100
    over = sum(1 for v in values if v > threshold)
    assert percentile_exceeds(over, len(values), quantile) is (nearest_rank(values, quantile) > threshold)
