"""`o11y dev`: every part in one process tree on the embedded defaults."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from o11y.embedded import EmbeddedKafka, EmbeddedRedis
from runtime.logs import configure_logging
from runtime.settings import Settings
from schemas.event_registry import EVENT_TYPES
from storage.catalog import RAW_TABLES
from storage.loading import LOADED_OFFSETS

log = logging.getLogger("o11y.dev")

DEV_CLIENTS = ("kilo-gateway", "batch-jobs")
"""Development clients: the page-eligible gateway, and one whose alerts are tickets."""


def dev_secrets(data_dir: Path) -> dict[str, str]:
    """Development client secrets, kept under the data dir so they survive restarts; the main client's also alone in
    `dev-client-secret`, the file the banner names."""
    path, main = data_dir / "dev-clients.json", data_dir / "dev-client-secret"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in DEV_CLIENTS if name not in known]
    if missing:
        known.update({name: secrets.token_urlsafe(24) for name in missing})
        path.write_text(json.dumps(known, indent=2) + "\n")
        path.chmod(0o600)
    if missing or not main.exists():
        main.write_text(known[DEV_CLIENTS[0]] + "\n")
        main.chmod(0o600)
    return known


def dev_admin_token(data_dir: Path) -> str:
    """The development admin token (for /v1/slo/overrides and /v1/silences), kept under the data dir."""
    path = data_dir / "dev-admin-token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def dev_token_file(settings: Settings) -> Path | None:
    """The file `dev_admin_token` wrote, when this process's admin token is the one in it: the sign-in page says where
    it is (never what it is)."""
    path = settings.data_dir / "dev-admin-token"
    if not path.is_file():
        return None
    token = path.read_text().strip().encode()
    mine = [s.get_secret_value().encode() for s in settings.admin_tokens.get("dev-admin", [])]
    return path if any(hmac.compare_digest(token, m) for m in mine) else None


def _announce(component: str, where: str) -> None:
    print(f"o11y dev: {component:<10} {where}", flush=True)


EXAMPLE_PRICES = Path(__file__).resolve().parents[1] / "deploy" / "prices.yaml"


def prepare(settings: Settings, stack: ExitStack) -> Settings:
    """Start embedded components for whatever is not configured; return the effective settings."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    updates: dict[str, object] = {}

    def use(component: str, field: str, configured: str | None, embedded: Callable[[], tuple[str, str]]) -> None:
        """A configured service replaces the embedded one; credentials in its URL are never printed."""
        if configured:
            _announce(component, configured.split("@")[-1])
            return
        address, note = embedded()
        updates[field] = address
        _announce(component, f"{address} ({note})")

    def kafka() -> tuple[str, str]:
        broker = EmbeddedKafka(log_path=settings.data_dir / "kafka.log")
        stack.enter_context(broker)
        return broker.bootstrap_servers, "embedded tansu, memory storage"

    def redis() -> tuple[str, str]:
        server = EmbeddedRedis(log_path=settings.data_dir / "redis.log", data_dir=settings.data_dir / "redis")
        stack.enter_context(server)
        return server.url, "embedded redis-server, kept across restarts"

    def chdb() -> tuple[str, str]:
        return f"chdb://{(settings.data_dir / 'chdb').resolve()}", "embedded chDB, kept across restarts"

    use("kafka", "kafka_bootstrap_servers", settings.kafka_bootstrap_servers, kafka)
    use("clickhouse", "clickhouse_url", settings.clickhouse_url, chdb)
    use("redis", "redis_url", settings.redis_url, redis)
    if not settings.client_secrets:
        known = dev_secrets(settings.data_dir)
        updates["client_secrets"] = {name: [SecretStr(value)] for name, value in known.items()}
        main = DEV_CLIENTS[0]
        # The secret itself is never printed: terminals are recorded, scrolled back and shared.
        _announce("client", f"{main}, its secret in {settings.data_dir / 'dev-client-secret'} "
                            f"(every dev client's in {settings.data_dir / 'dev-clients.json'})")
    if settings.prices is None and EXAMPLE_PRICES.is_file():
        updates["prices"] = EXAMPLE_PRICES
        _announce("prices", f"{EXAMPLE_PRICES} (example prices; set O11Y_PRICES to your own)")
    if not settings.admin_tokens:
        updates["admin_tokens"] = {"dev-admin": [SecretStr(dev_admin_token(settings.data_dir))]}
        _announce("admin", f"token for /v1/slo/overrides and /v1/silences in {settings.data_dir / 'dev-admin-token'}")
    port = settings.dev_api_port()
    if settings.public_url is None and settings.http_port:
        updates["public_url"] = f"http://localhost:{port}"
    return settings.model_copy(update=updates)


