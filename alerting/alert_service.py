"""Wiring alerting to ClickHouse, Redis and Slack, and scheduling a tick every minute under a Redis lease."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from redis import Redis
from redis.exceptions import RedisError

from alerting.alert_log import AlertLog
from alerting.alert_metrics import AlertMetrics
from alerting.alert_state import AlertState
from alerting.evaluator import Decision, Evaluator
from alerting.recommended_models import RecommendedModels
from alerting.slack_notifier import ConsoleNotifier, Notifier, SlackWebhooks
from alerting.window_query import fetch_window_counts, window_end
from schemas.slo_spec import AlertPolicy
from o11y.settings import Settings

log = logging.getLogger(__name__)

TICK_SECOND = 5
"""Ticks run a few seconds after the minute, so the last complete minute has been loaded."""


class _PerSeverity:
    def __init__(self, slack: SlackWebhooks, console: ConsoleNotifier, configured: set[str]) -> None:
        self._slack, self._console, self._configured = slack, console, configured

    def send(self, severity: str, body: dict[str, Any]) -> bool:
        target: Notifier = self._slack if severity in self._configured else self._console
        return target.send(severity, body)


def build_notifier(settings: Settings) -> Notifier:
    page = settings.slack_page_webhook_url.get_secret_value() if settings.slack_page_webhook_url else None
    ticket = settings.slack_ticket_webhook_url.get_secret_value() if settings.slack_ticket_webhook_url else None
    configured = {s for s, url in (("page", page), ("ticket", ticket)) if url}
    return _PerSeverity(SlackWebhooks(page, ticket), ConsoleNotifier(), configured)


def connect_redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


def build_evaluator(settings: Settings, policy: AlertPolicy, clickhouse: Any, redis: Redis,
                    notifier: Notifier, metrics: AlertMetrics) -> Evaluator:
    models: Callable[[], frozenset[str] | None] = lambda: None
    if settings.recommended_models_url:
        models = RecommendedModels(settings.recommended_models_url, redis).current
    alert_log = AlertLog(clickhouse)

    def record(decisions: list[Decision]) -> None:
        for d in decisions:
            metrics.decisions.labels(d.severity, d.decision).inc()
        alert_log.record(decisions)

    return Evaluator(policy, lambda now: fetch_window_counts(clickhouse, policy, now), AlertState(redis), notifier,
                     models, record, metrics.redis_degraded.inc)


class LeasedTicks:
    """Several replicas may run; a Redis lease per tick makes one of them evaluate. Without Redis, evaluate anyway."""

    def __init__(self, evaluator: Evaluator, redis: Redis, metrics: AlertMetrics, owner: str | None = None) -> None:
        self._evaluator = evaluator
        self._redis = redis
        self._metrics = metrics
        self._owner = owner or f"{socket.gethostname()}:{os.getpid()}"

    def run(self, now: datetime) -> list[Decision] | None:
        tick = window_end(now).isoformat()
        try:
            if not self._redis.set(f"o11y:alert-lease:{tick}", self._owner, nx=True, ex=55):
                self._metrics.ticks_skipped.inc()
                return None
        except RedisError:
            self._metrics.redis_degraded.inc()
        started = time.monotonic()
        try:
            return self._evaluator.evaluate_tick(now)
        finally:
            self._metrics.evaluation_duration.observe(time.monotonic() - started)


class TickRunner(Protocol):
    def run(self, now: datetime) -> Any: ...


def build_scheduler(ticks: TickRunner, trigger: CronTrigger | None = None) -> BackgroundScheduler:
    """Every minute at :05; never two runs at once; missed ticks collapse into one."""
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    trigger = trigger or CronTrigger(second=TICK_SECOND, timezone=timezone.utc)

    def job() -> None:
        try:
            ticks.run(datetime.now(timezone.utc))
        except Exception:  # noqa: BLE001 - one bad tick must not stop the schedule
            log.exception("evaluation tick failed")

    scheduler.add_job(job, trigger, id="evaluate",
                      max_instances=1, coalesce=True, misfire_grace_time=50)
    return scheduler
