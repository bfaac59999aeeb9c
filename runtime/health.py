"""Liveness, readiness (per component) and Prometheus exposition, shared by every o11y process."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from runtime.client_secrets import ClientSecrets

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Returns None when the component is usable, else a short reason."""

READINESS = web.AppKey("readiness", dict[str, ReadinessCheck])
NOTES = web.AppKey("notes", dict[str, Callable[[], Awaitable[str]]])
"""Facts /readyz reports without changing readiness (e.g. whether alerting can judge data freshness)."""
REGISTRY = web.AppKey("registry", CollectorRegistry)
ADMIN = web.AppKey("admin_tokens", ClientSecrets)
"""Who may see /readyz's details; with no admin tokens configured, everyone may."""


async def tcp_reachable(servers: str, timeout_s: float = 1.0) -> str | None:
    """None if any `host:port` of a comma-separated list accepts a TCP connection."""
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host or "localhost", int(port)), timeout_s)
        except (TimeoutError, OSError, ValueError):
            continue
        writer.close()
        return None
    return "no broker reachable"


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


def _may_see_details(request: web.Request) -> bool:
    tokens = request.app[ADMIN]
    if len(tokens) == 0:
        return True
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and tokens.client_for(token) is not None


async def _timed(check: ReadinessCheck) -> tuple[str | None, float]:
    started = time.monotonic()
    reason = await check()
    return reason, round((time.monotonic() - started) * 1000, 1)


async def readyz(request: web.Request) -> web.Response:
    checks = request.app[READINESS]
    timed = await asyncio.gather(*(_timed(check) for check in checks.values()))
    results = [reason for reason, _ in timed]
    ready = all(reason is None for reason in results)
    body: dict[str, object] = {"status": "ready" if ready else "not ready"}
    if not _may_see_details(request):
        return web.json_response(body, status=200 if ready else 503)
    body["components"] = {name: (reason or "ok") for name, reason in zip(checks, results, strict=True)}
    body["latency_ms"] = {name: ms for name, (_, ms) in zip(checks, timed, strict=True)}
    notes = request.app[NOTES]
    if notes:
        texts = await asyncio.gather(*(note() for note in notes.values()))
        body["notes"] = dict(zip(notes, texts, strict=True))
    return web.json_response(body, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    """This process's registry; under `--workers`, every worker's (PROMETHEUS_MULTIPROC_DIR, set by the parent)."""
    registry = request.app[REGISTRY]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_health_routes(app: web.Application, registry: CollectorRegistry, admin: web.Application | None = None,
                      tokens: ClientSecrets | None = None) -> None:
    """/healthz on `app`; /readyz and /metrics on `admin` when given (another port), else on `app` too.

    Components register their checks in `app[READINESS]` and `app[NOTES]`, which the admin app shares.
    """
    app[REGISTRY] = registry
    app[READINESS] = {}
    app[NOTES] = {}
    app[ADMIN] = tokens or ClientSecrets({})
    app.router.add_get("/healthz", healthz)
    target = app
    if admin is not None:
        admin[REGISTRY], admin[READINESS], admin[NOTES], admin[ADMIN] = registry, app[READINESS], app[NOTES], app[ADMIN]
        admin.router.add_get("/healthz", healthz)
        target = admin
    target.router.add_get("/readyz", readyz)
    target.router.add_get("/metrics", metrics)
