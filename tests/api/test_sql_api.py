"""`POST /v1/sql`: analysts' read-only SQL through the API, the admin token only, nothing written, limits kept."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from runtime.clickhouse import connect, connect_raw
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
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "readonly"),
    ("SELECT 1 SETTINGS readonly = 0", "readonly"),
    ("SELECT number FROM numbers(200000)", "Limit for result"),
    ("SELEKT 1", "Syntax error"),
    ("SELECT 1; DROP TABLE o11y.api_metrics", "Multi-statements are not allowed"),
    ("SELECT * FROM o11y.no_such_table", "UNKNOWN_TABLE"),
    ("SELECT length(groupArray(number)) FROM numbers(2e8)", "memory limit"),
    ("SELECT repeat('x', 1000000) FROM numbers(300)", "memory limit"),
])
async def test_anything_but_a_bounded_read_is_refused_with_clickhouses_reason(api: Any, clickhouse: Any, query: str,
                                                                             reason: str) -> None:
    answer = await api.post("/v1/sql", json={"query": query}, headers=ADMIN)
    assert answer.status == 400
    body = await answer.json()
    assert body["error"] == "ClickHouse refused the query" and reason.lower() in body["issues"][0].lower(), body
    assert "formatQuerySingleLine" not in body["issues"][0]
    assert clickhouse.query("EXISTS TABLE o11y.api_metrics").result_rows == [(1,)]
    assert clickhouse.query("SELECT getSetting('readonly')").result_rows == [(0,)]


@pytest.mark.parametrize(("query", "reason"), [
    ("DROP TABLE o11y.api_metrics", "DROP TABLE is not a read"),
    ("INSERT INTO o11y.silences (silence_id) VALUES ('x')", "INSERT INTO is not a read"),
    ("KILL QUERY WHERE 1 ASYNC", "KILL QUERY is not a read"),
    ("SYSTEM FLUSH LOGS", "SYSTEM FLUSH is not a read"),
    ("SET readonly = 0", "SET is not a read"),
    ("EXPLAIN PIPELINE INSERT INTO o11y.silences SELECT * FROM o11y.silences", "EXPLAIN only of a SELECT"),
    ("SELECT 1 FORMAT Native", "FORMAT clause"),
])
async def test_only_reads_run_as_clickhouses_parser_reads_the_statement(api: Any, clickhouse: Any, query: str,
                                                                       reason: str) -> None:
    answer = await api.post("/v1/sql", json={"query": f"  {query.lower()} -- a comment"}, headers=ADMIN)
    assert answer.status == 400
    body = await answer.json()
    assert body["error"] == "query refused" and reason in body["issues"][0], body
    assert clickhouse.query("EXISTS TABLE o11y.api_metrics").result_rows == [(1,)]


@pytest.mark.parametrize("tail", [
    "INTO OUTFILE '{path}' FORMAT TSV",
    "INTO OUTFILE '{path}' APPEND FORMAT TSV",
    "INTO OUTFILE '{path}' TRUNCATE",
    "INTO OUTFILE '{path}' AND STDOUT",
    "INTO OUTFILE '{path}' COMPRESSION 'none'",
    "FORMAT TSV INTO OUTFILE '{path}'",
])
@pytest.mark.parametrize("head", ["SELECT 'import os' AS line", "EXPLAIN AST SELECT 1", "SHOW TABLES FROM o11y",
                                  "DESCRIBE TABLE o11y.api_metrics"])
async def test_no_query_writes_a_file_where_clickhouse_runs(api: Any, tmp_path: Path, head: str, tail: str) -> None:
    """chDB runs inside the API process: a `.pth` file written into the virtualenv would run at the next start."""
    path = tmp_path / "o11y-evil.pth"
    answer = await api.post("/v1/sql", json={"query": f"{head} {tail.format(path=path)}", "format": "tsv"}, headers=ADMIN)
    assert answer.status == 400, await answer.text()
    assert not path.exists() and list(tmp_path.iterdir()) == []


async def test_a_kill_loop_never_stops_another_query(api: Any, clickhouse_url: str) -> None:
    def slow_read() -> list[Any]:
        other = connect(clickhouse_url)
        try:
            return list(other.query("SELECT sleepEachRow(0.5) FROM numbers(4)").result_rows)
        finally:
            other.close()

    running = asyncio.create_task(asyncio.to_thread(slow_read))
    answers = []
    while not running.done():
        for kill in ("KILL QUERY WHERE 1 ASYNC", "KILL QUERY WHERE 1 SYNC", "KILL MUTATION WHERE 1"):
            answers.append((await api.post("/v1/sql", json={"query": kill}, headers=ADMIN)).status)
    assert await running == [(0,)] * 4
    assert answers and set(answers) == {400}


async def test_an_answer_over_the_size_limit_is_refused_not_sent(api: Any) -> None:
    answer = await api.post("/v1/sql", json={"query": "SELECT repeat('x', 1000000) FROM numbers(100)"}, headers=ADMIN)
    assert answer.status == 400
    body = await answer.json()
    assert body["error"] == "query refused" and "larger than 64 MiB" in body["issues"][0]
    fits = await api.post("/v1/sql", json={"query": "SELECT repeat('x', 1000000) FROM numbers(20)", "format": "tsv"},
                          headers=ADMIN)
    assert fits.status == 200 and len(await fits.read()) > 20_000_000


SLOW = " UNION ALL ".join(["SELECT sleepEachRow(1) FROM numbers(3)"] * 2)


async def test_analysts_queries_never_starve_ingest_or_the_rest_of_the_api(api: Any, client: Any, clickhouse: Any) -> None:
    """Six slow queries at once: two run on the SQL endpoint's own threads, four are told to come back later, and
    meanwhile the usage API and ingest's readiness answer (they used to wait for a thread the queries held)."""
    queries = [asyncio.create_task(api.post("/v1/sql", json={"query": SLOW}, headers=ADMIN)) for _ in range(6)]
    await asyncio.sleep(0.2)
    stats = await api.get("/v1/usage/stats", headers=ADMIN)
    ready = await client.get("/readyz")
    still_running = sum(not q.done() for q in queries)
    assert stats.status == 200 and ready.status == 200
    answers = await asyncio.gather(*queries)
    assert still_running == 2, "the usage API and /readyz answered while both admitted queries ran"
    assert sorted(a.status for a in answers) == [200, 200, 429, 429, 429, 429]
    assert all(a.headers["Retry-After"] == "5" for a in answers if a.status == 429)


