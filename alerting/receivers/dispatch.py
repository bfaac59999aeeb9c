"""Getting a minute's notices to their receivers once: claim each incident in Redis, route each notice, send what each
receiver lacks in parallel, and record what every receiver answered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from alerting.delivery.marks import Marks
from alerting.delivery.notice_plan import plan
from alerting.delivery.slack_messages import Body
from alerting.incidents.alert_log import Decision, decision
from alerting.incidents.incidents import Incident, Notice, delivered
from alerting.incidents.silences import Silence
from alerting.receivers.channels import Parcel, Sent
from alerting.receivers.receipts import Ledger, Receipt, due, first, step_of
from alerting.receivers.slack_thread_format import parent_state
from alerting.rules.decisions import IncidentKey
from schemas.alert_policy import AlertPolicy


class Sender(Protocol):
    def kind(self, receiver: str) -> str:
        """The receiver's kind: `slack_webhook`, `slack_app`, `pagerduty`, `webhook` (or `console`)."""
        ...

    def send(self, parcels: list[Parcel]) -> list[Sent]:
        """One answer per parcel, in parallel, within the tick's send budget; never raises."""
        ...


@dataclass
class Dispatch:
    """What one tick's messages did to the incidents and the receivers, and the alert-log rows that say so."""

    incidents: dict[IncidentKey, Incident]
    ledger: Ledger = field(default_factory=dict)
    changed: set[IncidentKey] = field(default_factory=set)
    decisions: list[Decision] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    """Receipts written in this tick, not yet saved."""


@dataclass(frozen=True)
class Plan:
    """How a tick's messages are written: the policy's routes and grouping, the pages' address."""

    policy: AlertPolicy
    also: Callable[[Notice], tuple[str, ...]]
    public_url: str | None
    silence_of: Callable[[Incident], Silence | None] = lambda incident: None
    escalated_to: Callable[[Incident], str] = lambda incident: ""
    own_body: Callable[[Notice], Body] | None = None
    """A Slack webhook message of o11y's own (data stale, paging turned down), instead of an SLO's."""


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


def parcels(sender: Sender, notices: list[Notice], how: Plan, ledger: Ledger) -> list[Parcel]:
    """Each notice to each of its receivers that lacks its step; Slack webhook messages grouped as the policy says."""
    wanted: dict[str, list[Notice]] = {}
    for notice in notices:
        step = step_of(notice.kind, notice.incident)
        for receiver in how.policy.receivers_for(notice.incident.key):
            if due(step, ledger.get((notice.incident.id, receiver))):
                wanted.setdefault(receiver, []).append(notice)
    out: list[Parcel] = []
    for receiver, some in wanted.items():
        if sender.kind(receiver) in ("slack_webhook", "console") and how.own_body is not None:
            out += [Parcel(receiver, (n,), step_of(n.kind, n.incident), body=how.own_body(n)) for n in some]
            continue
        if sender.kind(receiver) in ("slack_webhook", "console"):
            grouped = plan([n for n in some if n.kind != "escalated"], how.policy.group_notifications_above, how.also,
                           how.public_url)
            out += [Parcel(receiver, o.notices, step_of(o.notices[0].kind, o.notices[0].incident), body=o.body)
                    for o in grouped]
            some = [n for n in some if n.kind == "escalated"]  # a webhook says nothing of an escalation: skipped below
        out += [Parcel(receiver, (n,), step_of(n.kind, n.incident), ledger.get((n.incident.id, receiver)),
                       slo=how.policy.slo(n.incident.slo), silence=how.silence_of(n.incident),
                       escalated_to=how.escalated_to(n.incident)) for n in some]
    return out


def send(sender: Sender, marks: Marks, end: datetime, notices: list[Notice], how: Plan, out: Dispatch) -> None:
    """Send, record each receiver's answer, and mark an incident notified once any receiver has it; a notice that no
    receiver took is released, to go again next tick (where it goes only to the receivers that still lack it)."""
    batch = parcels(sender, notices, how, out.ledger)
    answers = sender.send(batch)
    taken: dict[tuple[str, str], bool] = {}
    for parcel, sent in zip(batch, answers, strict=True):
        grouped = f"; one message for {len(parcel.notices)} incidents" if len(parcel.notices) > 1 else ""
        for notice in parcel.notices:
            record(out, notice, parcel.receiver, sender.kind(parcel.receiver), sent)
            if sent.outcome != "skipped":  # the alert log says each answer by its outcome; a skip said nothing
                answer = "" if sent.outcome in ("delivered", "dry_run") else f": {sent.answer}"
                out.decisions.append(decision(end, sent.outcome, notice.incident.severity, notice.reading,
                                              notice.incident, f"{notice.kind}{grouped}{answer}", receiver=parcel.receiver))
            mark = (notice.incident.id, notice.kind)
            taken[mark] = taken.get(mark, False) or sent.outcome not in ("failed",)
    for notice in notices:
        key = notice.incident.key
        if not taken.get((notice.incident.id, notice.kind), True):
            marks.release(end.isoformat(), key, notice.kind)
            continue
        out.incidents[key] = delivered(out.incidents[key], notice.kind)
        out.changed.add(key)


def record(out: Dispatch, notice: Notice, receiver: str, kind: str, sent: Sent) -> None:
    """The receiver's new receipt for the notice's incident, kept in the ledger and to be saved."""
    incident = notice.incident
    before = out.ledger.get((incident.id, receiver)) or first(incident.id, receiver, kind)
    receipt = before.after(step_of(notice.kind, incident), sent.outcome, sent.answer, sent.thread, sent.shown)
    out.ledger[(incident.id, receiver)] = receipt
    out.receipts.append(receipt)


def sync_parcels(out: Dispatch, how: Plan) -> list[Parcel]:
    """Slack app messages whose incident's state is not what they show (a silence began or ended, an update failed)."""
    by_id = {incident.id: incident for incident in out.incidents.values()}
    found = []
    for (incident_id, receiver), receipt in out.ledger.items():
        incident = by_id.get(incident_id)
        if incident is None or receipt.kind != "slack_app" or not receipt.thread:
            continue
        silence = how.silence_of(incident) if incident.open else None
        if parent_state(incident, silence.id if silence else "") != receipt.shown:
            notice = Notice(incident.opening_kind(), incident, None)
            found.append(Parcel(receiver, (notice,), "sync", receipt, slo=how.policy.slo(incident.slo), silence=silence,
                                escalated_to=how.escalated_to(incident)))
    return found


def synced(sender: Sender, parcels_: list[Parcel], out: Dispatch) -> None:
    """Update those messages; a receipt changes only in what its message shows."""
    for parcel, sent in zip(parcels_, sender.send(parcels_), strict=True):
        if sent.outcome == "delivered" and parcel.receipt is not None:
            receipt = replace(parcel.receipt, shown=sent.shown, answer=sent.answer, revision=parcel.receipt.revision + 1)
            out.ledger[(receipt.incident_id, receipt.receiver)] = receipt
            out.receipts.append(receipt)


def refresh_marks(marks: Marks, incidents: dict[IncidentKey, Incident], cooldown: Callable[[str], int]) -> None:
    """Rebuild the seed's markers of every open, notified incident (a flushed Redis gets them back next tick)."""
    for incident in incidents.values():
        if incident.open and incident.notified:
            marks.mark(incident, cooldown(incident.severity))
