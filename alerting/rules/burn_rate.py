"""Burn-rate math, exact: integer counts and rational thresholds, never a float comparison."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from schemas.noise import significant


@dataclass(frozen=True)
class WindowCount:
    """Bad and total units of one window: requests, or for per-minute SLOs, judged minutes."""

    bad: int
    total: int

    def fraction(self) -> Fraction:
        return Fraction(self.bad, self.total) if self.total else Fraction(0)


@dataclass(frozen=True)
class Gates:
    """What a tier needs besides its burn rate: enough traffic, enough bad events, and more than chance."""

    min_total: int
    min_bad: int = 1
    noise_alpha: float = 1.0


def burn_rate(count: WindowCount, budget: Fraction) -> Fraction:
    """How many times faster than sustainable the window spends the error budget."""
    return count.fraction() / budget


def reaches(bad: int, total: int, budget: Fraction, threshold: Fraction) -> bool:
    """bad / total >= threshold × budget, decided in integers (an empty window never reaches it)."""
    limit = threshold * budget
    return total > 0 and bad * limit.denominator >= limit.numerator * total


def window_trips(count: WindowCount, budget: Fraction, threshold: Fraction, min_total: int) -> bool:
    """The window reaches the threshold with enough traffic to be judged."""
    return count.total >= min_total and reaches(count.bad, count.total, budget, threshold)


def tier_trips(long: WindowCount, short: WindowCount, budget: Fraction, threshold: Fraction, gates: Gates) -> bool:
    """Both windows reach the threshold, the long one holds `min_bad` bad units, and chance cannot explain them."""
    return (
        window_trips(long, budget, threshold, gates.min_total)
        and window_trips(short, budget, threshold, gates.min_total)
        and long.bad >= gates.min_bad
        and significant(long.bad, long.total, float(budget), gates.noise_alpha)
    )


def percentile_exceeds(over: int, total: int, quantile: Fraction) -> bool:
    """Whether the nearest-rank q-quantile of `total` latencies is above T, given `over` of them are above T.

    pN > T exactly when fewer than q·n latencies are at or below T, that is when over > (1 − q)·n.
    """
    rest = 1 - quantile
    return total > 0 and over * rest.denominator > rest.numerator * total
