"""A local HTTP server standing in for Slack's incoming webhooks: records posts, fails or hangs on demand."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

from support.events import WEBHOOK_TOKEN  # the secret part of a webhook URL: never in a log line (checked across the suite)
from support.live_server import LiveServer


class FakeSlack:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.page_times: dict[str, float] = {}
        self.attempts = 0
        self.failures: list[int] = []
        """Statuses to answer, one per attempt, before answering 200 again."""
        self.retry_after = "1"
        self.hang = False
        """Accept the request and never answer (the post is recorded: Slack may well have shown it)."""
        self.on_post: Callable[[str, dict[str, Any]], None] | None = None
        self._lock = threading.Lock()
        self._server = LiveServer(self._app, shutdown_timeout=0.5)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/services/T0O11Y/{severity}/{token}", self._hook)
        return app

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        severity = request.match_info["severity"]
        with self._lock:
            self.attempts += 1
            if request.match_info["token"] != WEBHOOK_TOKEN:
                return web.Response(status=403, text="invalid_token")
            if self.failures:
                status = self.failures.pop(0)
                headers = {"Retry-After": self.retry_after} if status == 429 else {}
                return web.Response(status=status, text="rate_limited" if status == 429 else "server_error", headers=headers)
            self.posts.append((severity, body))
        if self.on_post is not None:
            self.on_post(severity, body)
        if self.hang:
            await asyncio.sleep(3600)
        return web.Response(text="ok")

    def url(self, severity: str) -> str:
        return f"{self._server.url}/services/T0O11Y/{severity}/{WEBHOOK_TOKEN}"

    def headers(self) -> list[tuple[str, str]]:
        return [(severity, body["blocks"][0]["text"]["text"]) for severity, body in self.posts]

    def __enter__(self) -> FakeSlack:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def dump(self) -> str:
        return json.dumps(self.posts, indent=1)[:3000]
