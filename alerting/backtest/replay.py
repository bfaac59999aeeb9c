"""`o11y slo backtest`: what a policy would have done over stored data, minute by minute, without side effects.

Every minute end is judged by the production `Evaluator` itself (trips, incidents, silences, grouping of
messages), against a store that answers from counts read in one pass (`replay_minutes`) and keeps its
incidents in memory, with a sender that only counts. Nothing is written, sent or claimed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from alerting.backtest.minutes import MINUTE, Minutes
from alerting.delivery.marks import LocalMarks
from alerting.evaluation.evaluator import Evaluator, EvaluatorOptions
from alerting.evaluation.store import TickRecord
from alerting.incidents.alert_log import Decision
from alerting.incidents.incidents import Incident
from alerting.incidents.silences import Silence
from alerting.receivers.channels import Parcel, Sent
from alerting.receivers.receipts import Ledger, Receipt
from alerting.rules.decisions import IncidentKey
from alerting.rules.freshness import PartitionProgress
from alerting.rules.window_query import WindowCounts, longest_window
from schemas.alert_policy import AlertPolicy, Dimension

CHUNK = 1440
"""Minute ends whose trip candidates are computed at once (bounds memory: routes × CHUNK per array)."""


@dataclass
class Span:
    """One stretch of an incident being open: from its (re-)opening tick to its resolving one (None: still open)."""

    incident_id: str
    key: IncidentKey
    started_at: datetime
    opened_at: datetime
    resolved_at: datetime | None = None
    notified: bool = False
    peak_burn: float = 0.0


class ReplayStore:
    """The evaluator's store over `Minutes`: counts for the routes that may trip (and those with an open incident)."""

    def __init__(self, minutes: Minutes, silences: list[Silence]) -> None:
        self._minutes = minutes
        self._silences = silences
        self._latest: dict[IncidentKey, Incident] = {}
        self._judged: datetime | None = None
        self.candidates: list[int] = []
        """Routes that may trip at the minute end being judged (set before each tick)."""
        self.spans: list[Span] = []
        self._open: dict[str, Span] = {}
        self._receipts: dict[str, Ledger] = {}
        """By incident id: a tick looks up only its own incidents'."""

    def progress(self) -> list[PartitionProgress]:
        return []

    def last_judged(self) -> datetime | None:
        return self._judged

    def incidents(self, since: datetime) -> dict[IncidentKey, Incident]:
        for key in [k for k, i in self._latest.items() if not i.open and i.judged_at < since]:
            del self._latest[key]  # as the ClickHouse store: only open ones, or judged within the horizon
        return dict(self._latest)

    def window_counts(self, end: datetime, policy: AlertPolicy) -> dict[Dimension, WindowCounts]:
        at = self._minutes.index_of(end)
        routes = set(self.candidates)
        for incident in self._latest.values():
            route = self._minutes.route(incident.dimension)
            if incident.open and route is not None:
                routes.add(route)
        return {self._minutes.routes[r]: self._minutes.counts(policy, r, at) for r in sorted(routes)}

    def live_policy(self, policy: AlertPolicy) -> tuple[AlertPolicy, list[str]]:
        return policy, []

    def silences(self, since: datetime) -> list[Silence]:
        return [s for s in self._silences if s.ends_at > since]

    def receipts(self, incident_ids: list[str]) -> Ledger:
        return {key: receipt for i in incident_ids for key, receipt in self._receipts.get(i, {}).items()}

    def save_receipts(self, receipts: list[Receipt]) -> bool:
        for receipt in receipts:
            self._receipts.setdefault(receipt.incident_id, {})[(receipt.incident_id, receipt.receiver)] = receipt
        return True

    def save(self, incidents: list[Incident], decisions: list[Decision], ticks: list[TickRecord]) -> bool:
        for incident in incidents:
            known = self._latest.get(incident.key)
            if known is None or incident.opened_at >= known.opened_at:
                self._latest[incident.key] = incident
            self._track(incident)
        judged = [t.tick for t in ticks if t.outcome == "judged"]
        if judged:
            self._judged = max(judged)
        return True

    def _track(self, incident: Incident) -> None:
        span = self._open.get(incident.id)
        if incident.open and span is None:
            span = Span(incident.id, incident.key, incident.started_at, incident.opened_at)
            self._open[incident.id] = span
            self.spans.append(span)
        if span is None:
            return
        span.notified = span.notified or incident.notified
        span.peak_burn = max(span.peak_burn, incident.peak_burn)
        if not incident.open:
            span.resolved_at = incident.resolved_at or incident.judged_at
            del self._open[incident.id]


