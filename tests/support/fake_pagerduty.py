"""A local HTTP server standing in for PagerDuty's Events API v2 (POST /v2/enqueue)."""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
from typing import Any

from aiohttp import web

from support.injected_faults import Fault, FaultQueue
from support.live_server import LiveServer
from support.pagerduty_events import Alert, apply, event_errors

UNRECOGNIZED = {"status": "Unrecognized object", "message": "Event object format is unrecognized", "errors": ["JSON parse error"]}
"""The Events API's own example of an error answer (api-schema events-v2 openapiv3.json), for a body that is no JSON."""


class FakePagerDuty:
    """Checks each event as the Events API does and keeps the alerts the accepted events make; url is `enqueue_url`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults = FaultQueue()
        self._server = LiveServer(self._app, shutdown_timeout=0.5)
        self._events: list[dict[str, Any]] = []
        self._alerts: list[Alert] = []
        self.attempts = 0
        """Requests received, answered or not (a client's retries count here)."""

    def reset(self) -> None:
        self._faults.clear()
        with self._lock:
            self._events, self._alerts, self.attempts = [], [], 0

    def status(self, times: int, code: int) -> None:
        """Answer the next requests with this status and process nothing (429: empty body and no Retry-After, as
        PagerDuty documents it; 5xx: its error object)."""
        self._faults.add(Fault(status=code), times)

    def hang(self, times: int = 1) -> None:
        """Process the next events (PagerDuty did) and never answer."""
        self._faults.add(Fault(hang=True), times)

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v2/enqueue", self._enqueue)
        return app

    async def _enqueue(self, request: web.Request) -> web.Response:
        raw = await request.read()
        with self._lock:
            self.attempts += 1
        fault = self._faults.take()
        if fault is not None and fault.status:
            return _fault_answer(fault.status)
        try:
            event = json.loads(raw) if request.content_type == "application/json" else None
        except ValueError:
            event = None
        if event is None:
            return web.json_response(UNRECOGNIZED, status=400)
        errors = event_errors(event, len(raw))
        if errors:
            return web.json_response({"status": "invalid event", "message": "Event object is invalid", "errors": errors},
                                     status=400)
        with self._lock:
            self._events.append(event)
            dedup_key = apply(self._alerts, event)
        if fault is not None and fault.hang:
            await self._faults.hang()
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status=202)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The accepted events' bodies, in order."""
        with self._lock:
            return copy.deepcopy(self._events)

    @property
    def alerts(self) -> list[Alert]:
        """Every alert the accepted events opened, in order, as it stands now."""
        with self._lock:
            return [dataclasses.replace(alert) for alert in self._alerts]

    @property
    def enqueue_url(self) -> str:
        return f"{self._server.url}/v2/enqueue"

    def __enter__(self) -> FakePagerDuty:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._faults.clear()
        self._server.__exit__(*exc)

    def dump(self) -> str:
        """The alerts, for an assertion's message (their routing keys left out: they are credentials)."""
        alerts = [{k: v for k, v in dataclasses.asdict(alert).items() if k != "routing_key"} for alert in self.alerts]
        return json.dumps(alerts, indent=1)[:3000]


def _fault_answer(status: int) -> web.Response:
    if status == 429:
        return web.Response(status=429)
    return web.json_response({"status": "Server Error", "message": "The server could not process the event", "errors": []},
                             status=status)
