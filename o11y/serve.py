"""Running the aiohttp applications until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from runtime.logs import configure_logging
from runtime.settings import Settings

if TYPE_CHECKING:
    from storage.table import Retention

log = logging.getLogger(__name__)


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def admin_app(settings: Settings) -> web.Application | None:
    """The operations app (/readyz, /metrics) when O11Y_ADMIN_PORT moves them off the service port."""
    return web.Application() if settings.admin_port else None


def run_http(settings: Settings, app: web.Application, admin: web.Application | None, shutdown_timeout_s: float) -> None:
    from runtime.http_server import run

    apps = [(app, settings.http_host, settings.http_port)]
    if admin is not None and settings.admin_port:
        apps.append((admin, settings.http_host, settings.admin_port))
        log.info("readiness and metrics on http://%s:%d", settings.http_host, settings.admin_port)
    run(apps, settings.http_keepalive_timeout_s, shutdown_timeout_s, settings.http_reuse_port)


def serve_ingest(settings: Settings) -> int:
    from ingest.edge.app import create_app

    configure_logging(settings.log_level, settings.log_format)
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


def serve_ingest_workers(settings: Settings, workers: int) -> int:
    """`o11y ingest --workers N`: what makes ingest impossible is said once, here, before any worker starts."""
    from ingest.edge.app import check_settings
    from o11y.workers import run_workers

    if workers > 1:
        configure_logging(settings.log_level, settings.log_format)
        try:
            check_settings(settings)
        except ValueError as err:
            log.error("cannot start ingest: %s", err)
            return 2
    return run_workers(serve_ingest, settings, workers, drain_s=10)


def retention(settings: Settings) -> Retention:
    from storage.table import Retention

    return Retention(settings.clickhouse_raw_ttl_days, settings.clickhouse_rollup_ttl_days, settings.clickhouse_alert_ttl_days,
                     settings.dedup_horizon_s)


def run_migrate(settings: Settings) -> int:
    from runtime.clickhouse import connect
    from storage.schema import applied_version, migrate

    configure_logging(settings.log_level, settings.log_format)
    from runtime.clickhouse import ClickHouseUnavailable

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

    from ingest.loading.service import LOADER_STOPPED, create_loader_app
    from runtime.clickhouse import ClickHouseUnavailable, connect
    from storage.schema import require_schema

    configure_logging(settings.log_level, settings.log_format)
    if not settings.clickhouse_url or not settings.kafka_bootstrap_servers:
        log.error("O11Y_CLICKHOUSE_URL and O11Y_KAFKA_BOOTSTRAP_SERVERS must be set")
        return 2
    try:
        client = connect(settings.clickhouse_url)
        require_schema(client)
    except (RuntimeError, ClickHouseUnavailable) as err:
        log.error("%s", err)
        return 2
    admin = admin_app(settings)
    app = create_loader_app(settings, client, CollectorRegistry(), admin=admin)
    log.info("loader health and metrics on http://%s:%d", settings.http_host, settings.http_port)
    run_http(settings, app, admin, 30)
    return 1 if app[LOADER_STOPPED] else 0


def open_alert_store(settings: Settings) -> Any:
    """ClickHouse for alerting, with one clear line when it cannot be used (held by another process, old schema)."""
    from runtime.clickhouse import connect
    from storage.schema import require_schema

    if not settings.clickhouse_url:
        raise ValueError("O11Y_CLICKHOUSE_URL must be set")
    client = connect(settings.clickhouse_url)
    require_schema(client)
    return client


def _setup_errors() -> tuple[type[Exception], ...]:
    from alerting.policy.slo_config import SloConfigError
    from runtime.clickhouse import ClickHouseUnavailable
    from schemas.prices import PriceTableError

    return (ValueError, RuntimeError, SloConfigError, ClickHouseUnavailable, PriceTableError)


def _one_tick_evaluator(settings: Settings, dry_run: bool) -> Any:
    """`alert --once`: the evaluator alone; a dry run needs no Redis and no webhooks, and writes nothing."""
    from prometheus_client import CollectorRegistry

    from alerting.policy.slo_config import load_policy
    from alerting.service.metrics import AlertMetrics
    from alerting.service.scheduler import build_evaluator, connect_redis
    from alerting.service.senders import build_sender, dry_run_sender

    policy = load_policy(settings.slo_config)
    metrics = AlertMetrics.create(CollectorRegistry())
    if dry_run:
        return build_evaluator(settings, policy, open_alert_store(settings), None, dry_run_sender(policy), metrics,
                               write=False)
    if not settings.redis_url:
        raise ValueError("O11Y_REDIS_URL must be set")
    sender = build_sender(settings, policy)
    return build_evaluator(settings, policy, open_alert_store(settings), connect_redis(settings.redis_url), sender, metrics)


def run_alert_once(settings: Settings, at: str | None, dry_run: bool = False) -> int:
    """One tick; stdout carries one JSON line per decision and nothing else."""
    import json
    from datetime import datetime, timezone

    configure_logging(settings.log_level, settings.log_format)
    try:
        now = datetime.fromisoformat(at) if at else datetime.now(timezone.utc)
        evaluator = _one_tick_evaluator(settings, dry_run)
    except _setup_errors() as err:
        log.error("%s", err)
        return 2
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    for decision in evaluator.evaluate_tick(now):
        print(json.dumps(decision.as_dict()), flush=True)
    return 0


def serve_alert(settings: Settings) -> int:
    from prometheus_client import CollectorRegistry

    from alerting.policy.slo_config import load_policy
    from alerting.service.app import create_alert_app
    from alerting.service.senders import build_sender

    configure_logging(settings.log_level, settings.log_format)
    try:
        policy = load_policy(settings.slo_config)
        if not settings.redis_url:
            raise ValueError("O11Y_REDIS_URL must be set")
        sender = build_sender(settings, policy)
        clickhouse = open_alert_store(settings)
    except _setup_errors() as err:
        log.error("%s", err)
        return 2
    admin = admin_app(settings)
    app = create_alert_app(settings, policy, clickhouse, sender, CollectorRegistry(), admin=admin)
    log.info("alerting every minute; health and metrics on http://%s:%d", settings.http_host, settings.http_port)
    run_http(settings, app, admin, 10)
    return 0


def serve_api(settings: Settings) -> int:
    """`o11y api`: incidents, SLO overrides, silences and baselines over HTTP."""
    from prometheus_client import CollectorRegistry

    from alerting.policy.slo_config import load_policy
    from api.app import create_api_app
    from schemas.prices import load_prices

    configure_logging(settings.log_level, settings.log_format)
    try:
        policy = load_policy(settings.slo_config)
        prices = load_prices(settings.prices)
        clickhouse = open_alert_store(settings)
    except _setup_errors() as err:
        log.error("%s", err)
        return 2
    if not settings.api_tokens and not settings.admin_tokens:
        log.warning("neither O11Y_API_TOKENS nor O11Y_ADMIN_TOKENS is set: every /v1 call will get 401")
    admin = admin_app(settings)
    app = create_api_app(settings, policy, clickhouse, CollectorRegistry(), admin=admin, prices=prices, warm=True)
    log.info("read API on http://%s:%d", settings.http_host, settings.http_port)
    run_http(settings, app, admin, 10)
    return 0
