"""Liveness, readiness (per component) and Prometheus exposition, shared by every o11y process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Returns None when the component is usable, else a short reason."""

READINESS = web.AppKey("readiness", dict[str, ReadinessCheck])
NOTES = web.AppKey("notes", dict[str, Callable[[], Awaitable[str]]])
"""Facts /readyz reports without changing readiness (e.g. whether alerting can judge data freshness)."""
REGISTRY = web.AppKey("registry", CollectorRegistry)


async def tcp_reachable(servers: str, timeout_s: float = 1.0) -> str | None:
    """None if any `host:port` of a comma-separated list accepts a TCP connection."""
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host or "localhost", int(port)), timeout_s)
        except (OSError, ValueError, asyncio.TimeoutError):
            continue
        writer.close()
        return None
    return f"no broker reachable at {servers}"


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    checks = request.app[READINESS]
    results = await asyncio.gather(*(check() for check in checks.values()))
    components = {name: (reason or "ok") for name, reason in zip(checks, results)}
    ready = all(reason is None for reason in results)
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "components": components}
    notes = request.app[NOTES]
    if notes:
        texts = await asyncio.gather(*(note() for note in notes.values()))
        body["notes"] = dict(zip(notes, texts))
    return web.json_response(body, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_health_routes(app: web.Application, registry: CollectorRegistry) -> None:
    app[REGISTRY] = registry
    app[READINESS] = {}
    app[NOTES] = {}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
