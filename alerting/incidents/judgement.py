"""One judged minute: trips become incident transitions, notices and alert-log events (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerting.incidents.incidents import (
    Incident,
    Notice,
    escalate,
    not_tripping,
    open_incident,
    recently_resolved,
    reopen,
    still_tripping,
)
from alerting.rules.burn_rate import WindowCount
from alerting.rules.decisions import IncidentKey, TierReading, Trip, read_tier
from alerting.rules.window_query import WindowCounts
from schemas.alert_policy import RESERVED_SLO_NAMES, AlertPolicy, Dimension


@dataclass(frozen=True)
class Event:
    """What the alert log records: fired, suppressed, resolved or escalated, with the numbers behind it."""

    decision: str
    severity: str
    reading: TierReading | None
    incident: Incident | None
    detail: str = ""


@dataclass
class Judgement:
    incidents: dict[IncidentKey, Incident]
    changed: set[IncidentKey] = field(default_factory=set)
    notices: list[Notice] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    pending: Callable[[Incident], bool] = lambda incident: False

    def update(self, incident: Incident) -> None:
        self.incidents[incident.key] = incident
        self.changed.add(incident.key)


@dataclass(frozen=True)
class Minute:
    """The judged window end and the counts behind it."""

    end: datetime
    by_dimension: dict[Dimension, WindowCounts]

    def last_minute(self, key: IncidentKey) -> WindowCount:
        counts = self.by_dimension.get((key[2], key[3], key[4]))
        return counts.counts.get((key[1], 1), WindowCount(0, 0)) if counts else WindowCount(0, 0)


def judge(policy: AlertPolicy, minute: Minute, trips: list[Trip], incidents: dict[IncidentKey, Incident],
          new_id: Callable[[], str], pending: Callable[[Incident], bool] = lambda incident: False) -> Judgement:
    """Pages first, so that a page opened in this minute already holds back its ticket.

    `pending` says whether some receiver still lacks an incident's latest step: its notice goes again (to those only)."""
    result = Judgement(dict(incidents), pending=pending)
    by_key: dict[IncidentKey, list[Trip]] = {}
    for trip in trips:
        by_key.setdefault(trip.key, []).append(trip)
    keys = set(by_key) | {k for k in incidents if k[1] not in RESERVED_SLO_NAMES}
    for key in sorted(k for k in keys if k[0] == "page"):
        _judge_key(policy, minute, key, by_key.get(key, []), result, new_id)
    _escalate_tickets(minute.end, result)
    for key in sorted(k for k in keys if k[0] == "ticket"):
        kept = [t for t in by_key.get(key, []) if not _held_by_page(minute.end, t, result)]
        _judge_key(policy, minute, key, kept, result, new_id)
    return result


def _held_by_page(end: datetime, trip: Trip, result: Judgement) -> bool:
    """A ticket is never sent for events that already paged: while the page is open, and while its minutes are in the window."""
    page = result.incidents.get(("page", *trip.key[1:]))
    reason = None
    if page is not None and page.open:
        reason = f"page incident {page.id} of this SLO and dimension is open"
    elif page is not None and page.resolved_at and end - timedelta(minutes=trip.reading.window.long_minutes) < page.resolved_at:
        reason = f"the {trip.reading.window.long_minutes}-minute window still holds paged incident {page.id}"
    if reason:
        result.events.append(Event("suppressed", trip.severity, trip.reading, page, reason))
    return reason is not None


def _escalate_tickets(end: datetime, result: Judgement) -> None:
    for key, ticket in list(result.incidents.items()):
        page = result.incidents.get(("page", *key[1:]))
        if key[0] == "ticket" and ticket.open and page is not None and page.open:
            escalated = escalate(ticket, end)
            result.update(escalated)
            result.events.append(Event("escalated", "ticket", None, escalated, f"now paging as incident {page.id}"))
            if escalated.notified:
                result.notices.append(Notice("escalated", escalated, None))


