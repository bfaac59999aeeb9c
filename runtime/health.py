"""Liveness, readiness (per component) and Prometheus exposition, shared by every o11y process."""

from __future__ import annotations

import asyncio
import math
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


class CachedCheck:
    """A readiness check that blocks (it asks a remote), as a `ReadinessCheck` that never blocks the event loop.

    `ask` runs on a worker thread, one call at a time however many /readyz requests wait for it, and its answer is
    reused for `fresh_s`, so that /readyz under load asks the remote at most about once per `fresh_s`. A caller waits at
    most `timeout_s`: past that, the component is not ready (`ask` should bound itself too, since its thread cannot be
    stopped; its late answer still replaces that one).
    """

    def __init__(self, ask: Callable[[], str | None], timeout_s: float, fresh_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ask = ask
        self._timeout_s = timeout_s
        self._fresh_s = fresh_s
        self._clock = clock
        self._answer: str | None = None
        self._answered_at = -math.inf
        self._asking: asyncio.Future[str | None] | None = None

    async def __call__(self) -> str | None:
        if self._clock() - self._answered_at < self._fresh_s:
            return self._answer
        if self._asking is None:
            self._asking = asyncio.ensure_future(asyncio.to_thread(self._ask_once))
            self._asking.add_done_callback(self._keep)
        try:
            return await asyncio.wait_for(asyncio.shield(self._asking), self._timeout_s)
        except TimeoutError:
            return self._remember(f"no answer within {self._timeout_s:g} s")

    def _ask_once(self) -> str | None:
        try:
            return self._ask()
        except Exception as err:  # noqa: BLE001 - a check that fails to ask says so, by the error's name
            return f"could not ask: {type(err).__name__}"

    def _keep(self, asked: asyncio.Future[str | None]) -> None:
        self._asking = None
        if asked.cancelled():
            return
        err = asked.exception()
        self._remember(asked.result() if err is None else f"could not ask: {type(err).__name__}")

    def _remember(self, answer: str | None) -> str | None:
        self._answer, self._answered_at = answer, self._clock()
        return answer


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
