"""A local HTTP server standing in for a receiver of Alertmanager's webhook: checks each message, records it, fails on demand."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from aiohttp import web

from support.alertmanager_payload import message_problems
from support.events import WEBHOOK_BEARER
from support.injected_faults import Fault, FaultQueue
from support.live_server import LiveServer


class FakeAlertmanagerReceiver:
    """Answers 200 to a well-formed message, 401 without the bearer token (when one is required), 415 to a body that is
    not JSON, 400 to anything Alertmanager would not send (4xx is final for Alertmanager; 5xx makes it retry)."""

    def __init__(self, path: str = "/hook", bearer: str | None = WEBHOOK_BEARER) -> None:
        self._path = path
        self._bearer = bearer
        self._lock = threading.Lock()
        self._faults = FaultQueue()
        self._server = LiveServer(self._app, shutdown_timeout=0.5)
        self._messages: list[dict[str, Any]] = []
        self._refusals: list[tuple[int, str]] = []

    def reset(self) -> None:
        self._faults.clear()
        with self._lock:
            self._messages, self._refusals = [], []

    def status(self, times: int, code: int) -> None:
        """Answer the next authorised requests with this status (401, 503, 500, ...) and record nothing."""
        self._faults.add(Fault(status=code), times)

    def hang(self, times: int = 1) -> None:
        """Record the next messages and never answer."""
        self._faults.add(Fault(hang=True), times)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(self._path, self._receive)
        return app

    async def _receive(self, request: web.Request) -> web.Response:
        if self._bearer is not None and request.headers.get("Authorization") != f"Bearer {self._bearer}":
            return self._refuse(401, "no valid bearer token", {"WWW-Authenticate": "Bearer"})
        fault = self._faults.take()
        if fault is not None and fault.status:
            return web.Response(status=fault.status, text="injected failure")
        if request.content_type != "application/json":
            return self._refuse(415, f"Content-Type is {request.content_type}, not application/json")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._refuse(400, "the body is not JSON")
        problems = message_problems(body)
        if problems:
            return self._refuse(400, "; ".join(problems))
        with self._lock:
            self._messages.append(body)
        if fault is not None and fault.hang:
            await self._faults.hang()
        return web.Response(text="ok")

    def _refuse(self, status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
        with self._lock:
            self._refusals.append((status, reason))
        return web.Response(status=status, text=reason, headers=headers)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The accepted messages' bodies, in order."""
        with self._lock:
            return copy.deepcopy(self._messages)

    @property
    def refusals(self) -> list[tuple[int, str]]:
        """(status, reason) of every request refused for what it held or lacked, in order."""
        with self._lock:
            return list(self._refusals)

    @property
    def by_fingerprint(self) -> dict[str, list[dict[str, Any]]]:
        """Every alert received, by fingerprint, in the order received (one per message it came in)."""
        alerts: dict[str, list[dict[str, Any]]] = {}
        for message in self.messages:
            for alert in message["alerts"]:
                alerts.setdefault(alert["fingerprint"], []).append(alert)
        return alerts

    @property
    def url(self) -> str:
        return f"{self._server.url}{self._path}"

    def __enter__(self) -> FakeAlertmanagerReceiver:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._faults.clear()
        self._server.__exit__(*exc)

    def dump(self) -> str:
        return json.dumps({"messages": self.messages, "refusals": self.refusals}, indent=1)[:3000]
