"""Which tiers trip, with what severity: pure decisions from window counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from alerting.burn_rate import Gates, WindowCount, burn_rate, tier_trips
from alerting.window_query import EMPTY, Dimension, WindowCounts
from schemas.alert_policy import AlertPolicy
from schemas.slo_spec import BurnWindow, Severity, SloSpec

IncidentKey = tuple[str, str, str, str, str]
"""(severity, slo, provider, model, client): the seed's dedup key order."""


@dataclass(frozen=True)
class TierReading:
    """One SLO tier for one dimension at one window end: both windows' counts, and the long window's details."""

    slo: SloSpec
    window: BurnWindow
    dimension: Dimension
    end: datetime
    counts: WindowCounts

    @property
    def long(self) -> WindowCount:
        return self.counts.counts.get((self.slo.name, self.window.long_minutes), WindowCount(0, 0))

    @property
    def short(self) -> WindowCount:
        return self.counts.counts.get((self.slo.name, self.window.short_minutes), WindowCount(0, 0))

    @property
    def burn_long(self) -> Fraction:
        return burn_rate(self.long, self.slo.budget)

    @property
    def burn_short(self) -> Fraction:
        return burn_rate(self.short, self.slo.budget)

    @property
    def first_bad_minute(self) -> datetime:
        """Where the trouble began: the first minute of the long window that alone burned at the tier's rate."""
        found = self.counts.first_bad.get((self.slo.name, self.window.name))
        return found or self.end - timedelta(minutes=self.window.short_minutes)

    def gates(self) -> Gates:
        return Gates(self.slo.gate_for_window(), self.slo.min_bad_events, self.slo.noise_alpha)

    def trips(self) -> bool:
        return tier_trips(self.long, self.short, self.slo.budget, self.window.threshold, self.gates())


@dataclass(frozen=True)
class Trip:
    reading: TierReading
    severity: Severity
    downgraded: bool

    @property
    def key(self) -> IncidentKey:
        provider, model, client = self.reading.dimension
        return (self.severity, self.reading.slo.name, provider, model, client)


def read_tier(slo: SloSpec, window: BurnWindow, dimension: Dimension, end: datetime, counts: WindowCounts | None) -> TierReading:
    return TierReading(slo, window, dimension, end, counts or EMPTY)


def tiers_in_order(policy: AlertPolicy) -> list[tuple[SloSpec, BurnWindow]]:
    """Pages before tickets, faster burns first, then the SLOs in declared order (the seed's order)."""
    tiers = [(slo, w) for slo in policy.slos for w in slo.windows]
    order = {slo.name: i for i, slo in enumerate(policy.slos)}
    return sorted(tiers, key=lambda t: (t[1].severity != "page", -t[1].threshold, order[t[0].name]))


def find_trips(
    policy: AlertPolicy, end: datetime, by_dimension: dict[Dimension, WindowCounts],
    page_eligible: Callable[[str, str], bool],
) -> list[Trip]:
    """Every tripping tier; a page tier of a client or model that may not page becomes a ticket."""
    trips: list[Trip] = []
    for slo, window in tiers_in_order(policy):
        for dimension in sorted(by_dimension):
            reading = read_tier(slo, window, dimension, end, by_dimension[dimension])
            if not reading.trips():
                continue
            _, model, client = dimension
            downgraded = window.severity == "page" and not page_eligible(client, model)
            trips.append(Trip(reading, "ticket" if downgraded else window.severity, downgraded))
    return trips
