"""One evaluation tick: counts → trips → dedup → Slack → markers → alert log. Time is a parameter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from redis.exceptions import RedisError

from alerting.alert_state import AlertKey, AlertState, LocalCooldowns
from alerting.decisions import TierReading, Trip, find_trips, read_tier
from alerting.slack_messages import alert_message, resolve_message
from alerting.slack_notifier import Notifier
from alerting.window_query import Dimension, WindowCounts, window_end
from schemas.slo_spec import AlertPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    tick: str
    decision: str  # fired, suppressed, delivered, failed, resolved, degraded
    severity: str
    slo: str
    tier: str
    provider: str
    model: str
    client_name: str
    threshold: float
    burn_long: float
    burn_short: float
    bad_long: int
    total_long: int
    bad_short: int
    total_short: int
    observed_p50_ms: float | None
    observed_p90_ms: float | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decision(tick: str, what: str, severity: str, reading: TierReading, detail: str = "") -> Decision:
    provider, model, client = reading.dimension
    p50, p90 = reading.percentiles or (None, None)
    return Decision(
        tick, what, severity, reading.slo.name, reading.window.name, provider, model, client,
        float(reading.window.burn_rate), float(reading.burn_long), float(reading.burn_short),
        reading.long.bad, reading.long.total, reading.short.bad, reading.short.total, p50, p90, detail,
    )


@dataclass
class Evaluator:
    policy: AlertPolicy
    counts: Callable[[datetime], dict[Dimension, WindowCounts]]
    state: AlertState
    notifier: Notifier
    page_models: Callable[[], frozenset[str] | None]
    record: Callable[[list[Decision]], None] = lambda decisions: None
    on_degraded: Callable[[], None] = lambda: None

    def __post_init__(self) -> None:
        self._local = LocalCooldowns()

    def page_eligible(self, client: str, model: str, models: frozenset[str] | None) -> bool:
        if client not in self.policy.page_clients:
            return False
        allowed = (models or frozenset()) | set(self.policy.page_models)
        return not allowed or model in allowed

    def evaluate_tick(self, now: datetime) -> list[Decision]:
        tick = window_end(now).isoformat()
        by_dimension = self.counts(now)
        models = self.page_models()
        trips = find_trips(self.policy, by_dimension, lambda c, m: self.page_eligible(c, m, models))
        decisions: list[Decision] = []
        for trip in trips:
            decisions.extend(self._notify(tick, trip, now))
        decisions.extend(self._resolve(tick, by_dimension))
        self.record(decisions)
        return decisions

    def _notify(self, tick: str, trip: Trip, now: datetime) -> list[Decision]:
        key = trip.key
        if self._local.suppressed(key):
            return [_decision(tick, "suppressed", trip.severity, trip.reading, "already sent by this evaluator while Redis was down")]
        try:
            if self.state.suppressed(key):
                return [_decision(tick, "suppressed", trip.severity, trip.reading, "cooldown or an open page")]
            if not self.state.claim(tick, key):
                return [_decision(tick, "suppressed", trip.severity, trip.reading, "claimed by another evaluator")]
        except RedisError as err:
            return self._notify_degraded(tick, trip, err)
        fired = _decision(tick, "fired", trip.severity, trip.reading, "downgraded to ticket" if trip.downgraded else "")
        if not self.notifier.send(trip.severity, alert_message(trip)):
            self._release(tick, key)
            return [fired, _decision(tick, "failed", trip.severity, trip.reading, "Slack did not accept; retried next tick")]
        try:
            self.state.mark_fired(key, self.policy.cooldown(trip.severity), now.astimezone(timezone.utc).isoformat(),
                                  trip.reading.window.name)
        except RedisError as err:
            self._local.mark_fired(key, self.policy.cooldown(trip.severity))
            self.on_degraded()
            log.error("alert marker not written to Redis (%s); remembered in this process", type(err).__name__)
        return [fired, _decision(tick, "delivered", trip.severity, trip.reading)]

    def _notify_degraded(self, tick: str, trip: Trip, err: Exception) -> list[Decision]:
        """Redis is down: a page still goes out (once per cooldown per process); tickets wait."""
        self.on_degraded()
        reason = f"Redis unavailable ({type(err).__name__})"
        if trip.severity != "page":
            return [_decision(tick, "degraded", trip.severity, trip.reading, f"{reason}: ticket deferred")]
        if self._local.suppressed(trip.key):
            return [_decision(tick, "suppressed", trip.severity, trip.reading, f"{reason}: already paged by this process")]
        fired = _decision(tick, "fired", trip.severity, trip.reading, f"{reason}: paging without dedup")
        if not self.notifier.send(trip.severity, alert_message(trip)):
            return [fired, _decision(tick, "failed", trip.severity, trip.reading, "Slack did not accept; retried next tick")]
        self._local.mark_fired(trip.key, self.policy.cooldown(trip.severity))
        return [fired, _decision(tick, "delivered", trip.severity, trip.reading, reason)]

    def _release(self, tick: str, key: AlertKey) -> None:
        try:
            self.state.release(tick, key)
        except RedisError:
            self.on_degraded()

    def _resolve(self, tick: str, by_dimension: dict[Dimension, WindowCounts]) -> list[Decision]:
        try:
            open_alerts = self.state.open_alerts()
        except RedisError:
            self.on_degraded()
            return []
        slos = {slo.name: slo for slo in self.policy.slos}
        decisions = []
        for key, tier in open_alerts:
            severity, slo_name, provider, model, client = key
            slo = slos.get(slo_name)
            window = next((w for w in slo.windows if w.name == tier), None) if slo else None
            if slo is None or window is None:
                self.state.close(key)  # the SLO or tier left the config
                continue
            dimension = (provider, model, client)
            reading = read_tier(slo, window, dimension, by_dimension.get(dimension, WindowCounts({}, {})))
            if not reading.recovered():
                continue
            if self.notifier.send(severity, resolve_message(reading, severity)):
                try:
                    self.state.close(key)
                except RedisError:
                    self.on_degraded()
                decisions.append(_decision(tick, "resolved", severity, reading))
            else:
                decisions.append(_decision(tick, "failed", severity, reading, "resolve not accepted; retried next tick"))
        return decisions
