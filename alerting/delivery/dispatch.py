"""Getting a minute's notices to Slack once: claim each incident in Redis, send in parallel, record what happened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from alerting.delivery.marks import Marks
from alerting.delivery.notice_plan import Outbound
from alerting.incidents.alert_log import Decision, decision
from alerting.incidents.incidents import Incident, Notice, delivered
from alerting.rules.decisions import IncidentKey

OUTCOME_DECISIONS = {"delivered": "delivered", "failed": "failed", "unknown": "unconfirmed", "dry_run": "dry_run"}


class Sender(Protocol):
    def deliver(self, messages: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """One outcome per message: delivered, failed, unknown (never sent again) or dry_run; within a time budget."""
        ...


@dataclass
class Dispatch:
    """What one minute's messages did to the incidents, and the alert-log rows that say so."""

    incidents: dict[IncidentKey, Incident]
    changed: set[IncidentKey] = field(default_factory=set)
    decisions: list[Decision] = field(default_factory=list)


def claim_notices(marks: Marks, end: datetime, notices: list[Notice], out: Dispatch) -> list[Notice]:
    """Keep the notices this evaluator won; the others are another replica's to send."""
    kept = []
    for notice in notices:
        if marks.claim(end.isoformat(), notice.incident.key, notice.kind):
            kept.append(notice)
        else:
            out.decisions.append(decision(end, "suppressed", notice.incident.severity, notice.reading, notice.incident,
                                          "claimed by another evaluator"))
    return kept


def send(sender: Sender, marks: Marks, end: datetime, outbound: list[Outbound], out: Dispatch) -> None:
    """A delivered or unknown message marks its incidents notified; a failed one is released, to go again next tick."""
    outcomes = sender.deliver([(o.severity, o.body) for o in outbound])
    for message, outcome in zip(outbound, outcomes, strict=True):
        grouped = f"; one message for {len(message.notices)} incidents" if len(message.notices) > 1 else ""
        for notice in message.notices:
            key = notice.incident.key
            out.decisions.append(decision(end, OUTCOME_DECISIONS[outcome], notice.incident.severity, notice.reading,
                                          notice.incident, notice.kind + grouped))
            if outcome == "failed":
                marks.release(end.isoformat(), key, notice.kind)
                continue
            out.incidents[key] = delivered(out.incidents[key], notice.kind)
            out.changed.add(key)


def refresh_marks(marks: Marks, incidents: dict[IncidentKey, Incident], cooldown: Callable[[str], int]) -> None:
    """Rebuild the seed's markers of every open, notified incident (a flushed Redis gets them back next tick)."""
    for incident in incidents.values():
        if incident.open and incident.notified:
            marks.mark(incident, cooldown(incident.severity))
