"""A route's baseline as its page shows it (pure): error rates over the last days and the SLO values they suggest."""

from __future__ import annotations

from dataclasses import dataclass

from alerting.policy.baseline import Baseline, ThresholdSuggestion
from api.pages import formats
from schemas.latency_measures import tokens_per_second


@dataclass(frozen=True)
class BaselineRow:
    over: str
    requests: str
    errors: str
    rate: str


@dataclass(frozen=True)
class Suggestion:
    name: str
    text: str
    reason: str


def baseline_rows(baseline: Baseline) -> tuple[BaselineRow, ...]:
    return tuple(BaselineRow(f"{p.days}d", formats.count(p.requests), formats.count(p.errors),
                             formats.pct(None if p.rate is None else float(p.rate), 3)) for p in baseline.errors)


def suggestions(baseline: Baseline) -> tuple[Suggestion, tuple[Suggestion, ...]]:
    """(the error-rate SLO's objective, a latency threshold per percentile SLO)."""
    value = baseline.objective.value
    objective = Suggestion("objective", "none" if value is None else str(float(value)), baseline.objective.reason)
    thresholds = tuple(Suggestion(t.slo, _threshold_text(t), t.reason) for t in baseline.thresholds)
    return objective, thresholds


def _threshold_text(t: ThresholdSuggestion) -> str:
    """'p50 of time per output token now 50 ms (20 tokens/s), threshold 40 ms (25 tokens/s)'."""
    def said(value: int | None) -> str:
        speed = f" ({formats.speed(tokens_per_second(value))})" if t.measure.per_token and value is not None else ""
        return formats.ms(value) + speed

    return f"p{float(t.percentile):g} of {t.measure.words} now {said(t.current_ms)}, threshold {said(t.value)}"
