"""A local HTTP server standing in for Slack's incoming webhooks: records posts, fails on demand."""

from __future__ import annotations

import json
import threading
from typing import Any

from aiohttp import web

from live_server import LiveServer


class FakeSlack:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.page_times: dict[str, float] = {}
        self.attempts = 0
        self.failures: list[int] = []
        """Statuses to answer, one per attempt, before answering 200 again."""
        self.retry_after = "1"
        self._lock = threading.Lock()
        self._server = LiveServer(self._app)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks/{severity}", self._hook)
        return app

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.attempts += 1
            if self.failures:
                status = self.failures.pop(0)
                headers = {"Retry-After": self.retry_after} if status == 429 else {}
                return web.Response(status=status, text="rate_limited" if status == 429 else "server_error", headers=headers)
            self.posts.append((request.match_info["severity"], body))
        return web.Response(text="ok")

    def url(self, severity: str) -> str:
        return f"{self._server.url}/hooks/{severity}"

    def headers(self) -> list[tuple[str, str]]:
        return [(severity, body["blocks"][0]["text"]["text"]) for severity, body in self.posts]

    def __enter__(self) -> "FakeSlack":
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def dump(self) -> str:
        return json.dumps(self.posts, indent=1)[:3000]
