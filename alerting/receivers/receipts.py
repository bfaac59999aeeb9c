"""What one receiver has of one incident, and what it still lacks (pure).

An incident's notifications are steps: `open:N` (opened after N re-opens; `open:0` is the first opening),
`resolved:N`, `escalated`. A receiver has a step once it was delivered, sent without an answer (`unconfirmed`:
never sent again, a duplicate page costs more than a rare lost one), skipped, or shown in a dry run; a `failed`
step is sent again. A resolve or an escalation goes only where the opening went.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from alerting.incidents.incidents import Incident, NoticeKind

Outcome = Literal["delivered", "failed", "unconfirmed", "skipped", "dry_run", "rejected"]
HAD = frozenset({"delivered", "unconfirmed", "skipped", "dry_run", "rejected"})
Ledger = dict[tuple[str, str], "Receipt"]
"""Receipts by (incident id, receiver)."""


@dataclass(frozen=True)
class Receipt:
    incident_id: str
    receiver: str
    kind: str
    step: str
    outcome: Outcome
    answer: str = ""
    """What the receiver answered, without credentials."""
    attempts: int = 0
    thread: str = ""
    """`slack_app`: `<channel id>/<ts>` of the incident's one message."""
    shown: str = ""
    """`slack_app`: the state that message shows."""
    revision: int = 0

    @property
    def had(self) -> bool:
        return self.outcome in HAD

    def opened(self) -> bool:
        """Its last step is an opening it got: a resolve or an escalation has something to close here."""
        return self.step.startswith("open:") and self.outcome in ("delivered", "unconfirmed", "dry_run")

    def after(self, step: str, outcome: Outcome, answer: str, thread: str = "", shown: str = "") -> Receipt:
        attempts = self.attempts + 1 if step == self.step else 1
        return replace(self, step=step, outcome=outcome, answer=answer, attempts=attempts,
                       thread=thread or self.thread, shown=shown or self.shown, revision=self.revision + 1)


def step_of(kind: NoticeKind, incident: Incident) -> str:
    if kind == "escalated":
        return "escalated"
    return f"{'resolved' if kind == 'resolved' else 'open'}:{len(incident.reopened)}"


def wanted(incident: Incident) -> str:
    """The step every receiver of an incident should have by now."""
    if incident.status == "escalated":
        return "escalated"
    return step_of("resolved" if incident.status == "resolved" else "opened", incident)


def due(step: str, receipt: Receipt | None) -> bool:
    """Whether a receiver with `receipt` should be sent `step`: not when it has it, and a close only after an opening."""
    if receipt is not None and receipt.step == step and receipt.had:
        return False
    if step.startswith("open:"):
        return True
    return receipt is not None and receipt.opened()


def pending(incident: Incident, receivers: Iterable[str], ledger: Ledger) -> list[str]:
    """The receivers that still lack the incident's current step (its opening, resolve or escalation)."""
    step = wanted(incident)
    return [name for name in receivers if due(step, ledger.get((incident.id, name)))]


def first(incident_id: str, receiver: str, kind: str) -> Receipt:
    return Receipt(incident_id, receiver, kind, "", "failed", revision=0)
