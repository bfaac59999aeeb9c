"""One evaluation tick. Time is a parameter: `evaluate_tick(now)` judges what is loaded up to `now`.

freshness → minutes to judge → per minute: counts → trips → incident transitions → claims → Slack →
then incidents, alert log and judged ticks to ClickHouse, markers to Redis, the heartbeat.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from alerting.delivery.marks import Marks
from alerting.delivery.notice_plan import also_failing
from alerting.delivery.paging_notice import Reduction, judge_paging, reduced_message, reductions, restored_message
from alerting.delivery.slack_messages import Body
from alerting.delivery.stale_data import STALE_KEY, fresh_message, judge_stale, stale_message
from alerting.evaluation.store import TickRecord
from alerting.incidents.alert_log import Decision, decision
from alerting.incidents.incidents import FLAP_WINDOW, Incident, Notice
from alerting.incidents.judgement import Minute, judge
from alerting.incidents.silences import Silence, hold_back, holding
from alerting.receivers.dispatch import Dispatch, Plan, Sender, claim_notices, refresh_marks, send, sync_parcels, synced
from alerting.receivers.receipts import Ledger, Receipt, pending
from alerting.rules.decisions import IncidentKey, find_trips
from alerting.rules.freshness import Freshness, PartitionProgress, ends_to_judge
from alerting.rules.message_words import clock
from alerting.rules.window_query import WindowCounts, longest_window, window_end
from schemas.alert_policy import AlertPolicy, Dimension

log = logging.getLogger(__name__)


class EvaluatorStore(Protocol):
    """What a tick reads and writes. `AlertStore` is ClickHouse; the backtest answers from minutes it read once.

    Reads may raise: a tick that cannot read is not judged. `save` never raises: the pager must not stop.
    """

    def progress(self) -> list[PartitionProgress]:
        """The loader's progress per partition (empty: freshness cannot be judged, every minute is taken as loaded)."""
        ...

    def last_judged(self) -> datetime | None: ...

    def incidents(self, since: datetime) -> dict[IncidentKey, Incident]:
        """The latest incident per key among those open, or judged since `since`."""
        ...

    def window_counts(self, end: datetime, policy: AlertPolicy) -> dict[Dimension, WindowCounts]:
        """Every route with data in the policy's longest window before `end` (a route left out must not trip)."""
        ...

    def live_policy(self, policy: AlertPolicy) -> tuple[AlertPolicy, list[str]]: ...

    def silences(self, since: datetime) -> list[Silence]:
        """Silences that end after `since`."""
        ...

    def receipts(self, incident_ids: list[str]) -> Ledger:
        """What each receiver has of these incidents."""
        ...

    def save_receipts(self, receipts: list[Receipt]) -> bool:
        """Written as soon as a send is answered (never raises): a restart right after never sends it twice."""
        ...

    def save(self, incidents: list[Incident], decisions: list[Decision], ticks: list[TickRecord]) -> bool: ...


@dataclass(frozen=True)
class EvaluatorOptions:
    topic: str = "api-metrics"
    stale_after: timedelta = timedelta(seconds=120)
    data_wait_s: float = 0.0
    """How long a tick waits for the loader to pass the end of the minute before judging what is there."""
    catch_up: int = 10
    """At most this many minutes judged in one tick after loading lagged."""
    public_url: str | None = None
    """Where people open the pages (`O11Y_PUBLIC_URL`): messages link to the route's page and the incident."""
    policy_notices: bool = True
    """Tell the page channel while overrides quiet many routes (off in a backtest, which replays data, not policy)."""


@dataclass(frozen=True)
class TickStatus:
    """What the last tick saw, for metrics and /readyz."""

    freshness: str
    data_lag_s: float
    open_incidents: dict[str, int]
    dimensions: int
    sent: dict[str, int]
    stale: bool
    overrides_left_out: int = 0

    def summary(self, tick: datetime, seconds: float) -> str:
        """`tick 12:05: 412 dimensions, 1 page sent, 0.31 s` — what a person watching the console wants."""
        sent = ", ".join(f"{n} {severity}{'s' if n != 1 else ''} sent" for severity, n in sorted(self.sent.items()) if n)
        opened = sum(self.open_incidents.values())
        parts = [f"{self.dimensions} dimensions", sent or "nothing sent", f"{opened} open"]
        if self.stale:
            parts.insert(0, "DATA STALE")
        return f"tick {tick:%H:%M}: {', '.join(parts)}, {seconds:.2f} s"


@dataclass
class _Tick:
    dispatch: Dispatch
    policy: AlertPolicy
    """The policy with the admin API's overrides as they were when the tick began."""
    silences: list[Silence]
    overrides_left_out: int = 0
    records: list[TickRecord] = field(default_factory=list)
    dimensions: int = 0


