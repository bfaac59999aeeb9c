"""`POST /v1/sql`: analysts' read-only SQL through the API, the admin token only, nothing written, limits kept."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from runtime.clickhouse import connect_raw
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.events import ADMIN_TOKEN, READ_TOKEN, SECRET
from support.openapi_check import check_answer
from support.timeline import Timeline

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def api(aiohttp_client: Any, clickhouse: Any, clickhouse_url: str) -> AsyncIterator[Any]:
    settings = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dashboards": [SecretStr(READ_TOKEN)]},
                        client_secrets={"kilo-gateway": [SecretStr(SECRET)]})
    yield await aiohttp_client(create_api_app(settings, default_policy(), clickhouse, CollectorRegistry(),
                                              more_clients=lambda: connect_raw(clickhouse_url)))


async def test_a_select_answers_as_json_csv_and_tsv(api: Any, clickhouse: Any) -> None:
    model = f"sql-{uuid.uuid4().hex[:6]}"
    Timeline(clickhouse).traffic(0, 3, 10, 0.2, model=model)
    query = f"SELECT status_code, count() AS n FROM o11y.api_metrics WHERE resolved_model = '{model}' GROUP BY 1 ORDER BY 1"
    answer = await api.post("/v1/sql", json={"query": query}, headers=ADMIN)
    assert answer.status == 200, await answer.text()
    body = await answer.json()
    assert body["data"] == [[200, 24], [500, 6]] and [m["name"] for m in body["meta"]] == ["status_code", "n"]
    check_answer(await (await api.get("/openapi.json")).json(), "/v1/sql", body, method="post")
    csv = await api.post("/v1/sql", json={"query": query, "format": "csv"}, headers=ADMIN)
    assert csv.headers["Content-Type"].startswith("text/csv") and await csv.text() == '"status_code","n"\n200,24\n500,6\n'
    tsv = await api.post("/v1/sql", json={"query": query + ";", "format": "tsv"}, headers=ADMIN)
    assert await tsv.text() == "status_code\tn\n200\t24\n500\t6\n"


@pytest.mark.parametrize(("query", "reason"), [
    ("DROP TABLE o11y.api_metrics", "readonly"),
    ("INSERT INTO o11y.silences (silence_id) VALUES ('x')", "readonly"),
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "readonly"),
    ("SELECT 1 SETTINGS readonly = 0", "readonly"),
    ("SELECT number FROM numbers(200000)", "Limit for result"),
    ("SELEKT 1", "Syntax error"),
    ("SELECT * FROM o11y.no_such_table", "UNKNOWN_TABLE"),
])
async def test_anything_but_a_bounded_read_is_refused_with_clickhouses_reason(api: Any, clickhouse: Any, query: str,
                                                                             reason: str) -> None:
    answer = await api.post("/v1/sql", json={"query": query}, headers=ADMIN)
    assert answer.status == 400
    body = await answer.json()
    assert body["error"] == "ClickHouse refused the query" and reason.lower() in body["issues"][0].lower(), body
    assert clickhouse.query("EXISTS TABLE o11y.api_metrics").result_rows == [(1,)]
    assert clickhouse.query("SELECT getSetting('readonly')").result_rows == [(0,)]


async def test_only_an_admin_token_may_ask_and_bodies_are_checked(api: Any) -> None:
    assert (await api.post("/v1/sql", json={"query": "SELECT 1"})).status == 401
    for token in (READ_TOKEN, SECRET):
        assert (await api.post("/v1/sql", json={"query": "SELECT 1"}, headers={"Authorization": f"Bearer {token}"})).status == 403
    for body in ({}, {"query": ""}, {"query": "SELECT 1", "format": "xml"}, {"query": "x" * 60_001}, {"sql": "SELECT 1"}):
        answer = await api.post("/v1/sql", json=body, headers=ADMIN)
        assert answer.status == 400 and (await answer.json())["issues"]
    assert (await api.post("/v1/sql", data=b"\xff\xfe", headers=ADMIN)).status == 400
    assert (await api.post("/v1/sql", json={"query": "x" * 100_000}, headers=ADMIN)).status == 413
