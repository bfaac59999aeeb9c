"""What a route's traffic looked like over the last days, read from the per-minute rollup, and the SLO values it suggests.

One query returns a selection's requests and errors over the last 1, 3 and 7 days and, over the last 3 days, the
rollup's exact counts of successful requests over each bound of each latency measure (`baseline_latency`).
Percentiles are located between two bounds from those counts (never estimated), and the suggestions follow fixed
rules written out in each reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from alerting.policy.baseline_latency import (
    LATENCY_DAYS,
    METHOD,
    MIN_REQUESTS,
    LatencyBaseline,
    PercentileRange,
    ThresholdSuggestion,
    latency_columns,
    latency_name,
    read_latencies,
    suggest_threshold,
)
from alerting.policy.baseline_words import baseline_words
from alerting.rules.message_words import pct
from alerting.rules.window_query import window_end
from runtime.clickhouse import ClickHouseClient
from schemas.alert_policy import AlertPolicy
from schemas.latency_measures import LATENCY_BOUNDS_MS
from schemas.slo_spec import SloSpec
from storage.events import API_METRICS_1M

__all__ = ["Baseline", "LatencyBaseline", "PercentileRange", "Selector", "ThresholdSuggestion", "build_baseline",
           "read_baseline"]

PERIOD_DAYS: tuple[int, ...] = (1, 3, 7)
"""Error rates are reported over each of these many days before the window end."""

OBJECTIVES: tuple[Decimal, ...] = tuple(Decimal(o) for o in ("0.9999", "0.9995", "0.999", "0.995", "0.99", "0.98", "0.95", "0.9"))
"""Objectives an error-rate suggestion chooses from, strictest first."""


@dataclass(frozen=True)
class Selector:
    """Which rollup rows count: one resolved model, optionally one provider and one client (exact names; None: all)."""

    model: str
    provider: str | None = None
    client: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "provider": self.provider, "client": self.client}

    def words(self) -> str:
        parts = [f"model {self.model}"]
        parts += [
            f"{name} {value}" for name, value in (("provider", self.provider), ("client", self.client)) if value is not None
        ]
        return ", ".join(parts)


@dataclass(frozen=True)
class PeriodErrors:
    """Requests and errors over the `days` days before the window end."""

    days: int
    requests: int
    errors: int

    @property
    def rate(self) -> Fraction | None:
        """Errors per request, exact; None when there were no requests."""
        return Fraction(self.errors, self.requests) if self.requests else None


@dataclass(frozen=True)
class ObjectiveSuggestion:
    """An objective for the error-rate SLO, or None; `reason` says why."""

    value: Decimal | None
    reason: str


@dataclass(frozen=True)
class Baseline:
    """A selection's error rates and latency over the last days, and the SLO values they suggest."""

    selector: Selector
    end: datetime
    error_slo: str
    include_byok: bool
    errors: tuple[PeriodErrors, ...]
    latency: dict[str, LatencyBaseline]
    objective: ObjectiveSuggestion
    thresholds: tuple[ThresholdSuggestion, ...]

    def period(self, days: int) -> PeriodErrors:
        return next(p for p in self.errors if p.days == days)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: rates and objectives as floats, null where there was no traffic, times in ISO-8601."""
        return {
            "selector": self.selector.as_dict(),
            "end": self.end.isoformat(),
            "error_slo": self.error_slo,
            "include_byok": self.include_byok,
            "error_rate": {
                f"{p.days}d": {
                    "start": (self.end - timedelta(days=p.days)).isoformat(),
                    "requests": p.requests,
                    "errors": p.errors,
                    "rate": _float(p.rate),
                }
                for p in self.errors
            },
            "latency": {
                "days": LATENCY_DAYS,
                "start": (self.end - timedelta(days=LATENCY_DAYS)).isoformat(),
                "statuses": "success",
                "method": METHOD,
                "bounds_ms": list(LATENCY_BOUNDS_MS),
                **{name: latency.as_dict() for name, latency in self.latency.items()},
            },
            "suggestions": {
                "objective": {"value": _float(self.objective.value), "reason": self.objective.reason},
                "thresholds": {t.slo: t.as_dict() for t in self.thresholds},
            },
        }

    def describe(self) -> str:
        """A few lines of plain text for a terminal."""
        return baseline_words(self.as_dict())


def _float(value: Fraction | Decimal | None) -> float | None:
    return None if value is None else float(value)


def _status_predicate(slo: SloSpec) -> str:
    """SQL for the SLO's error statuses; the ranges are validated integers, never user text."""
    ranges = slo.status_ranges()
    if not ranges:
        return "false"
    return "(" + " OR ".join(f"status_code BETWEEN {int(low):d} AND {int(high):d}" for low, high in ranges) + ")"


