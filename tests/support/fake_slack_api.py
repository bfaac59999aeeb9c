"""A local HTTP server standing in for Slack's Web API (chat.postMessage, chat.update, conversations.history)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from support.events import SLACK_BOT_TOKEN
from support.injected_faults import Fault, FaultQueue
from support.live_server import LiveServer
from support.slack_api_rules import Refused
from support.slack_workspace import CHANNELS, Channel, SlackWorkspace


class FakeSlackApi:
    """Answers as Slack does, errors included (HTTP 200 with `ok: false`); slack_sdk's base_url is `base_url`."""

    def __init__(self, token: str = SLACK_BOT_TOKEN, channels: Sequence[Channel] = CHANNELS) -> None:
        self._token = token
        self._channel_list = tuple(channels)
        self._lock = threading.Lock()
        self._faults = FaultQueue()
        self._server = LiveServer(self._app, shutdown_timeout=0.5)
        self._workspace = SlackWorkspace(self._channel_list)
        self._calls: list[tuple[str, dict[str, Any]]] = []

    def reset(self) -> None:
        """Forget every message, call and pending fault (the channels stay)."""
        self._faults.clear()
        with self._lock:
            self._workspace = SlackWorkspace(self._channel_list)
            self._calls = []

    def ratelimit(self, times: int = 1, retry_after: str = "1", method: str = "") -> None:
        """HTTP 429 + Retry-After + `ratelimited` for the next calls (of `method`, or any); nothing is recorded."""
        self._faults.add(Fault(status=429, error="ratelimited", retry_after=retry_after, method=method), times)

    def error(self, times: int, code: str, method: str = "") -> None:
        """HTTP 200 `{"ok": false, "error": code}` for the next calls; nothing is recorded."""
        self._faults.add(Fault(status=200, error=code, method=method), times)

    def hang(self, times: int = 1, method: str = "") -> None:
        """Do the next calls (the message shows in Slack) and never answer them."""
        self._faults.add(Fault(hang=True, method=method), times)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("POST", "/api/{method}", self._handle)
        app.router.add_route("GET", "/api/{method}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            args, token = await _arguments(request)
        except Refused as refused:
            return web.json_response(refused.answer())
        with self._lock:
            self._calls.append((method, copy.deepcopy(args)))
        fault = self._faults.take(method)
        if fault is not None and fault.status:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return web.json_response({"ok": False, "error": fault.error}, status=fault.status, headers=headers)
        answer = self._answer(method, token, args)
        if fault is not None and fault.hang:
            await self._faults.hang()
        return web.json_response(answer)

    def _answer(self, method: str, token: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            if not token:
                raise Refused("not_authed")
            if token != self._token:
                raise Refused("invalid_auth")
            with self._lock:
                workspace = self._workspace
                handlers = {"chat.postMessage": workspace.post, "chat.update": workspace.update,
                            "conversations.history": workspace.history}
                if method not in handlers:
                    raise Refused("unknown_method")
                return {"ok": True, **copy.deepcopy(handlers[method](args))}
        except Refused as refused:
            return refused.answer()

    def parents(self, channel: str) -> list[dict[str, Any]]:
        """The channel's top-level messages, oldest first, as they show now (updates applied)."""
        with self._lock:
            return copy.deepcopy([m for m in self._workspace.messages[channel].values() if "thread_ts" not in m])

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies in the thread of the message `ts`, oldest first."""
        with self._lock:
            return copy.deepcopy([m for m in self._workspace.messages[channel].values() if m.get("thread_ts") == ts])

    @property
    def strays(self) -> list[tuple[str, dict[str, Any]]]:
        """(channel, message) of replies Slack accepted but shows nowhere (their thread_ts names no message)."""
        with self._lock:
            return copy.deepcopy(self._workspace.strays)

    @property
    def updates(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(channel, ts, arguments) of every chat.update that changed a message, in order."""
        with self._lock:
            return copy.deepcopy(self._workspace.updates)

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """(method, arguments) of every call received, answered or not, in order (a token argument left out)."""
        with self._lock:
            return copy.deepcopy(self._calls)

    @property
    def base_url(self) -> str:
        return f"{self._server.url}/api/"

    def __enter__(self) -> FakeSlackApi:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._faults.clear()
        self._server.__exit__(*exc)

    def dump(self) -> str:
        return json.dumps(self.calls, indent=1)[:3000]


async def _arguments(request: web.Request) -> tuple[dict[str, Any], str]:
    """The call's arguments (query, then a JSON or form body) and its token: the Bearer header, or a form/query token."""
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as err:
                raise Refused("invalid_json") from err
            if not isinstance(body, dict):
                raise Refused("invalid_json")
            body.pop("token", None)  # Slack reads no token from a JSON body
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            body = {key: value for key, value in (await request.post()).items() if isinstance(value, str)}
        else:
            raise Refused("invalid_post_type" if "Content-Type" in request.headers else "missing_post_type")
        args.update(body)
    header = request.headers.get("Authorization", "")
    token = str(args.pop("token", ""))
    return args, header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else token
