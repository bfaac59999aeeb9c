"""Which tiers trip, with what severity: pure decisions from window counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from alerting.burn_rate import WindowCount, burn_rate, window_trips
from alerting.window_query import Dimension, WindowCounts
from schemas.slo_spec import AlertPolicy, BurnWindow, Severity, SloSpec


@dataclass(frozen=True)
class TierReading:
    """One SLO tier for one dimension: both windows' counts and burn rates."""

    slo: SloSpec
    window: BurnWindow
    dimension: Dimension
    long: WindowCount
    short: WindowCount
    percentiles: tuple[float, float] | None

    @property
    def burn_long(self) -> Fraction:
        return burn_rate(self.long, self.slo.budget)

    @property
    def burn_short(self) -> Fraction:
        return burn_rate(self.short, self.slo.budget)

    def long_trips(self) -> bool:
        return window_trips(self.long, self.slo.budget, self.window.threshold, self.slo.min_requests)

    def short_trips(self) -> bool:
        return window_trips(self.short, self.slo.budget, self.window.threshold, self.slo.min_requests)

    def trips(self) -> bool:
        return self.long_trips() and self.short_trips()

    def recovered(self) -> bool:
        """Below threshold in both windows (too little traffic counts as below)."""
        return not self.long_trips() and not self.short_trips()


@dataclass(frozen=True)
class Trip:
    reading: TierReading
    severity: Severity
    downgraded: bool

    @property
    def key(self) -> tuple[Severity, str, str, str, str]:
        provider, model, client = self.reading.dimension
        return (self.severity, self.reading.slo.name, provider, model, client)


def read_tier(slo: SloSpec, window: BurnWindow, dimension: Dimension, counts: WindowCounts) -> TierReading:
    return TierReading(
        slo, window, dimension,
        counts.counts.get((slo.name, window.long_minutes), WindowCount(0, 0)),
        counts.counts.get((slo.name, window.short_minutes), WindowCount(0, 0)),
        counts.percentiles.get((slo.name, window.long_minutes)),
    )


def tiers_in_order(policy: AlertPolicy) -> list[tuple[SloSpec, BurnWindow]]:
    """Pages before tickets, faster burns first, then the SLOs in declared order (the seed's order)."""
    tiers = [(slo, w) for slo in policy.slos for w in slo.windows]
    order = {slo.name: i for i, slo in enumerate(policy.slos)}
    return sorted(tiers, key=lambda t: (t[1].severity != "page", -t[1].threshold, order[t[0].name]))


def find_trips(
    policy: AlertPolicy, by_dimension: dict[Dimension, WindowCounts], page_eligible: Callable[[str, str], bool]
) -> list[Trip]:
    trips: list[Trip] = []
    for slo, window in tiers_in_order(policy):
        for dimension in sorted(by_dimension):
            reading = read_tier(slo, window, dimension, by_dimension[dimension])
            if not reading.trips():
                continue
            provider, model, client = dimension
            severity: Severity = window.severity
            downgraded = severity == "page" and not page_eligible(client, model)
            trips.append(Trip(reading, "ticket" if downgraded else severity, downgraded))
    return trips
