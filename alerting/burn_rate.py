"""Burn-rate math, exact: integer counts and rational thresholds, never a float comparison."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class WindowCount:
    bad: int
    total: int

    def fraction(self) -> Fraction:
        return Fraction(self.bad, self.total) if self.total else Fraction(0)


def burn_rate(count: WindowCount, budget: Fraction) -> Fraction:
    """How many times faster than sustainable the window spends the error budget."""
    return count.fraction() / budget


def window_trips(count: WindowCount, budget: Fraction, threshold: Fraction, min_requests: int) -> bool:
    """bad / total >= threshold × budget, decided in integers; too little traffic never trips."""
    if count.total < min_requests:
        return False
    limit = threshold * budget
    return count.bad * limit.denominator >= limit.numerator * count.total


def tier_trips(long: WindowCount, short: WindowCount, budget: Fraction, threshold: Fraction, min_requests: int) -> bool:
    """A multi-window tier fires only when both windows reach the threshold with enough traffic."""
    return window_trips(long, budget, threshold, min_requests) and window_trips(short, budget, threshold, min_requests)
