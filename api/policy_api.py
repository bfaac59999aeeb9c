"""The policy endpoints: SLO overrides, silences and baselines (`/v1/slo/…`, `/v1/silences`).

Reads need a read or admin token, changes an admin token; every change is stored in ClickHouse with the
admin token's name. A body or parameter that is not valid gets a 400 with every reason; ClickHouse being
unreachable a 503; nothing a client sends can cause a 500.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from alerting.incidents.silences import SilenceRequest
from alerting.policy.baseline import Selector, read_baseline
from alerting.policy.store import PolicyStore
from api.auth import ApiAuth, Caller, Role
from api.responses import bad_request, json_response, reasons, unavailable
from runtime.clickhouse import ClickHouseClient
from runtime.settings import Settings
from schemas.alert_policy import MAX_OVERRIDES, AlertPolicy
from schemas.slo_overrides import MATCH_FIELDS, OverrideMatch, SloOverride

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.Response]]
Guarded = Callable[[web.Request, Caller], Awaitable[web.Response]]
MAX_BODY = 64 * 1024


class PolicyApi:
    def __init__(self, settings: Settings, policy: AlertPolicy, clickhouse: ClickHouseClient,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._auth = ApiAuth(settings)
        self._policy = policy
        self._clickhouse = clickhouse
        self._store = PolicyStore(clickhouse)
        self._now = now

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/slo/overrides", self._guard("read", self.list_overrides))
        app.router.add_put("/v1/slo/overrides", self._guard("admin", self.put_override))
        app.router.add_delete("/v1/slo/overrides", self._guard("admin", self.delete_override))
        app.router.add_get("/v1/slo/baseline", self._guard("read", self.baseline))
        app.router.add_get("/v1/silences", self._guard("read", self.list_silences))
        app.router.add_post("/v1/silences", self._guard("admin", self.add_silence))
        app.router.add_delete("/v1/silences/{silence_id}", self._guard("admin", self.expire_silence))

    def _guard(self, needs: Role, handler: Guarded) -> Handler:
        async def guarded(request: web.Request) -> web.Response:
            caller = self._auth.caller(request, needs)
            try:
                return await handler(request, caller)
            except web.HTTPException:
                raise
            except _BadRequest as err:
                return bad_request(err.issues, err.reason)
            except Exception as err:  # noqa: BLE001 - client input is judged above; what is left is ClickHouse
                return unavailable(err)

        return guarded

    # Overrides

    async def list_overrides(self, request: web.Request, caller: Caller) -> web.Response:
        policy, problems = await asyncio.to_thread(self._store.live, self._policy)
        changes = await asyncio.to_thread(self._store.changes, 50)
        return json_response({
            "overrides": [_override(o, "policy file") for o in policy.overrides]
                         + [_override(o, "api") for o in policy.live_overrides],
            "ignored": problems,
            "changes": [c.as_dict() for c in changes],
        })

    async def put_override(self, request: web.Request, caller: Caller) -> web.Response:
        override = _parse(SloOverride, await _body(request))
        try:
            self._policy.check_override(override)
        except ValueError as err:
            raise _BadRequest("override refused", [str(err)]) from None
        stored, _ = await asyncio.to_thread(self._store.overrides)
        if len(stored) >= MAX_OVERRIDES and all(o.match != override.match for o in stored):
            return json_response({"success": False, "error": f"there are {len(stored)} runtime overrides, the most "
                                  f"allowed ({MAX_OVERRIDES}): delete one, or widen a match to cover several"}, 409)
        change = await asyncio.to_thread(self._store.put_override, override, caller.name, self._now())
        return json_response({"success": True, "applies": "from the next evaluation tick", **change.as_dict()},
                     200 if change.previous is not None else 201)

    async def delete_override(self, request: web.Request, caller: Caller) -> web.Response:
        values = {k: v for k, v in request.query.items() if k in MATCH_FIELDS}
        unknown = sorted(set(request.query) - set(MATCH_FIELDS))
        if unknown:
            raise _BadRequest("unknown parameters", [f"{k}: not one of {', '.join(MATCH_FIELDS)}" for k in unknown])
        match = _parse(OverrideMatch, values)
        change = await asyncio.to_thread(self._store.delete_override, match, caller.name, self._now())
        if change is None:
            return json_response({"success": False, "error": f"no runtime override matches exactly {match.key()}"}, 404)
        return json_response({"success": True, "applies": "from the next evaluation tick", **change.as_dict()})

    # Baselines

    async def baseline(self, request: web.Request, caller: Caller) -> web.Response:
        unknown = sorted(set(request.query) - {"model", "provider", "client"})
        if unknown or not request.query.get("model"):
            reasons = [f"{k}: unknown parameter" for k in unknown] + ([] if request.query.get("model") else
                                                                      ["model: required"])
            raise _BadRequest("bad parameters", reasons)
        selector = Selector(request.query["model"], request.query.get("provider"), request.query.get("client"))
        found = await asyncio.to_thread(read_baseline, self._clickhouse, self._policy, selector, self._now())
        return json_response(found.as_dict())

    # Silences

    async def list_silences(self, request: web.Request, caller: Caller) -> web.Response:
        state = request.query.get("state", "current")
        if state not in ("current", "all"):
            raise _BadRequest("bad parameters", ["state: current (active or pending) or all"])
        now = self._now()
        found = await asyncio.to_thread(self._store.silences, now if state == "current" else None)
        return json_response({"silences": [s.as_dict(now) for s in found]})

    async def add_silence(self, request: web.Request, caller: Caller) -> web.Response:
        wanted = _parse(SilenceRequest, await _body(request))
        try:
            silence = wanted.silence(caller.name, self._now())
        except ValueError as err:
            raise _BadRequest("silence refused", [str(err)]) from None
        await asyncio.to_thread(self._store.save_silence, silence, self._now())
        return json_response({"success": True, "silence": silence.as_dict(self._now())}, 201)

    async def expire_silence(self, request: web.Request, caller: Caller) -> web.Response:
        silence_id = request.match_info["silence_id"]
        if len(silence_id) > 64:
            raise _BadRequest("bad silence id", ["silence_id: at most 64 characters"])
        now = self._now()
        silence = await asyncio.to_thread(self._store.silence, silence_id)
        if silence is None:
            return json_response({"success": False, "error": f"no silence {silence_id}"}, 404)
        if silence.state(now) in ("expired", "ended"):
            ended = {"success": False, "error": f"silence {silence_id} already ended", "silence": silence.as_dict(now)}
            return json_response(ended, 409)
        expired = silence.expired(caller.name, now)
        await asyncio.to_thread(self._store.save_silence, expired, now)
        return json_response({"success": True, "silence": expired.as_dict(now)})


class _BadRequest(Exception):
    def __init__(self, reason: str, issues: list[str]) -> None:
        super().__init__(reason)
        self.reason, self.issues = reason, issues


async def _body(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(raw))
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise _BadRequest("the body is not JSON", [type(err).__name__ if isinstance(err, RecursionError) else str(err)]) from None


def _parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise _BadRequest("invalid request", reasons(err)) from None
    except RecursionError:
        raise _BadRequest("invalid request", ["nested too deeply"]) from None


def _override(override: SloOverride, source: str) -> dict[str, Any]:
    return {"match_key": override.match.key(), "source": source, **override.model_dump(mode="json", exclude_none=True)}
