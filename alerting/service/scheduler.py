"""Wiring alerting to ClickHouse, Redis and Slack, and scheduling a tick every minute under a Redis lease."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from redis import Redis

from alerting.delivery.heartbeat import Heartbeat
from alerting.delivery.marks import LocalMarks, Marks, RedisMarks
from alerting.evaluation.evaluator import Evaluator, EvaluatorOptions
from alerting.evaluation.store import AlertStore
from alerting.incidents.alert_log import Decision
from alerting.policy.recommended_models import RecommendedModels
from alerting.receivers.dispatch import Sender
from alerting.rules.window_query import window_end
from alerting.service.metrics import AlertMetrics
from runtime.clickhouse import ClickHouseClient
from runtime.settings import Settings
from schemas.alert_policy import AlertPolicy

log = logging.getLogger(__name__)

TICK_SECOND = 5
"""Ticks run a few seconds after the minute; the freshness watermark decides whether the minute is loaded."""


def connect_redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


def _no_recommended_models() -> frozenset[str] | None:
    return None


def build_evaluator(settings: Settings, policy: AlertPolicy, clickhouse: ClickHouseClient, redis: Redis | None,
                    sender: Sender, metrics: AlertMetrics, write: bool = True) -> Evaluator:
    """Without `redis`, claims stay in the process; `write` False stores nothing (a dry run)."""
    models: Callable[[], frozenset[str] | None] = _no_recommended_models
    if settings.recommended_models_url:
        models = RecommendedModels(settings.recommended_models_url, redis).current
    options = EvaluatorOptions(", ".join(settings.event_topics()), timedelta(seconds=settings.alert_stale_after_s),
                               settings.alert_data_wait_s, public_url=settings.public_url)
    store = AlertStore(clickhouse, settings.event_topics(), f"{socket.gethostname()}:{os.getpid()}")
    marks: Marks = RedisMarks(redis, metrics.redis_degraded.inc) if redis is not None else LocalMarks()
    return Evaluator(policy, store, marks, sender, models, options, write=write)


class LeasedTicks:
    """Several replicas may run; a Redis lease per tick makes one of them evaluate. Without Redis, evaluate anyway."""

    def __init__(self, evaluator: Any, redis: Redis, metrics: AlertMetrics, owner: str | None = None,
                 heartbeat: Heartbeat | None = None) -> None:
        self._evaluator = evaluator
        self._redis = redis
        self._metrics = metrics
        self._owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self._heartbeat = heartbeat

    def run(self, now: datetime) -> list[Decision] | None:
        tick = window_end(now).isoformat()
        try:
            if not self._redis.set(f"o11y:alert-lease:{tick}", self._owner, nx=True, ex=55):
                self._metrics.ticks_skipped.labels("another_replica").inc()
                return None
        except Exception:  # noqa: BLE001 - no Redis: evaluate anyway, a duplicate beats a missed page
            self._metrics.redis_degraded.inc()
        started = time.monotonic()
        decisions = self._evaluator.evaluate_tick(now)
        seconds = time.monotonic() - started
        self._metrics.evaluation_duration.observe(seconds)
        for d in decisions:
            self._metrics.decisions.labels(d.severity or "none", d.decision).inc()
            if d.receiver:
                self._metrics.deliveries.labels(d.receiver, d.decision).inc()
        status = getattr(self._evaluator, "status", None)
        if status is not None:
            self._metrics.data_lag.set(status.data_lag_s)
            self._metrics.overrides_left_out.set(status.overrides_left_out)
            for severity, count in status.open_incidents.items():
                self._metrics.open_incidents.labels(severity).set(count)
            log.info("%s", status.summary(window_end(now), seconds))
        if self._heartbeat is not None:
            self._heartbeat.beat()
        return list(decisions)


class TickRunner(Protocol):
    def run(self, now: datetime) -> Any: ...


def build_scheduler(ticks: TickRunner, trigger: BaseTrigger | None = None,
                    metrics: AlertMetrics | None = None) -> BackgroundScheduler:
    """Every minute at :05; never two runs at once; a run that overlaps the next is counted as skipped."""
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    trigger = trigger or CronTrigger(second=TICK_SECOND, timezone=timezone.utc)

    def job() -> None:
        try:
            ticks.run(datetime.now(timezone.utc))
        except Exception:
            log.exception("evaluation tick failed")

    def skipped(event: JobEvent) -> None:
        reason = "overrun" if event.code == EVENT_JOB_MAX_INSTANCES else "missed"
        log.warning("evaluation tick skipped (%s): the previous tick was still running", reason)
        if metrics is not None:
            metrics.ticks_skipped.labels(reason).inc()

    scheduler.add_listener(skipped, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
    scheduler.add_job(job, trigger, id="evaluate", max_instances=1, coalesce=True, misfire_grace_time=50)
    return scheduler
