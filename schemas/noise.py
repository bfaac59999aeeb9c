"""The noise gate's statistics: could a route that exactly meets its objective show this many bad events by luck?"""

from __future__ import annotations

from math import exp, lgamma, log, log1p


def significant(bad: int, total: int, budget: float, alpha: float) -> bool:
    """True when P(Binomial(total, budget) >= bad) <= alpha: `bad` is unlikely to be chance at the objective.

    `alpha` >= 1 turns the gate off. At or below the expected count nothing is significant.
    """
    if alpha >= 1:
        return True
    if bad <= 0 or bad <= total * budget:
        return False
    if budget <= 0:
        return True
    if budget >= 1 or bad > total:
        return False
    return _upper_tail(bad, total, budget) <= alpha


def _upper_tail(k: int, n: int, p: float) -> float:
    """Sum of the binomial terms from k up, in log space for the first term, then by the ratio of neighbours."""
    log_term = lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * log(p) + (n - k) * log1p(-p)
    term = exp(log_term)
    total = term
    odds = p / (1 - p)
    i = k
    while i < n and term > 0:
        ratio = (n - i) / (i + 1) * odds
        term *= ratio
        total += term
        i += 1
        if ratio < 1 and term * ratio / (1 - ratio) <= total * 1e-12:
            break
    return total