def _judge_key(policy: AlertPolicy, minute: Minute, key: IncidentKey, trips: list[Trip], result: Judgement,
               new_id: Callable[[], str]) -> None:
    incident = result.incidents.get(key)
    last = minute.last_minute(key)
    if trips:
        _tripping(policy, minute.end, incident, trips, last, result, new_id)
    elif incident is not None and incident.open:
        _clearing(policy, minute, incident, last, result)
    elif incident is not None and _resolve_unsent(policy, minute.end, incident, result.pending):
        result.notices.append(Notice("resolved", incident, _reading(policy, minute, incident)))
    elif incident is not None and _escalation_unsent(policy, minute.end, incident, result.pending):
        result.notices.append(Notice("escalated", incident, None))


def _tripping(policy: AlertPolicy, end: datetime, incident: Incident | None, trips: list[Trip], last: WindowCount,
              result: Judgement, new_id: Callable[[], str]) -> None:
    cooldown = timedelta(seconds=policy.cooldown(trips[0].severity))
    if incident is not None and incident.open:
        updated = still_tripping(incident, trips, end, last)
        detail = "" if updated.notified else "not delivered yet: sending again"
        if updated.notified and result.pending(updated):
            detail = "not delivered to every receiver yet: sending again to those that lack it"
    elif incident is not None and recently_resolved(incident, end, cooldown):
        updated = reopen(incident, trips, end, last)
        detail = f"re-opened ({updated.flaps(end)} in the last hour)"
    else:
        updated = open_incident(trips, end, new_id)
        detail = "opened"
    result.update(updated)
    lead, *others = trips
    if not updated.notified or detail.startswith("not delivered to every"):
        downgrade = "; downgraded to ticket" if lead.downgraded else ""
        result.events.append(Event("fired", lead.severity, lead.reading, updated, detail + downgrade))
        result.notices.append(Notice(updated.opening_kind(), updated, lead.reading, lead.downgraded))
    else:
        others = trips
    for trip in others:
        result.events.append(Event("suppressed", trip.severity, trip.reading, updated,
                                   f"incident {updated.id} open since {updated.opened_at:%H:%M} UTC"))


def _clearing(policy: AlertPolicy, minute: Minute, incident: Incident, last: WindowCount, result: Judgement) -> None:
    updated = not_tripping(incident, minute.end, last, policy.resolve_after_ticks)
    result.update(updated)
    if updated.status != "resolved":
        return
    reading = _reading(policy, minute, updated)
    detail = "" if updated.notified else "never delivered, so no resolve message"
    result.events.append(Event("resolved", updated.severity, reading, updated, detail))
    if updated.notified:
        result.notices.append(Notice("resolved", updated, reading))


def _resolve_unsent(policy: AlertPolicy, end: datetime, incident: Incident, pending: Callable[[Incident], bool]) -> bool:
    """A resolve a receiver did not take is tried again, for as long as a re-fire would re-open the incident."""
    cooldown = timedelta(seconds=policy.cooldown(incident.severity))  # type: ignore[arg-type]
    unsent = not incident.resolve_notified or pending(incident)
    return incident.notified and unsent and recently_resolved(incident, end, cooldown)


def _escalation_unsent(policy: AlertPolicy, end: datetime, incident: Incident, pending: Callable[[Incident], bool]) -> bool:
    """An escalation a receiver did not take is tried again within the ticket's cooldown."""
    cooldown = timedelta(seconds=policy.cooldown(incident.severity))  # type: ignore[arg-type]
    recent = incident.resolved_at is not None and timedelta(0) < end - incident.resolved_at < cooldown
    return incident.status == "escalated" and incident.notified and recent and pending(incident)


def _reading(policy: AlertPolicy, minute: Minute, incident: Incident) -> TierReading | None:
    slo = policy.slo_for(incident.slo, incident.dimension)
    if slo is None:
        return None
    window = next((w for w in slo.windows if w.name == incident.tier), slo.windows[0])
    return read_tier(slo, window, incident.dimension, minute.end, minute.by_dimension.get(incident.dimension))
