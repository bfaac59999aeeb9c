"""Incidents per (severity, SLO, dimension): open, stay open, resolve, re-open. Pure transitions, time from the tick."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from alerting.rules.burn_rate import WindowCount
from alerting.rules.decisions import IncidentKey, TierReading, Trip

Status = Literal["open", "resolved", "escalated"]
NoticeKind = Literal["opened", "reopened", "resolved", "escalated"]
FLAP_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Incident:
    """One incident's whole state; stored as a row per revision, so every field is plain data."""

    id: str
    key: IncidentKey
    status: Status
    tier: str
    started_at: datetime
    """The first bad minute."""
    opened_at: datetime
    """The tick (window end) at which it last opened or re-opened."""
    judged_at: datetime
    resolved_at: datetime | None = None
    clear_ticks: int = 0
    reopened: tuple[datetime, ...] = ()
    notified: bool = False
    """Its (re-)opening reached Slack, or was sent with an unknown outcome: never sent twice."""
    resolve_notified: bool = False
    bad: int = 0
    total: int = 0
    peak_burn: float = 0.0
    revision: int = 0

    @property
    def severity(self) -> str:
        return self.key[0]

    @property
    def slo(self) -> str:
        return self.key[1]

    @property
    def dimension(self) -> tuple[str, str, str]:
        return self.key[2], self.key[3], self.key[4]

    @property
    def open(self) -> bool:
        return self.status == "open"

    def flaps(self, at: datetime) -> int:
        """How many times it re-opened within the last hour."""
        return sum(1 for t in self.reopened if at - t < FLAP_WINDOW)

    def lasted(self) -> timedelta:
        return (self.resolved_at or self.judged_at) - self.started_at

    def opening_kind(self) -> NoticeKind:
        return "reopened" if self.reopened and self.reopened[-1] == self.opened_at else "opened"


@dataclass(frozen=True)
class Notice:
    """A message on-call should get about one incident."""

    kind: NoticeKind
    incident: Incident
    reading: TierReading | None
    downgraded: bool = False
    held_by: str = ""
    """A silence held this opening back until recently: the message says so."""


def _peak(trips: list[Trip], peak: float) -> float:
    return max([peak, *(float(t.reading.burn_long) for t in trips)])


def open_incident(trips: list[Trip], end: datetime, new_id: Callable[[], str]) -> Incident:
    lead = trips[0].reading
    return Incident(
        new_id(), trips[0].key, "open", lead.window.name, lead.first_bad_minute, end, end,
        bad=lead.long.bad, total=lead.long.total, peak_burn=_peak(trips, 0.0),
    )


def reopen(incident: Incident, trips: list[Trip], end: datetime, minute: WindowCount) -> Incident:
    return replace(
        incident, status="open", tier=trips[0].reading.window.name, opened_at=end, judged_at=end, resolved_at=None,
        clear_ticks=0, reopened=(*incident.reopened, end), notified=False, resolve_notified=False,
        bad=incident.bad + minute.bad, total=incident.total + minute.total, peak_burn=_peak(trips, incident.peak_burn),
    )


def still_tripping(incident: Incident, trips: list[Trip], end: datetime, minute: WindowCount) -> Incident:
    return replace(
        incident, tier=trips[0].reading.window.name, judged_at=end, clear_ticks=0,
        bad=incident.bad + minute.bad, total=incident.total + minute.total, peak_burn=_peak(trips, incident.peak_burn),
    )


def not_tripping(incident: Incident, end: datetime, minute: WindowCount, resolve_after_ticks: int) -> Incident:
    """One more clear tick; at `resolve_after_ticks` in a row the incident resolves."""
    clear = incident.clear_ticks + 1
    updated = replace(incident, judged_at=end, clear_ticks=clear,
                      bad=incident.bad + minute.bad, total=incident.total + minute.total)
    return replace(updated, status="resolved", resolved_at=end) if clear >= resolve_after_ticks else updated


def recently_resolved(incident: Incident, end: datetime, cooldown: timedelta) -> bool:
    """A resolved incident that burns again within its cooldown re-opens; later, a new incident starts."""
    return incident.status == "resolved" and incident.resolved_at is not None and end - incident.resolved_at < cooldown


def escalate(incident: Incident, end: datetime) -> Incident:
    """An open ticket whose SLO and dimension now page: the page carries it from here."""
    return replace(incident, status="escalated", resolved_at=end, judged_at=end)


def delivered(incident: Incident, kind: NoticeKind) -> Incident:
    closing = kind in ("resolved", "escalated")
    return replace(incident, resolve_notified=True) if closing else replace(incident, notified=True)