class CountingSender:
    """Receivers that take every message and only count it, per severity and day of the minute judged."""

    def __init__(self, policy: AlertPolicy) -> None:
        self.end: datetime | None = None
        self.sent: dict[str, dict[str, int]] = {"page": {}, "ticket": {}}
        self._kinds = {receiver.name: receiver.kind for receiver in policy.effective_receivers()}

    def kind(self, receiver: str) -> str:
        return self._kinds.get(receiver, "unknown")

    def send(self, parcels: list[Parcel]) -> list[Sent]:
        day = f"{self.end:%Y-%m-%d}" if self.end else ""
        answers = []
        for parcel in parcels:
            if self.kind(parcel.receiver) == "slack_webhook" and parcel.body is None:
                answers.append(Sent("skipped", "no message for an escalation"))
                continue
            per_day = self.sent.setdefault(parcel.notice.incident.severity, {})
            per_day[day] = per_day.get(day, 0) + 1
            answers.append(Sent("delivered", "counted"))
        return answers


@dataclass
class Replay:
    policy_name: str
    start: datetime
    end: datetime
    routes: int
    spans: list[Span]
    sent: dict[str, dict[str, int]]
    seconds: float = 0.0
    silenced: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    log: list[Decision] = field(default_factory=list)
    """Every decision, when asked for (`keep_log`): what the alert log would hold."""

    def time_in_alert(self) -> dict[str, int]:
        """Minutes with at least one incident of the severity open."""
        result = {}
        for severity in ("page", "ticket"):
            covered: set[int] = set()
            for span in self.spans:
                if span.key[0] == severity:
                    stop = span.resolved_at or self.end
                    covered |= set(range(int((span.opened_at - self.start) / MINUTE), int((stop - self.start) / MINUTE)))
            result[severity] = len(covered)
        return result

    def delays(self) -> list[int]:
        """Minutes from the first bad minute to the opening tick, for each incident's first opening."""
        first: dict[str, Span] = {}
        for span in self.spans:
            first.setdefault(span.incident_id, span)
        return sorted(int((s.opened_at - s.started_at) / MINUTE) for s in first.values())


def replay(minutes: Minutes, policy: AlertPolicy, silences: list[Silence], start: datetime, end: datetime,
           name: str = "current", progress: Callable[[float], None] | None = None, keep_log: bool = False) -> Replay:
    """Judge every minute end in (start, end] as `o11y alert` would have, one tick per minute."""
    began = time.monotonic()
    store = ReplayStore(minutes, silences)
    sender = CountingSender(policy)
    ids = iter(range(1, 1 << 40))
    evaluator = Evaluator(policy, store, LocalMarks(), sender, lambda: None, EvaluatorOptions(catch_up=1, policy_notices=False),
                          new_id=lambda: f"bt-{name}-{next(ids):06d}")
    ends = np.arange(minutes.index_of(start) + 1, minutes.index_of(end) + 1, dtype=np.int64)
    decisions: dict[str, int] = {}
    log: list[Decision] = []
    for chunk_start in range(0, len(ends), CHUNK):
        chunk = ends[chunk_start:chunk_start + CHUNK]
        candidates = minutes.candidates(policy, chunk)
        for j, at in enumerate(chunk):
            store.candidates = [int(r) for r in np.flatnonzero(candidates[:, j])]
            tick = minutes.start + MINUTE * int(at)
            sender.end = tick
            for made in evaluator.evaluate_tick(tick + timedelta(seconds=5)):
                decisions[made.decision] = decisions.get(made.decision, 0) + 1
                if keep_log:
                    log.append(made)
        if progress is not None:
            progress(min(1.0, (chunk_start + len(chunk)) / max(1, len(ends))))
    return Replay(name, start, end, len(minutes.routes), store.spans, sender.sent, time.monotonic() - began,
                  decisions.get("silenced", 0), decisions, log)


def history_start(start: datetime, *policies: AlertPolicy) -> datetime:
    """The first minute a replay from `start` needs: its longest window before it."""
    return start - timedelta(minutes=max(longest_window(p) for p in policies))


@dataclass(frozen=True)
class Change:
    key: IncidentKey
    before: Span | None
    after: Span | None


def compare(current: Replay, candidate: Replay) -> dict[str, list[Change]]:
    """Incidents added, removed and changed (same route and SLO, overlapping in time, other minutes)."""
    result: dict[str, list[Change]] = {"added": [], "removed": [], "changed": []}
    unmatched = list(candidate.spans)
    for before in current.spans:
        match = next((s for s in unmatched if s.key == before.key and _overlap(before, s, current.end)), None)
        if match is None:
            result["removed"].append(Change(before.key, before, None))
            continue
        unmatched.remove(match)
        if (match.opened_at, match.resolved_at) != (before.opened_at, before.resolved_at):
            result["changed"].append(Change(before.key, before, match))
    result["added"] = [Change(s.key, None, s) for s in unmatched]
    return result


def _overlap(a: Span, b: Span, end: datetime) -> bool:
    return a.opened_at <= (b.resolved_at or end) and b.opened_at <= (a.resolved_at or end)
