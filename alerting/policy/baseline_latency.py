"""A selection's latency over the last days, per measure, from the rollup's exact counts, and the thresholds it suggests (pure).

Each measure (complete time, time to first byte, time to first token, time per output token) is read with its own
counted requests and its own bounds; a percentile SLO's threshold is suggested from the measure that SLO judges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from alerting.rules.burn_rate import percentile_exceeds
from schemas.latency_measures import (
    BUFFERED_TTFB,
    COMPLETE,
    DEFAULT_MIN_OUTPUT_TOKENS,
    MIN_OUTPUT_TOKENS_BOUNDS,
    TPOT_SLOT,
    TTFB,
    TTFT,
    LatencyField,
    Measure,
    tokens_per_second,
    tpot,
)
from schemas.slo_spec import SloSpec

METHOD = (
    "The q-th percentile of n requests lies in (lower_ms, upper_ms], where upper_ms is the smallest bound B of the "
    "measure's bounds (bounds_ms) with count(value > B) <= (1 - q) * n (compared exactly) and lower_ms the bound before "
    "it (0 for the first); upper_ms is null when more than (1 - q) * n requests exceed even the largest bound. Time per "
    "output token is also given as output tokens per second, 1000 / TPOT: its pN is the speed of the slowest "
    "(100 - N) %, in [lower, upper) (upper null: no limit)."
)
"""How the percentiles are computed from the rollup's per-bound counts."""

LATENCY_DAYS = 3
"""Latency percentiles are computed over this many days, on successful requests (status below 400)."""

PERCENTILES: dict[str, Fraction] = {"p50": Fraction(1, 2), "p95": Fraction(95, 100), "p99": Fraction(99, 100)}

MIN_REQUESTS = 1000
"""Fewer requests than this (7 days for the objective, counted ones over 3 days for latency) suggest nothing."""

REPORTED: tuple[Measure, ...] = (COMPLETE, TTFB, TTFT, tpot(DEFAULT_MIN_OUTPUT_TOKENS))
"""The measures every baseline reports; a percentile SLO judging another one (buffered TTFB, another
`min_output_tokens`) adds its own."""

_ON_ROLLUP: tuple[Measure, ...] = (*REPORTED, BUFFERED_TTFB)


def latency_name(measure: Measure) -> str:
    """The measure's key in a baseline's `latency`: complete_ms, ttfb_ms, ttft_ms, buffered_ttfb_ms, tpot_ms."""
    if measure.per_token and measure.min_tokens != DEFAULT_MIN_OUTPUT_TOKENS:
        return f"tpot_ms_min_{measure.min_tokens}"
    return f"{measure.key}_ms"


def counted_words(measure: Measure) -> str:
    """Which requests the measure counts: 'streamed successful requests'."""
    if measure.per_token:
        return f"streamed successful requests with at least {measure.min_tokens} output tokens"
    return {TTFT.where: "streamed successful requests", BUFFERED_TTFB.where: "successful requests not streamed"}.get(
        measure.where, "successful requests")


def latency_columns(ok: str) -> list[str]:
    """SQL columns over the rollup: each measure's counted requests and over-counts, where `ok` (successful requests of
    the latency days)."""
    counts = dict.fromkeys(m.rollup_count for m in _ON_ROLLUP if m.rollup_count)
    arrays = dict.fromkeys(m.rollup_over for m in _ON_ROLLUP)
    return [*(f"toUInt64(sumIf({c}, {ok})) AS ok_{c}" for c in counts),
            *(f"sumForEachMergeIf({a}, {ok}) AS ok_{a}" for a in arrays)]


def _padded(values: Any, length: int) -> tuple[int, ...]:
    counts = [int(v) for v in values or ()]
    return tuple(counts + [0] * (length - len(counts)))


@dataclass(frozen=True)
class PercentileRange:
    """A percentile lies in (lower_ms, upper_ms]; `upper_ms` None: above the largest bound."""

    lower_ms: int
    upper_ms: int | None

    def as_dict(self) -> dict[str, int | None]:
        return {"lower_ms": self.lower_ms, "upper_ms": self.upper_ms}

    def speed(self) -> dict[str, float | None]:
        """As output tokens per second (a time per output token): in [lower, upper); upper None: no limit."""
        return {"lower": 0.0 if self.upper_ms is None else round(tokens_per_second(self.upper_ms), 2),
                "upper": None if self.lower_ms == 0 else round(tokens_per_second(self.lower_ms), 2)}


def percentile_range(over: tuple[int, ...], total: int, quantile: Fraction,
                     bounds: tuple[int, ...] = COMPLETE.bounds) -> PercentileRange | None:
    """Where the `quantile` of `total` values lies, given `over[i]` of them exceed `bounds[i]` (see METHOD)."""
    if total <= 0:
        return None
    for index, bound in enumerate(bounds):
        count = over[index] if index < len(over) else 0
        if not percentile_exceeds(count, total, quantile):
            return PercentileRange(bounds[index - 1] if index else 0, bound)
    return PercentileRange(bounds[-1], None)


