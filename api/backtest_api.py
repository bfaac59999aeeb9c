"""`POST /v1/slo/backtest` (admin): what the policy in force, and a candidate beside it, would have done over stored data.

The same replay and limits as `o11y slo backtest` (`alerting.backtest.run`): at most 31 days, whole minutes, the
candidate checked like an SLO file. One backtest at a time per process (another gets 429); it runs on a thread.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from alerting.backtest.run import BacktestSource, backtest_range, run_backtest
from alerting.policy.slo_config import SloConfigError, policy_of
from api.auth import ApiAuth
from api.responses import bad_request, json_response, unavailable
from schemas.alert_policy import AlertPolicy

EARLIEST = datetime(1970, 1, 2, tzinfo=timezone.utc)
LATEST = datetime(2106, 1, 1, tzinfo=timezone.utc)
"""The per-minute rollup keeps its minutes as DateTime, which holds 1970 to 2106."""


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: AwareDatetime = Field(alias="from", description="Start (ISO 8601 with offset), cut to the minute.")
    end: AwareDatetime = Field(alias="to", description="End, exclusive; at most 31 days after `from`.")
    policy: dict[str, Any] | None = Field(default=None, description=(
        "A candidate policy: what an SLO file (`O11Y_SLO_CONFIG`) holds, as JSON. Replayed beside the policy in force, "
        "with the same runtime overrides, and compared with it."))

    @model_validator(mode="after")
    def _bounded(self) -> BacktestRequest:
        for name, at in (("from", self.start), ("to", self.end)):
            if not EARLIEST <= at <= LATEST:
                raise ValueError(f"{name} must be between 1970-01-02 and 2106-01-01 (the rollup's DateTime holds no more)")
        backtest_range(self.start, self.end)
        return self


class BacktestApi:
    def __init__(self, auth: ApiAuth, policy: AlertPolicy, clickhouse: BacktestSource) -> None:
        self._auth, self._policy, self._clickhouse = auth, policy, clickhouse
        self._running = asyncio.Lock()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/slo/backtest", self.backtest)

    async def backtest(self, request: web.Request) -> web.Response:
        self._auth.caller(request, "admin")
        try:
            asked = BacktestRequest.model_validate_json(await request.read())
            candidate = policy_of(asked.policy, "policy") if asked.policy is not None else None
        except ValidationError as err:
            return bad_request(err)
        except SloConfigError as err:
            return bad_request([line.strip() for line in str(err).splitlines() if line.strip()], "invalid candidate policy")
        if self._running.locked():
            return json_response({"success": False, "error": "a backtest is running: retry later"}, 429,
                                 {"Retry-After": "30"})
        async with self._running:
            try:
                report = await asyncio.to_thread(run_backtest, self._clickhouse, self._policy, candidate, asked.start,
                                                 asked.end)
            except Exception as err:  # noqa: BLE001 - the request was valid: what failed is ClickHouse
                return unavailable(err)
        return json_response(report)