class Evaluator:
    def __init__(self, policy: AlertPolicy, store: EvaluatorStore, marks: Marks, sender: Sender,
                 page_models: Callable[[], frozenset[str] | None], options: EvaluatorOptions = EvaluatorOptions(),
                 write: bool = True, sleep: Callable[[float], None] = time.sleep,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.policy = policy
        self._store, self._marks, self._sender = store, marks, sender
        self._page_models = page_models
        self._options = options
        self._write = write
        self._sleep = sleep
        self._new_id = new_id
        self.status: TickStatus | None = None

    def page_eligible(self, client: str, model: str, models: frozenset[str] | None) -> bool:
        """The policy's page_clients and page_models (and the recommended models); an override's `page` comes first."""
        if client not in self.policy.page_clients:
            return False
        allowed = (models or frozenset()) | set(self.policy.page_models)
        return not allowed or model in allowed

    def freshness(self, now: datetime, wait: bool = True) -> Freshness:
        """The loader's progress, waiting (a bounded time) for it to pass the end of the minute.

        A loader that is merely starting, or a few seconds behind, gets that time before data is called stale.
        """
        deadline = time.monotonic() + (self._options.data_wait_s if wait else 0.0)
        while True:
            fresh = Freshness(tuple(self._store.progress()), now, self._options.stale_after)
            done = not fresh.active or (not fresh.stale and fresh.ready_end() >= window_end(now))
            if done or time.monotonic() >= deadline:
                return fresh
            self._sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def evaluate_tick(self, now: datetime) -> list[Decision]:
        started = time.monotonic()
        self._marks.begin_tick()
        freshness = self.freshness(now)
        label = window_end(now)
        policy, problems = self._store.live_policy(self.policy)
        for problem in problems:
            log.warning("runtime override left out: %s", problem)
        horizon = label - self._horizon(policy)
        incidents = self._store.incidents(horizon)
        ledger = self._store.receipts([incident.id for incident in incidents.values()])
        tick = _Tick(Dispatch(incidents, ledger), policy, self._store.silences(horizon), len(problems))
        self._judge_freshness(label, freshness, tick)
        if self._options.policy_notices:
            self._judge_paging(label, tick)
        if freshness.stale:
            tick.records.append(TickRecord(label, "stale", freshness.watermark, 0.0, 0))
        else:
            self._judge_minutes(freshness, tick)
        self._sync(label, tick)
        if self._marks.down:
            tick.dispatch.decisions.append(decision(label, "degraded", "", None, None,
                                                    "Redis unavailable: messages sent without a claim"))
        self._finish(tick, time.monotonic() - started)
        self.status = _status(freshness, tick)
        return tick.dispatch.decisions

    def _horizon(self, policy: AlertPolicy) -> timedelta:
        cooldowns = timedelta(seconds=max(policy.page_cooldown_seconds, policy.ticket_cooldown_seconds))
        return max(cooldowns, FLAP_WINDOW, timedelta(minutes=longest_window(policy)))

    def _judge_freshness(self, label: datetime, freshness: Freshness, tick: _Tick) -> None:
        out = tick.dispatch
        incident, notice = judge_stale(out.incidents.get(STALE_KEY), freshness, label, self._new_id)
        if incident is None:
            return
        out.incidents[STALE_KEY] = incident
        out.changed.add(STALE_KEY)
        if freshness.stale:
            out.decisions.append(decision(label, "stale", "page", None, incident, freshness.describe()))
        if incident.status == "resolved" and incident.resolved_at == label:
            out.decisions.append(decision(label, "resolved", "page", None, incident, freshness.describe()))
        if notice is None:
            return
        opened = sum(1 for key, i in out.incidents.items() if i.open and key != STALE_KEY)
        self._tell(label, tick, notice, "data stale", lambda: (
            stale_message(incident, freshness, self._options.topic, opened) if notice.kind != "resolved"
            else fresh_message(incident, self._options.topic)))

    def _judge_paging(self, label: datetime, tick: _Tick) -> None:
        """Tell the page channel while overrides quiet many routes at once, and when they stop."""
        out = tick.dispatch
        in_force = reductions(tick.policy)
        for incident, notice in judge_paging(out.incidents, in_force, label, self._new_id):
            out.incidents[incident.key] = incident
            out.changed.add(incident.key)
            if incident.status == "resolved":
                out.decisions.append(decision(label, "resolved", "page", None, incident, "paging restored"))
            if notice is not None:
                found = in_force.get(incident.key, [])
                self._tell(label, tick, notice, "paging turned down", partial(_paging_body, notice, found))

    def _tell(self, label: datetime, tick: _Tick, notice: Notice, what: str, body: Callable[[], Body]) -> None:
        """A notice about an incident of o11y's own, to its routes (by default the page channel): logged as fired (a
        resolve is logged by its caller), claimed, then sent."""
        out = tick.dispatch
        if notice.kind != "resolved":
            out.decisions.append(decision(label, "fired", "page", None, notice.incident, what))
        if claim_notices(self._marks, label, self._unsilenced(label, [notice], tick), out):
            how = Plan(tick.policy, lambda n: (), self._options.public_url, own_body=lambda n: body())
            self._send(label, [notice], how, tick)

    def _send(self, end: datetime, notices: list[Notice], how: Plan, tick: _Tick) -> None:
        """Send, then write the receivers' receipts at once (a restart right after must not send again)."""
        if not notices:
            return
        send(self._sender, self._marks, end, notices, how, tick.dispatch)
        self._save_receipts(tick)

    def _save_receipts(self, tick: _Tick) -> None:
        """Right after the sends they record (a restart right after must not send again)."""
        if self._write:
            self._store.save_receipts(tick.dispatch.receipts)
        tick.dispatch.receipts = []

    def _judge_minutes(self, freshness: Freshness, tick: _Tick) -> None:
        out = tick.dispatch
        models = self._page_models()
        ends = ends_to_judge(self._store.last_judged(), freshness.ready_end(), self._options.catch_up)
        if not ends:
            tick.records.append(TickRecord(freshness.ready_end(), "waiting", freshness.watermark, 0.0, 0))
        policy = tick.policy
        for end in ends:
            by_dimension = self._store.window_counts(end, policy)
            tick.dimensions = len(by_dimension)
            trips = find_trips(policy, end, by_dimension, lambda c, m: self.page_eligible(c, m, models))
            judged = judge(policy, Minute(end, by_dimension), trips, out.incidents, self._new_id,
                           lambda incident: bool(pending(incident, policy.receivers_for(incident.key), out.ledger)))
            out.incidents = judged.incidents
            out.changed |= judged.changed
            out.decisions += [decision(end, e.decision, e.severity, e.reading, e.incident, e.detail) for e in judged.events]
            notices = claim_notices(self._marks, end, self._unsilenced(end, judged.notices, tick), out)
            how = Plan(policy, also_failing(trips), self._options.public_url, self._silence_of(end, tick), _page_of(out))
            self._send(end, notices, how, tick)
            tick.records.append(TickRecord(end, "judged", freshness.watermark, 0.0, len(judged.events)))

    def _silence_of(self, end: datetime, tick: _Tick) -> Callable[[Incident], Silence | None]:
        def silence(incident: Incident) -> Silence | None:
            return holding(tick.silences, incident.key, end)

        return silence

    def _sync(self, end: datetime, tick: _Tick) -> None:
        """Bring Slack app messages up to date with their incidents (a silence that began or ended)."""
        found = sync_parcels(tick.dispatch, Plan(tick.policy, lambda n: (), self._options.public_url,
                                                  self._silence_of(end, tick), _page_of(tick.dispatch)))
        if found:
            synced(self._sender, found, tick.dispatch)
            self._save_receipts(tick)

    def _unsilenced(self, end: datetime, notices: list[Notice], tick: _Tick) -> list[Notice]:
        """Notices no silence holds back; each held one is logged with its silence."""
        send_now, held = hold_back(notices, tick.silences, end)
        for h in held:
            incident = h.notice.incident
            tick.dispatch.decisions.append(decision(
                end, "silenced", incident.severity, h.notice.reading, incident,
                f"held back by {h.silence.words()} until {clock(h.silence.ends_at)}", silence_id=h.silence.id))
        return send_now

    def _finish(self, tick: _Tick, seconds: float) -> None:
        out = tick.dispatch
        refresh_marks(self._marks, out.incidents, lambda severity: tick.policy.cooldown(severity))  # type: ignore[arg-type]
        if not self._write:
            return
        records = [TickRecord(r.tick, r.outcome, r.watermark, seconds, r.decisions) for r in tick.records]
        changed: list[Incident] = [out.incidents[key] for key in sorted(out.changed)]
        self._store.save(changed, out.decisions, records)


def _page_of(out: Dispatch) -> Callable[[Incident], str]:
    """The page incident that took over an escalated ticket."""
    def page(incident: Incident) -> str:
        taken = out.incidents.get(("page", *incident.key[1:])) if incident.status == "escalated" else None
        return taken.id if taken is not None else ""

    return page


def _paging_body(notice: Notice, found: list[Reduction]) -> Body:
    return reduced_message(notice.incident, found) if notice.kind != "resolved" else restored_message(notice.incident)


def _status(freshness: Freshness, tick: _Tick) -> TickStatus:
    watermark = freshness.watermark
    lag = max(0.0, (freshness.now - watermark).total_seconds()) if watermark else 0.0
    opened = {"page": 0, "ticket": 0}
    for incident in tick.dispatch.incidents.values():
        if incident.open:
            opened[incident.severity] = opened.get(incident.severity, 0) + 1
    sent = {"page": 0, "ticket": 0}
    for d in tick.dispatch.decisions:
        if d.decision in ("delivered", "unconfirmed") and d.severity in sent:
            sent[d.severity] += 1
    return TickStatus(freshness.describe(), lag, opened, tick.dimensions, sent, freshness.stale, tick.overrides_left_out)
