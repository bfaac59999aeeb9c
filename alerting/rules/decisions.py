"""Which tiers trip, with what severity: pure decisions from window counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from alerting.rules.burn_rate import Gates, WindowCount, burn_rate, tier_trips
from alerting.rules.window_query import EMPTY, WindowCounts
from schemas.alert_policy import AlertPolicy, Dimension
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


def find_trips(
    policy: AlertPolicy, end: datetime, by_dimension: dict[Dimension, WindowCounts],
    page_eligible: Callable[[str, str], bool],
) -> list[Trip]:
    """Every tripping tier of each route's effective SLOs; a page tier of a route that may not page becomes a ticket.

    In order: pages before tickets, faster burns first, then the SLOs in declared order (the seed's order), then routes.
    """
    order = {slo.name: i for i, slo in enumerate(policy.slos)}
    found: list[tuple[tuple[object, ...], Trip]] = []
    for dimension in sorted(by_dimension):
        _, model, client = dimension
        for declared in policy.slos:
            resolved = policy.resolve(declared.name, dimension)
            if resolved is None or not resolved.enabled:
                continue
            for index, window in enumerate(resolved.spec.windows):
                reading = read_tier(resolved.spec, window, dimension, end, by_dimension[dimension])
                if not reading.trips():
                    continue
                may_page = resolved.page if resolved.page is not None else page_eligible(client, model)
                downgraded = window.severity == "page" and not may_page
                rank = (window.severity != "page", -window.threshold, order[declared.name], index, dimension)
                found.append((rank, Trip(reading, "ticket" if downgraded else window.severity, downgraded)))
    return [trip for _, trip in sorted(found, key=lambda f: f[0])]
