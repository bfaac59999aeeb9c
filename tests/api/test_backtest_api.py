"""`POST /v1/slo/backtest` over HTTP: admins only, the command's limits, a candidate checked like an SLO file."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.events import ADMIN_TOKEN, READ_TOKEN
from support.openapi_check import check_answer
from support.timeline import Timeline

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
READER = {"Authorization": f"Bearer {READ_TOKEN}"}
ERROR_RATE: dict[str, Any] = {"name": "error_rate", "title": "Error Rate", "kind": "error_rate",
                              "error_statuses": [">=400"], "objective": "0.5"}
LOOSE: dict[str, Any] = {
    "page_clients": ["kilo-gateway"], "page_cooldown_seconds": 900, "ticket_cooldown_seconds": 14400,
    "defaults": {"min_requests": 10, "windows": [{"severity": "page", "long_minutes": 5, "short_minutes": 1, "burn_rate": 1.9}]},
    "slos": [ERROR_RATE]}
"""A candidate so loose (objective 0.5, pages at burn 1.9) that 30 % errors never page."""


@pytest.fixture
async def api(aiohttp_client: Any, clickhouse: Any) -> AsyncIterator[Any]:
    settings = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dash": [SecretStr(READ_TOKEN)]})
    yield await aiohttp_client(create_api_app(settings, default_policy(), clickhouse, CollectorRegistry()))


async def test_a_backtest_replays_the_policy_in_force_and_a_candidate(api: Any, clickhouse: Any) -> None:
    model = f"bt-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 60, 100, model=model)
    timeline.traffic(20, 30, 100, 0.3, model=model)
    body = {"from": timeline.at(0, 0).isoformat(), "to": timeline.at(60, 0).isoformat(), "policy": LOOSE}
    assert (await api.post("/v1/slo/backtest", json=body, headers=READER)).status == 403
    answer = await api.post("/v1/slo/backtest", json=body, headers=ADMIN)
    assert answer.status == 200, await answer.text()
    report = await answer.json()
    opened = [(i["severity"], i["model"], i["opened"]) for i in report["current"]["incidents"]]
    assert ("page", model, f"{timeline.at(21, 0):%Y-%m-%dT%H:%MZ}") in opened
    assert report["candidate"]["incidents"] == [] and len(report["difference"]["removed"]) == len(opened)
    check_answer(await (await api.get("/openapi.json")).json(), "/v1/slo/backtest", report, method="post")


@pytest.mark.parametrize(("body", "reason"), [
    ({"from": "2031-01-01T00:00:00Z", "to": "2031-03-01T00:00:00Z"}, "at most 31 days"),
    ({"from": "2031-01-01T00:00:30Z", "to": "2031-01-01T00:00:50Z"}, "at least a minute after from"),
    ({"from": "2031-01-01T00:00:00Z"}, "to"),
    ({"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"}, "between 1970-01-02 and 2106-01-01"),
    ({"from": "2031-01-01T00:00:00", "to": "2031-01-02T00:00:00Z"}, "from"),
    ({"from": "2031-01-01T00:00:00Z", "to": "2031-01-02T00:00:00Z", "policy": {"slos": [1]}}, "slos must be a list"),
    ({"from": "2031-01-01T00:00:00Z", "to": "2031-01-02T00:00:00Z", "policy": {**LOOSE, "slos": [
        {**ERROR_RATE, "objective": "0.999"}], "defaults": {"min_requests": 10, "windows": [
            {"severity": "page", "long_minutes": 5, "short_minutes": 1, "burn_rate": 2000}]}}}, "can never be reached"),
    ({"from": "2031-01-01T00:00:00Z", "to": "2031-01-02T00:00:00Z", "policy": "page_clients: []"}, "policy"),
    ({"from": "2031-01-01T00:00:00Z", "to": "2031-01-02T00:00:00Z", "bogus": 1}, "bogus"),
])
async def test_what_the_command_refuses_is_a_400_with_the_reason(api: Any, body: dict[str, Any], reason: str) -> None:
    answer = await api.post("/v1/slo/backtest", json=body, headers=ADMIN)
    assert answer.status == 400, await answer.text()
    assert any(reason in issue for issue in (await answer.json())["issues"])


async def test_a_body_that_is_not_json_is_a_400(api: Any) -> None:
    answer = await api.post("/v1/slo/backtest", data=b"{" * 5000, headers=ADMIN)
    assert answer.status == 400
    nested = await api.post("/v1/slo/backtest", data=b'{"from": "2031-01-01T00:00:00Z", "to": "2031-01-02T00:00:00Z", '
                                                     b'"policy": {"x": ' + b"[" * 3000 + b"]" * 3000 + b"}}", headers=ADMIN)
    assert nested.status == 400
