"""Running the aiohttp applications until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from o11y.logs import configure_logging
from o11y.settings import Settings

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.clickhouse_migrations import Retention

log = logging.getLogger(__name__)


def _install_uvloop() -> None:
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def admin_app(settings: Settings) -> web.Application | None:
    """The operations app (/readyz, /metrics) when O11Y_ADMIN_PORT moves them off the service port."""
    return web.Application() if settings.admin_port else None


def admin_tokens(settings: Settings) -> Any:
    from ingest.client_secrets import ClientSecrets

    return ClientSecrets(settings.admin_tokens)


def run_http(settings: Settings, app: web.Application, admin: web.Application | None, shutdown_timeout_s: float) -> None:
    from o11y.http_server import run

    apps = [(app, settings.http_host, settings.http_port)]
    if admin is not None and settings.admin_port:
        apps.append((admin, settings.http_host, settings.admin_port))
        log.info("readiness and metrics on http://%s:%d", settings.http_host, settings.admin_port)
    run(apps, settings.http_keepalive_timeout_s, shutdown_timeout_s)


def serve_ingest(settings: Settings) -> int:
    from ingest.app import create_app

    configure_logging(settings.log_level)
    _install_uvloop()
    admin = admin_app(settings)
    try:
        app = create_app(settings, admin=admin)
    except ValueError as err:
        log.error("cannot start ingest: %s", err)
        return 2
    log.info("ingest listening on http://%s:%d", settings.http_host, settings.http_port)
    run_http(settings, app, admin, 10)
    return 0


def retention(settings: Settings) -> "Retention":
    from ingest.clickhouse_migrations import Retention

    return Retention(settings.clickhouse_raw_ttl_days, settings.clickhouse_rollup_ttl_days, settings.clickhouse_alert_ttl_days)


def run_migrate(settings: Settings) -> int:
    from ingest.clickhouse_migrations import applied_version, migrate
    from o11y.clickhouse import connect

    configure_logging(settings.log_level)
    from o11y.clickhouse import ClickHouseUnavailable

    if not settings.clickhouse_url:
        log.error("O11Y_CLICKHOUSE_URL is not set")
        return 2
    try:
        client = connect(settings.clickhouse_url)
    except ClickHouseUnavailable as err:
        log.error("%s", err)
        return 2
    applied = migrate(client, retention(settings))
    print(f"ClickHouse schema at version {applied_version(client)}"
          + (f" (applied {', '.join(map(str, applied))})" if applied else " (nothing to do)"))
    return 0


def serve_loader(settings: Settings) -> int:
    from prometheus_client import CollectorRegistry

    from ingest.clickhouse_migrations import require_schema
    from ingest.loader_service import loader_context
    from o11y.clickhouse import ClickHouseUnavailable, connect
    from o11y.health import add_health_routes

    configure_logging(settings.log_level)
    if not settings.clickhouse_url or not settings.kafka_bootstrap_servers:
        log.error("O11Y_CLICKHOUSE_URL and O11Y_KAFKA_BOOTSTRAP_SERVERS must be set")
        return 2
    try:
        client = connect(settings.clickhouse_url)
        require_schema(client)
    except (RuntimeError, ClickHouseUnavailable) as err:
        log.error("%s", err)
        return 2
    registry = CollectorRegistry()
    app, admin = web.Application(), admin_app(settings)
    add_health_routes(app, registry, admin, admin_tokens(settings))
    app.cleanup_ctx.append(loader_context(settings, client, registry))
    log.info("loader health and metrics on http://%s:%d", settings.http_host, settings.http_port)
    run_http(settings, app, admin, 30)
    return 0


def _open_alert_store(settings: Settings) -> Any:
    """ClickHouse for alerting, with one clear line when it cannot be used (held by another process, old schema)."""
    from ingest.clickhouse_migrations import require_schema
    from o11y.clickhouse import connect

    if not settings.clickhouse_url:
        raise ValueError("O11Y_CLICKHOUSE_URL must be set")
    client = connect(settings.clickhouse_url)
    require_schema(client)
    return client


def _alert_parts(settings: Settings, registry: Any, dry_run: bool = False) -> tuple[Any, Any, Any]:
    """(evaluator, redis, metrics) for `o11y alert`; a dry run needs no Redis and no webhooks, and writes nothing."""
    from alerting.alert_metrics import AlertMetrics
    from alerting.alert_service import build_evaluator, build_notifier, connect_redis, courier
    from alerting.slack_notifier import DryRun
    from alerting.slo_config import load_policy

    policy = load_policy(settings.slo_config)
    if dry_run:
        metrics = AlertMetrics.create(registry)
        return build_evaluator(settings, policy, _open_alert_store(settings), None, DryRun(), metrics, write=False), None, metrics
    if not settings.redis_url:
        raise ValueError("O11Y_REDIS_URL must be set")
    sender = courier(settings, build_notifier(settings))
    clickhouse = _open_alert_store(settings)
    metrics = AlertMetrics.create(registry)
    redis = connect_redis(settings.redis_url)
    return build_evaluator(settings, policy, clickhouse, redis, sender, metrics), redis, metrics


ALERT_SETUP_ERRORS: tuple[type[Exception], ...] = (ValueError, RuntimeError)


def _setup_errors() -> tuple[type[Exception], ...]:
    from alerting.slo_config import SloConfigError
    from o11y.clickhouse import ClickHouseUnavailable

    return (*ALERT_SETUP_ERRORS, SloConfigError, ClickHouseUnavailable)


def run_alert_once(settings: Settings, at: str | None, dry_run: bool = False) -> int:
    """One tick; stdout carries one JSON line per decision and nothing else."""
    import json
    from datetime import datetime, timezone

    from prometheus_client import CollectorRegistry

    configure_logging(settings.log_level)
    try:
        now = datetime.fromisoformat(at) if at else datetime.now(timezone.utc)
        evaluator, _, _ = _alert_parts(settings, CollectorRegistry(), dry_run)
    except _setup_errors() as err:
        log.error("%s", err)
        return 2
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    for decision in evaluator.evaluate_tick(now):
        print(json.dumps(decision.as_dict()), flush=True)
    return 0


def alert_context(settings: Settings, evaluator: Any, redis: Any, metrics: Any) -> Any:
    """A cleanup context running the minute scheduler for the life of the application."""
    from collections.abc import AsyncIterator

    from alerting.alert_service import LeasedTicks, build_scheduler
    from alerting.heartbeat import Heartbeat
    from o11y.health import NOTES, READINESS

    heartbeat = None
    if settings.alert_heartbeat_url:
        heartbeat = Heartbeat(settings.alert_heartbeat_url.get_secret_value(), metrics.heartbeat_failures.inc)

    async def context(app: web.Application) -> AsyncIterator[None]:
        scheduler = build_scheduler(LeasedTicks(evaluator, redis, metrics, heartbeat=heartbeat), metrics=metrics)
        scheduler.start()
        app[READINESS]["redis"] = lambda: _redis_ready(redis)
        app[READINESS]["clickhouse"] = lambda: _clickhouse_ready(evaluator)
        app[NOTES]["data"] = lambda: _data_note(evaluator)
        yield
        scheduler.shutdown(wait=True)

    return context


async def _redis_ready(redis: Any) -> str | None:
    try:
        await asyncio.to_thread(redis.ping)
    except Exception as err:  # noqa: BLE001 - any failure means not reachable
        return f"Redis unreachable ({type(err).__name__}); pages still go out without a claim"
    return None


async def _clickhouse_ready(evaluator: Any) -> str | None:
    from datetime import datetime, timezone

    try:
        await asyncio.to_thread(evaluator.freshness, datetime.now(timezone.utc), False)
    except Exception as err:  # noqa: BLE001 - any failure means no tick can be judged
        return f"ClickHouse unreachable ({type(err).__name__}): no tick can be judged"
    return None


async def _data_note(evaluator: Any) -> str:
    """Whether the freshness guard works (it needs loader progress) and what it sees."""
    from datetime import datetime, timezone

    try:
        freshness = await asyncio.to_thread(evaluator.freshness, datetime.now(timezone.utc), False)
    except Exception as err:  # noqa: BLE001 - reported by the clickhouse check
        return f"unknown ({type(err).__name__})"
    return str(freshness.describe())


def serve_alert(settings: Settings) -> int:
    from prometheus_client import CollectorRegistry

    from o11y.health import add_health_routes

    configure_logging(settings.log_level)
    registry = CollectorRegistry()
    try:
        evaluator, redis, metrics = _alert_parts(settings, registry)
    except _setup_errors() as err:
        log.error("%s", err)
        return 2
    app, admin = web.Application(), admin_app(settings)
    add_health_routes(app, registry, admin, admin_tokens(settings))
    app.cleanup_ctx.append(alert_context(settings, evaluator, redis, metrics))
    log.info("alerting every minute; health and metrics on http://%s:%d", settings.http_host, settings.http_port)
    run_http(settings, app, admin, 10)
    return 0