async def test_only_an_admin_token_may_ask_and_bodies_are_checked(api: Any) -> None:
    assert (await api.post("/v1/sql", json={"query": "SELECT 1"})).status == 401
    for token in (READ_TOKEN, SECRET):
        assert (await api.post("/v1/sql", json={"query": "SELECT 1"}, headers={"Authorization": f"Bearer {token}"})).status == 403
    for body in ({}, {"query": ""}, {"query": "SELECT 1", "format": "xml"}, {"query": "x" * 60_001}, {"sql": "SELECT 1"}):
        answer = await api.post("/v1/sql", json=body, headers=ADMIN)
        assert answer.status == 400 and (await answer.json())["issues"]
    assert (await api.post("/v1/sql", data=b"\xff\xfe", headers=ADMIN)).status == 400
    assert (await api.post("/v1/sql", json={"query": "x" * 100_000}, headers=ADMIN)).status == 413


async def test_words_inside_strings_are_data_not_clauses(api: Any) -> None:
    query = "SELECT 'x INTO OUTFILE ''/tmp/y''' AS `INTO OUTFILE`, $$FORMAT CSV$$ AS f, format('{}', 'KILL') AS k"
    answer = await api.post("/v1/sql", json={"query": query}, headers=ADMIN)
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["data"] == [["x INTO OUTFILE '/tmp/y'", "FORMAT CSV", "KILL"]]
