"""Serving o11y's aiohttp applications: one port for the service, optionally another for operations; no leaks.

- `Server` names no software versions; every answer says `X-Content-Type-Options: nosniff`, so that no browser reads
  an answer (an error's text, a CSV) as another type than it says.
- A request aiohttp cannot parse (a broken header line, say) gets a generic 400 and is counted: aiohttp's
  own answer repeats the offending line, which may carry a secret, and logs it with a traceback.
- With `O11Y_ADMIN_PORT` set, /metrics and /readyz move to that port.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web, web_protocol, web_server
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)

MALFORMED = '{"success": false, "error": "Malformed HTTP request"}'
ANSWER_HEADERS = {"Server": "o11y", "X-Content-Type-Options": "nosniff"}
_on_malformed: list[Callable[[], None]] = []


class _QuietRequestHandler(web_protocol.RequestHandler):
    """aiohttp has no hook for answers to requests it cannot parse; this one answers them without echoing them."""

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status != 400 or not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        log.info("malformed HTTP request refused (%s)", type(exc).__name__)
        for count in _on_malformed:
            count()
        response = web.Response(status=400, text=MALFORMED, content_type="application/json", headers=ANSWER_HEADERS)
        response.force_close()
        return response


def quiet_malformed_requests(count: Callable[[], None] | None = None) -> None:
    """Install the quiet handler for this process (idempotent); `count` is called for each refused request."""
    web_server.RequestHandler = _QuietRequestHandler  # type: ignore[attr-defined]
    if count is not None and count not in _on_malformed:
        _on_malformed.append(count)


async def _answer_headers(_: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(ANSWER_HEADERS)


def harden(app: web.Application) -> web.Application:
    """Answers name no software versions and forbid type sniffing (idempotent)."""
    if _answer_headers not in app.on_response_prepare:
        app.on_response_prepare.append(_answer_headers)
    return app


async def serve(apps: list[tuple[web.Application, str, int]], keepalive_timeout_s: float = 75.0,
                shutdown_timeout_s: float = 10.0, reuse_port: bool = False) -> None:
    """Run each (app, host, port) until SIGINT or SIGTERM; `reuse_port`: other processes share the ports."""
    quiet_malformed_requests()
    runners = []
    for app, host, port in apps:
        runner = web.AppRunner(harden(app), access_log=None, shutdown_timeout=shutdown_timeout_s,
                               keepalive_timeout=keepalive_timeout_s)
        await runner.setup()
        await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
        runners.append(runner)
    gc.freeze()  # what startup built stays: the collector need not walk it again on every full collection
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def run(apps: list[tuple[web.Application, str, int]], keepalive_timeout_s: float = 75.0,
        shutdown_timeout_s: float = 10.0, reuse_port: bool = False) -> None:
    asyncio.run(serve(apps, keepalive_timeout_s, shutdown_timeout_s, reuse_port))