async def _serve(settings: Settings, demo: Any = None, embedded_kafka: bool = False) -> None:
    from prometheus_client import CollectorRegistry

    from alerting.policy.slo_config import load_policy
    from alerting.service.app import create_alert_app
    from alerting.service.senders import build_sender
    from api.app import create_api_app
    from ingest.edge.app import create_app
    from ingest.loading.service import create_loader_app
    from o11y.serve import retention
    from runtime.clickhouse import connect
    from storage.schema import migrate

    policy = load_policy(settings.slo_config)
    clickhouse = await asyncio.to_thread(connect, settings.clickhouse_url or "")
    await asyncio.to_thread(migrate, clickhouse, retention(settings))
    if embedded_kafka:
        # The embedded broker starts empty every time: offsets loaded from an earlier run do not apply.
        await asyncio.to_thread(clickhouse.command, f"TRUNCATE TABLE {LOADED_OFFSETS}")
    registry = CollectorRegistry()
    app = create_app(settings, registry=registry)
    create_loader_app(settings, clickhouse, registry, app=app)
    alert_sender = build_sender(settings, policy, console_allowed=True)
    create_alert_app(settings, policy, clickhouse, alert_sender, registry, app=app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5, keepalive_timeout=settings.http_keepalive_timeout_s)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    api_port = settings.dev_api_port()
    api_runner = web.AppRunner(create_api_app(settings, policy, clickhouse, registry, warm=True,
                                               token_file=dev_token_file(settings)), access_log=None,
                                shutdown_timeout=5)
    await api_runner.setup()
    await web.TCPSite(api_runner, settings.http_host, api_port).start()
    for name in EVENT_TYPES:
        _announce("ingest", f"http://{settings.http_host}:{settings.http_port}/ingest/{name}")
        _announce("loader", f"{settings.topic_for(name)} → {RAW_TABLES[name]} (group {settings.loader_group_for(name)})")
    _announce("alerting", f"every minute at :05, notifying {alert_sender.where()}")
    _announce("api", f"http://{settings.http_host}:{api_port}/v1/usage/stats (and /v1/slo/status, /v1/incidents, /openapi.json)")
    _announce("pages", f"http://localhost:{api_port}/ui/ (sign in with the admin token)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("o11y dev: ready (Ctrl-C to stop)", flush=True)
    demo_task = None
    if demo is not False:
        from o11y.demo import run_demo

        demo_secrets = {name: values[0].get_secret_value() for name, values in settings.client_secrets.items()}
        url = settings.local_url(settings.http_port)
        demo_task = asyncio.create_task(run_demo(url, demo_secrets, 20.0, None, demo))
        _announce("demo", f"20 requests/s and a session a second to {url}"
                  + (f", {demo.kind} incident after {demo.start_s:.0f}s" if demo else ""))
    await stop.wait()
    if demo_task is not None:
        demo_task.cancel()
    print("o11y dev: stopping", flush=True)
    await api_runner.cleanup()
    await runner.cleanup()


def run_dev(settings: Settings, demo: Any = False) -> int:
    """`demo`: False for no traffic, None for traffic without an incident, or an Incident."""
    from alerting.policy.slo_config import SloConfigError, load_policy
    from schemas.prices import PriceTableError, load_prices

    configure_logging(settings.log_level, settings.log_format, default="text")
    try:
        load_policy(settings.slo_config)
        load_prices(settings.prices)
    except (SloConfigError, PriceTableError) as err:
        print(f"o11y dev: {err}", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        effective = prepare(settings, stack)
        asyncio.run(_serve(effective, demo, embedded_kafka=not settings.kafka_bootstrap_servers))
    print("o11y dev: stopped", flush=True)
    return 0