def _since(days: int) -> str:
    return f"minute >= {{end:DateTime}} - INTERVAL {int(days):d} DAY"


def baseline_sql(selector: Selector, error_slo: SloSpec) -> tuple[str, dict[str, Any]]:
    """One query over the rollup returning one row; the caller binds `end` (DateTime, exclusive) besides the parameters
    returned, which hold the selector's names."""
    parameters: dict[str, Any] = {"model": selector.model}
    where = ["resolved_model = {model:String}"]
    if selector.provider is not None:
        parameters["provider"] = selector.provider
        where.append("provider = {provider:String}")
    if selector.client is not None:
        parameters["client"] = selector.client
        where.append("client_name = {client:String}")
    where += [_since(max(PERIOD_DAYS)), "minute < {end:DateTime}"]
    byok = [] if error_slo.include_byok else ["NOT user_byok"]
    bad = _status_predicate(error_slo)
    columns = []
    for days in PERIOD_DAYS:
        counted = " AND ".join([_since(days), *byok])
        columns += [
            f"toUInt64(sumIf(requests, {counted})) AS requests_{days}d",
            f"toUInt64(sumIf(requests, {counted} AND {bad})) AS errors_{days}d",
        ]
    columns += latency_columns(f"{_since(LATENCY_DAYS)} AND status_code < 400")
    sql = "SELECT\n    " + ",\n    ".join(columns) + f"\nFROM {API_METRICS_1M}\nWHERE " + "\n  AND ".join(where)
    return sql, parameters


def suggest_objective(errors: tuple[PeriodErrors, ...]) -> ObjectiveSuggestion:
    """The strictest objective whose budget is at least twice the worst error rate: normal traffic burns at most half."""
    longest = max(errors, key=lambda p: p.days)
    if longest.requests < MIN_REQUESTS:
        return ObjectiveSuggestion(
            None,
            f"too little traffic to choose from data: {longest.requests:,} requests in {longest.days} days "
            f"(at least {MIN_REQUESTS:,} needed)",
        )
    rated = [(rate, p.days) for p in errors if (rate := p.rate) is not None]
    worst, days = max(rated)
    said = f"the worst error rate ({days} day{'s' if days != 1 else ''}) {pct(worst)}"
    for objective in OBJECTIVES:
        budget = 1 - Fraction(objective)
        if budget >= 2 * worst:
            return ObjectiveSuggestion(objective, f"{said} would use {pct(worst / budget)} of a {pct(budget)} budget")
    loosest = 1 - Fraction(OBJECTIVES[-1])
    return ObjectiveSuggestion(
        None,
        f"{said} is more than half of even a {pct(loosest)} budget (objective {OBJECTIVES[-1]}): fix the errors first",
    )


def build_baseline(policy: AlertPolicy, selector: Selector, end: datetime, values: dict[str, Any]) -> Baseline:
    """The baseline from the query's row (column name to value)."""
    error_slo = _error_slo(policy)
    errors = tuple(PeriodErrors(d, int(values[f"requests_{d}d"]), int(values[f"errors_{d}d"])) for d in PERIOD_DAYS)
    judged = [slo for slo in policy.slos if slo.kind == "latency_percentile" and slo.latency is not None]
    latency = read_latencies((slo.latency.measure for slo in judged if slo.latency is not None), values)
    thresholds = tuple(suggest_threshold(slo, latency.get(latency_name(slo.latency.measure)))
                       for slo in judged if slo.latency is not None)
    return Baseline(selector, end, error_slo.name, error_slo.include_byok, errors, latency, suggest_objective(errors), thresholds)


def _error_slo(policy: AlertPolicy) -> SloSpec:
    slo = next((s for s in policy.slos if s.kind == "error_rate"), None)
    if slo is None:
        raise ValueError("the policy has no SLO of kind error_rate: a baseline needs its error statuses")
    return slo


def read_baseline(client: ClickHouseClient, policy: AlertPolicy, selector: Selector, now: datetime) -> Baseline:
    """The selection's baseline for windows ending at the start of `now`'s minute, in one query."""
    end = window_end(now)
    sql, parameters = baseline_sql(selector, _error_slo(policy))
    result = client.query(sql, parameters={**parameters, "end": end})
    values = dict(zip(result.column_names, result.result_rows[0], strict=True))
    return build_baseline(policy, selector, end, values)
