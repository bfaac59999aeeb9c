"""The alerting process's app factory: Redis and the minute scheduler as cleanup contexts, health beside them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone

from aiohttp import web
from prometheus_client import CollectorRegistry
from redis import Redis

from alerting.delivery.heartbeat import Heartbeat
from alerting.evaluation.evaluator import Evaluator
from alerting.receivers.dispatch import Sender
from alerting.service.metrics import AlertMetrics
from alerting.service.scheduler import LeasedTicks, build_evaluator, build_scheduler, connect_redis
from runtime.clickhouse import ClickHouseClient
from runtime.client_secrets import ClientSecrets
from runtime.health import NOTES, READINESS, add_health_routes
from runtime.settings import Settings
from schemas.alert_policy import AlertPolicy

REDIS = web.AppKey("alert_redis", Redis)


def create_alert_app(settings: Settings, policy: AlertPolicy, clickhouse: ClickHouseClient, sender: Sender,
                     registry: CollectorRegistry, app: web.Application | None = None,
                     admin: web.Application | None = None) -> web.Application:
    """`o11y alert`: evaluate `policy` every minute. With `app`, alerting joins that application (as in `o11y dev`)."""
    if app is None:
        app = web.Application()
        add_health_routes(app, registry, admin, ClientSecrets(settings.admin_tokens))
    metrics = AlertMetrics.create(registry)
    app.cleanup_ctx.extend([_redis_context(settings), _scheduler_context(settings, policy, clickhouse, sender, metrics)])
    return app


def _redis_context(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        redis = connect_redis(settings.redis_url or "")
        app[REDIS] = redis
        app[READINESS]["redis"] = lambda: _redis_ready(redis)
        try:
            yield
        finally:
            await asyncio.to_thread(redis.close)

    return context


def _scheduler_context(settings: Settings, policy: AlertPolicy, clickhouse: ClickHouseClient, sender: Sender,
                       metrics: AlertMetrics) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        redis = app[REDIS]
        evaluator = build_evaluator(settings, policy, clickhouse, redis, sender, metrics)
        heartbeat = None
        if settings.alert_heartbeat_url:
            heartbeat = Heartbeat(settings.alert_heartbeat_url.get_secret_value(), metrics.heartbeat_failures.inc)
        scheduler = build_scheduler(LeasedTicks(evaluator, redis, metrics, heartbeat=heartbeat), metrics=metrics)
        app[READINESS]["clickhouse"] = lambda: _clickhouse_ready(evaluator)
        app[NOTES]["data"] = lambda: _data_note(evaluator)
        scheduler.start()
        try:
            yield
        finally:
            scheduler.shutdown(wait=True)

    return context


async def _redis_ready(redis: Redis) -> str | None:
    try:
        await asyncio.to_thread(redis.ping)
    except Exception as err:  # noqa: BLE001 - any failure means not reachable
        return f"Redis unreachable ({type(err).__name__}); pages still go out without a claim"
    return None


async def _clickhouse_ready(evaluator: Evaluator) -> str | None:
    try:
        await asyncio.to_thread(evaluator.freshness, datetime.now(timezone.utc), False)
    except Exception as err:  # noqa: BLE001 - any failure means no tick can be judged
        return f"ClickHouse unreachable ({type(err).__name__}): no tick can be judged"
    return None


async def _data_note(evaluator: Evaluator) -> str:
    """Whether the freshness guard works (it needs loader progress) and what it sees."""
    try:
        freshness = await asyncio.to_thread(evaluator.freshness, datetime.now(timezone.utc), False)
    except Exception as err:  # noqa: BLE001 - reported by the clickhouse check
        return f"unknown ({type(err).__name__})"
    return freshness.describe()
