"""Where each SLO of each route stands now: burn per tier, state, error budget left, time to exhaustion (pure).

State, most pressing first: `stale` (the data cannot be judged), `incident` (an open incident no silence holds),
`silenced` (an open incident a silence holds back, from the moment the silence is active: also one that paged before
someone silenced it), `burning` (a tier's long window spends the budget faster than sustainable, without tripping),
`ok`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from alerting.incidents.incidents import Incident
from alerting.incidents.silences import Silence
from alerting.rules.burn_rate import WindowCount
from alerting.rules.decisions import IncidentKey, read_tier
from alerting.rules.period_cache import Period
from alerting.rules.window_query import WindowCounts
from schemas.alert_policy import AlertPolicy, Dimension


@dataclass(frozen=True)
class TierBurn:
    tier: str
    severity: str
    threshold: float
    burn_long: float
    burn_short: float
    trips: bool


@dataclass(frozen=True)
class SloStatus:
    slo: str
    dimension: Dimension
    state: str
    objective: str
    period: WindowCount
    budget_left: float | None
    """1 − (bad share over the period) / (the budget); negative when overspent; None without traffic."""
    exhausted_in_hours: float | None
    """At the burn of the longest tier's long window; None when it does not burn."""
    tiers: tuple[TierBurn, ...]
    incident_id: str | None
    seen_since: datetime | None = None
    """The route's first minute with requests within the period: `budget_left` judges only the time since."""

    def as_dict(self) -> dict[str, Any]:
        provider, model, client = self.dimension
        return {
            "slo": self.slo, "provider": provider, "model": model, "client": client, "state": self.state,
            "objective": self.objective, "period_bad": self.period.bad, "period_total": self.period.total,
            "budget_left": self.budget_left, "exhausted_in_hours": self.exhausted_in_hours,
            "tiers": [vars(t) for t in self.tiers], "incident_id": self.incident_id,
            "seen_since": self.seen_since.isoformat() if self.seen_since else None,
        }

    def seen_words(self, end: datetime, period_days: int) -> str | None:
        return seen_words(self.seen_since, end, period_days)


def seen_words(seen_since: datetime | None, end: datetime, period_days: int) -> str | None:
    """"over the 2 h seen of 30 days" when a route's requests cover less than half the period (its budget left then
    speaks of that time only), else None."""
    if seen_since is None or end - seen_since >= timedelta(days=period_days) * PARTIAL:
        return None
    return f"over the {span_words(end - seen_since)} seen of {period_days} days"


PARTIAL = 0.5
"""A route seen for less than this share of the SLO period gets its budget left said with how much it has seen."""


def span_words(span: timedelta) -> str:
    """A span as people say it: 50 min, 2 h, 3.5 h, 4 days."""
    minutes = max(1, round(span.total_seconds() / 60))
    if minutes < 90:
        return f"{minutes} min"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.1f}".removesuffix(".0") + " h" if hours < 10 else f"{round(hours)} h"
    days = hours / 24
    return f"{days:.1f}".removesuffix(".0") + " days" if days < 10 else f"{round(days)} days"


def statuses(policy: AlertPolicy, end: datetime, now: dict[Dimension, WindowCounts],
             period: Period, incidents: dict[IncidentKey, Incident],
             silences: list[Silence], stale: bool, asked_at: datetime | None = None) -> list[SloStatus]:
    """Every evaluated SLO of every route seen now or over the period, least budget left first; silences are judged
    at `asked_at` (default `end`), so that a silence made a moment ago holds already."""
    found = []
    for dimension in sorted(set(now) | set(period.counts)):
        counted = _sources(policy, dimension, now.get(dimension), period.counts.get(dimension, {}))
        for declared in policy.slos:
            resolved = policy.resolve(declared.name, dimension)
            if resolved is None or not resolved.enabled or declared.source not in counted:
                continue
            spec = resolved.spec
            tiers = []
            for window in spec.windows:
                reading = read_tier(spec, window, dimension, end, now.get(dimension))
                tiers.append(TierBurn(window.name, window.severity, float(window.burn_rate), float(reading.burn_long),
                                      float(reading.burn_short), reading.trips()))
            spent = period.counts.get(dimension, {}).get(declared.name, WindowCount(0, 0))
            left = None if not spent.total else float(1 - Fraction(spent.bad, spent.total) / spec.budget)
            longest = max(tiers, key=lambda t: next(w.long_minutes for w in spec.windows if w.name == t.tier))
            hours = None
            if left is not None and longest.burn_long > 0:
                hours = max(0.0, left) * policy.period_days * 24 / longest.burn_long
            keys = [(severity, declared.name, *dimension) for severity in ("page", "ticket")]
            open_incident = next((incidents[k] for k in keys if k in incidents and incidents[k].open), None)
            state = _state(stale, open_incident, silences, asked_at or end, tiers)
            found.append(SloStatus(declared.name, dimension, state, str(spec.objective), spent, left, hours, tuple(tiers),
                                   open_incident.id if open_incident else None, period.first_seen.get(dimension)))
    return sorted(found, key=lambda s: (s.budget_left is None, s.budget_left if s.budget_left is not None else 0.0,
                                        s.slo, s.dimension))


def _sources(policy: AlertPolicy, dimension: Dimension, now: WindowCounts | None,
             spent: dict[str, WindowCount]) -> set[str]:
    """What a route is: requests, sessions or tool calls (whichever its SLOs counted any of, now or over the period).
    A route of sessions has no request SLOs to show, nor a route of requests session ones."""
    found = {name for name, count in spent.items() if count.total}
    if now is not None:
        found |= {name for (name, _), count in now.counts.items() if count.total}
    return {slo.source for slo in policy.slos if slo.name in found}


def _state(stale: bool, incident: Incident | None, silences: list[Silence], at: datetime, tiers: list[TierBurn]) -> str:
    if stale:
        return "stale"
    if incident is not None:
        held = any(s.active(at) and s.matches(incident.key) for s in silences)
        return "silenced" if held else "incident"
    return "burning" if any(t.burn_long >= 1 for t in tiers) else "ok"


def period_start(end: datetime, policy: AlertPolicy) -> datetime:
    return end - timedelta(days=policy.period_days)