@dataclass(frozen=True)
class LatencyBaseline:
    """One measure over LATENCY_DAYS days: the requests it counts and how many exceeded each of its bounds."""

    measure: Measure
    requests: int
    over: tuple[int, ...]

    @property
    def name(self) -> str:
        return latency_name(self.measure)

    def percentile(self, quantile: Fraction) -> PercentileRange | None:
        return percentile_range(self.over, self.requests, quantile, self.measure.bounds)

    @property
    def percentiles(self) -> dict[str, PercentileRange | None]:
        return {name: self.percentile(q) for name, q in PERCENTILES.items()}

    def as_dict(self) -> dict[str, Any]:
        found = self.percentiles
        body: dict[str, Any] = {"requests": self.requests, **{p: None if r is None else r.as_dict() for p, r in found.items()},
                                "measure": self.measure.words, "counted": counted_words(self.measure)}
        if self.measure.per_token:
            body |= {"min_output_tokens": self.measure.min_tokens, "bounds_ms": list(self.measure.bounds),
                     "tokens_per_second": {p: None if r is None else r.speed() for p, r in found.items()}}
        return body


def read_latency(measure: Measure, values: dict[str, Any]) -> LatencyBaseline | None:
    """The measure from the query's row; None when the rollup does not count it (a `min_output_tokens` it has no slot
    for)."""
    if not measure.per_token:
        return LatencyBaseline(measure, int(values[f"ok_{measure.rollup_count}"]),
                               _padded(values[f"ok_{measure.rollup_over}"], len(measure.bounds)))
    slot = measure.slot()
    if slot is None:
        return None
    flat = _padded(values[f"ok_{measure.rollup_over}"], TPOT_SLOT * len(MIN_OUTPUT_TOKENS_BOUNDS))
    start = slot * TPOT_SLOT
    return LatencyBaseline(measure, flat[start], flat[start + 1:start + TPOT_SLOT])


def read_latencies(measures: Iterable[Measure], values: dict[str, Any]) -> dict[str, LatencyBaseline]:
    """The reported measures and `measures` (the policy's), by name; those the rollup does not count left out."""
    found: dict[str, LatencyBaseline] = {}
    for measure in (*REPORTED, *measures):
        latency = read_latency(measure, values)
        if latency is not None:
            found.setdefault(latency.name, latency)
    return found


@dataclass(frozen=True)
class ThresholdSuggestion:
    """A `latency.threshold_ms` for one percentile SLO of the policy, or None; `reason` says why."""

    slo: str
    field: LatencyField
    percentile: Decimal
    current_ms: int
    value: int | None
    reason: str
    measure: Measure

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"field": self.field, "measure": latency_name(self.measure),
                                "percentile": float(self.percentile), "current_ms": self.current_ms,
                                "threshold_ms": self.value, "reason": self.reason}
        if self.measure.per_token:
            body["tokens_per_second"] = {"current": _speed(self.current_ms), "suggested": _speed(self.value)}
        return body


def _speed(ms: int | None) -> float | None:
    return None if ms is None else round(tokens_per_second(ms), 2)


def _speed_words(found: PercentileRange) -> str:
    speed = found.speed()
    lower, upper = speed["lower"], speed["upper"]
    return f"at least {lower:.3g} tokens/s" if upper is None else f"{lower:.3g}–{upper:.3g} tokens/s"


def suggest_threshold(slo: SloSpec, latency: LatencyBaseline | None) -> ThresholdSuggestion:
    """Twice the SLO's percentile, rounded up to a bound of its measure so that the rollup evaluates the SLO exactly."""
    assert slo.latency is not None and slo.latency.percentile is not None
    rule, measure = slo.latency, slo.latency.measure
    p, what = f"p{rule.percentile}", measure.words

    def made(value: int | None, reason: str) -> ThresholdSuggestion:
        assert rule.percentile is not None
        return ThresholdSuggestion(slo.name, rule.field, rule.percentile, rule.threshold_ms, value, reason, measure)

    if latency is None:
        return made(None, f"the rollup counts {what} for min_output_tokens of "
                          f"{', '.join(map(str, MIN_OUTPUT_TOKENS_BOUNDS))} only; {measure.min_tokens} is judged from the "
                          "raw table, which a baseline does not read")
    if latency.requests < MIN_REQUESTS:
        return made(None, f"too little traffic to choose from data: {latency.requests:,} {counted_words(measure)} in "
                          f"{LATENCY_DAYS} days (at least {MIN_REQUESTS:,} needed)")
    found = latency.percentile(rule.quantile)
    assert found is not None
    if found.upper_ms is None:
        return made(None, f"the {LATENCY_DAYS}-day {p} of {what} is above the largest bound, {found.lower_ms} ms")
    twice = 2 * found.upper_ms
    said = f"the {LATENCY_DAYS}-day {p} of {what} is in ({found.lower_ms}, {found.upper_ms}] ms"
    said += f" ({_speed_words(found)})" if measure.per_token else ""
    value = next((b for b in measure.bounds if b >= twice), None)
    if value is None:
        return made(None, f"{said}; twice {found.upper_ms} ms is above the largest bound, {measure.bounds[-1]} ms")
    speed = f" ({tokens_per_second(value):.3g} tokens/s)" if measure.per_token else ""
    return made(value, f"{said}; {value} ms{speed} is the smallest rollup bound at least twice {found.upper_ms} ms")
