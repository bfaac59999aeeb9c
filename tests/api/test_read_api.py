"""`o11y api`'s app: incidents as on-call sees them, health with latency, and a description of every route."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from schemas.api_metrics import MAX_NAME
from support.alerting_harness import make_evaluator
from support.events import ADMIN_TOKEN, READ_TOKEN, SECRET
from support.openapi_check import check_answer
from support.timeline import Timeline

READER = {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture
async def api(aiohttp_client: Any, clickhouse: Any) -> AsyncIterator[Any]:
    settings = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dashboards": [SecretStr(READ_TOKEN)]},
                        client_secrets={"kilo-gateway": [SecretStr(SECRET)]})
    yield await aiohttp_client(create_api_app(settings, default_policy(), clickhouse, CollectorRegistry()))


async def test_open_incidents_and_their_history(api: Any, clickhouse: Any, redis_client: Any, slack: Any) -> None:
    model = f"flaky-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 30, 100, model=model)
    timeline.traffic(10, 15, 100, 0.2, model=model)
    timeline.traffic(0, 30, 100, model="steady")
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    for minute in range(11, 14):
        evaluator.evaluate_tick(timeline.at(minute))

    body = await (await api.get("/v1/incidents", headers=READER)).json()
    [incident] = body["incidents"]
    assert (incident["severity"], incident["slo"], incident["model"], incident["status"]) == ("page", "error_rate", model, "open")
    assert incident["started_at"] == timeline.at(10, 0).isoformat() and incident["notifications"] == 1
    assert incident["tier"] == "5m/1m" and incident["peak_burn"] >= 14.4
    check_answer(await (await api.get("/openapi.json")).json(), "/v1/incidents", body)

    for minute in range(14, 30):
        evaluator.evaluate_tick(timeline.at(minute))
    assert (await (await api.get("/v1/incidents", headers=READER)).json())["incidents"] == []
    window = f"from={timeline.at(0, 0).isoformat()}&to={timeline.at(30, 0).isoformat()}".replace("+", "%2B")
    history = await (await api.get(f"/v1/incidents?state=all&{window}&model={model}", headers=READER)).json()
    [resolved] = history["incidents"]
    assert (resolved["id"], resolved["status"], resolved["notifications"]) == (incident["id"], "resolved", 2)
    assert resolved["resolved_at"] == timeline.at(18, 0).isoformat()
    other = await (await api.get(f"/v1/incidents?state=all&{window}&model=steady", headers=READER)).json()
    assert other["incidents"] == []


async def test_a_ticket_a_page_took_over_is_escalated_in_the_history_as_described(
        api: Any, clickhouse: Any, redis_client: Any, slack: Any) -> None:
    model = f"escalating-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 60, 1000, 0.004, model=model)  # burn 4: a ticket
    timeline.traffic(60, 62, 1000, 0.5, model=model)  # then a page, which takes the ticket over
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    evaluator.evaluate_tick(timeline.at(60))
    evaluator.evaluate_tick(timeline.at(62))
    window = f"from={timeline.at(0, 0).isoformat()}&to={timeline.at(63, 0).isoformat()}".replace("+", "%2B")
    history = await (await api.get(f"/v1/incidents?state=all&{window}&model={model}", headers=READER)).json()
    assert sorted((i["severity"], i["status"]) for i in history["incidents"]) == [("page", "open"), ("ticket", "escalated")]
    check_answer(await (await api.get("/openapi.json")).json(), "/v1/incidents", history)


@pytest.mark.parametrize("query", ["state=closed", "limit=0", "limit=100000", "from=yesterday", "from=2030-01-01T00:00:00",
                                   "bogus=1", "severity=sev1", "model=" + "x" * 300])
async def test_bad_parameters_get_400_with_the_reason(api: Any, query: str) -> None:
    answer = await api.get(f"/v1/incidents?{query}", headers=READER)
    assert answer.status == 400
    issues = (await answer.json())["issues"]
    assert issues and query.split("=")[0] in issues[0]


async def test_tokens_health_and_the_description_of_every_route(api: Any) -> None:
    assert (await api.get("/v1/incidents")).status == 401
    assert (await api.get("/v1/incidents", headers={"Authorization": f"Bearer {SECRET}"})).status == 403
    ready = await (await api.get("/readyz", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})).json()
    assert ready["components"] == {"clickhouse": "ok"} and ready["latency_ms"]["clickhouse"] >= 0
    document = await (await api.get("/openapi.json")).json()
    routes = {(r.method.lower(), r.resource.canonical) for r in api.app.router.routes()
              if r.method != "HEAD" and r.resource is not None}
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    assert routes == described


async def test_a_model_with_the_longest_name_ingest_takes_can_be_filtered_silenced_overridden_and_opened(
    api: Any, clickhouse: Any
) -> None:
    """Ingest takes names of 256 characters: every filter, silence and override takes them too (they stopped at 200,
    so such a model could page but could not be looked up, silenced or opened)."""
    model = "m" * (MAX_NAME - 8) + uuid.uuid4().hex[:8]
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 2, 5, model=model)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    query = urlencode({"model": model, "from": timeline.at(0, 0).isoformat(), "to": timeline.at(5, 0).isoformat()})
    for path, asked in (("/v1/slo/status", urlencode({"model": model})), ("/v1/incidents", query),
                        ("/v1/usage/stats", query), ("/v1/usage/recent", query)):
        answer = await api.get(f"{path}?{asked}", headers=READER)
        assert answer.status == 200, (path, await answer.text())
    stats = await (await api.get(f"/v1/usage/stats?{query}", headers=READER)).json()
    assert stats["total"]["requests"] == 10
    ends = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    silence = await api.post("/v1/silences", json={"model": model, "ends_at": ends, "comment": "long"}, headers=admin)
    override = await api.put("/v1/slo/overrides", json={"match": {"model": model}, "objective": "0.99"}, headers=admin)
    page = await api.get(f"/ui/route?provider=openai&model={model}&client=kilo-gateway", headers=READER)
    assert (silence.status, override.status, page.status) == (201, 201, 200)
    assert (await api.get(f"/v1/incidents?model={model}x", headers=READER)).status == 400
