"""`/v1/sessions/…` against sessions inserted into the real raw table: every number chosen and counted by hand."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from api.session_api import shape
from api.session_query import SessionStatsQuery, stats_sql
from runtime.clickhouse import connect_raw
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.events import ADMIN_TOKEN, READ_TOKEN, SECRET
from support.openapi_check import check_answer
from support.session_history import SessionHistory, standard

READER = {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture
def history(clickhouse: Any) -> SessionHistory:
    return standard(clickhouse)


@pytest.fixture
async def api(aiohttp_client: Any, clickhouse: Any, clickhouse_url: str) -> AsyncIterator[Any]:
    settings = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dashboards": [SecretStr(READ_TOKEN)]},
                        client_secrets={"kilo-gateway": [SecretStr(SECRET)]})
    yield await aiohttp_client(create_api_app(settings, default_policy(), clickhouse, CollectorRegistry(),
                                              more_clients=lambda: connect_raw(clickhouse_url)))


async def get(api: Any, path: str) -> Any:
    answer = await api.get(path, headers=READER)
    assert answer.status == 200, await answer.text()
    return await answer.json()


async def test_stats_are_the_sessions_counted_by_hand(api: Any, history: SessionHistory) -> None:
    body = await get(api, f"/v1/sessions/stats?{history.window()}")
    assert body["source"] == "rollup+raw" and body["groups"] == []
    total = body["total"]
    assert (total["sessions"], total["failed_sessions"], total["failure_rate"]) == (5, 2, 0.4)
    assert (total["stuck_sessions"], total["stuck_tool_calls"], total["errors"]) == (2, 3, 6)
    assert (total["tool_calls"], total["tool_errors"], total["turns"], total["steps"]) == (12, 4, 20, 60)
    assert total["tokens"] == {"input": 5000, "output": 500, "reasoning": 50, "cache_read": 2000, "cache_write": 250}
    assert total["cost_usd"] == pytest.approx(3.875)
    assert total["first_response_ms"] == {"p50": 2000.0, "p95": 4000.0, "p99": 4000.0}, "one left none: four counted"
    assert total["duration_ms"]["p50"] == 90_000.0


async def test_group_by_platform_reason_and_tool_type(api: Any, history: SessionHistory) -> None:
    by_platform = await get(api, f"/v1/sessions/stats?{history.window(group_by='platform')}")
    assert [(g["platform"], g["sessions"], g["failed_sessions"], g["stuck_tool_calls"], g["cost_usd"])
            for g in by_platform["groups"]] == [("vscode", 3, 1, 0, 2.75), ("cli", 2, 1, 3, 1.125)]
    by_reason = await get(api, f"/v1/sessions/stats?{history.window(group_by='termination_reason,model')}")
    assert {(g["termination_reason"], g["model"]): g["sessions"] for g in by_reason["groups"]} == {
        ("error", "m-a"): 2, ("completed", "m-a"): 1, ("completed", "m-b"): 1, ("abandoned", "m-b"): 1}
    by_tool = await get(api, f"/v1/sessions/stats?{history.window(group_by='tool_type')}")
    assert by_tool["source"] == "rollup+raw"
    assert [(g["tool_type"], g["sessions"], g["tool_calls"], g["tool_errors"], g["tool_error_rate"])
            for g in by_tool["groups"]] == [("read_file", 3, 7, 0, 0.0), ("execute_command", 2, 5, 4, 0.8)]
    assert by_tool["total"]["sessions"] == 5, "a session that called two tool types counts once in the total"


async def test_filters(api: Any, history: SessionHistory) -> None:
    tool = (await get(api, f"/v1/sessions/stats?{history.window(tool_type='execute_command')}"))["total"]
    assert (tool["sessions"], tool["tool_calls"], tool["tool_errors"], tool["cost_usd"]) == (2, 5, 4, 1.25)
    assert (await get(api, f"/v1/sessions/stats?{history.window(platform='cli')}"))["total"]["sessions"] == 2
    errors = await get(api, f"/v1/sessions/stats?{history.window()}&termination_reason=error&termination_reason=abandoned")
    assert errors["total"]["sessions"] == 3
    assert (await get(api, f"/v1/sessions/stats?{history.window(model='m-b', platform='vscode')}"))["total"]["sessions"] == 1


async def test_timeseries_by_hour_with_empty_hours_and_by_reason(api: Any, history: SessionHistory) -> None:
    hourly = await get(api, f"/v1/sessions/timeseries?{history.window()}&interval=1h")
    assert [p["t"] for p in hourly["points"]] == [(history.base + timedelta(hours=h)).isoformat() for h in range(3)]
    assert [(p["sessions"], p["failed_sessions"], p["stuck_tool_calls"]) for p in hourly["points"]] == [
        (1, 0, 0), (3, 2, 3), (1, 0, 0)]
    quarter = await get(api, f"/v1/sessions/timeseries?{history.window()}&interval=15m&group_by=termination_reason")
    assert quarter["source"] == "raw"
    minutes = {(int((datetime.fromisoformat(p["t"]) - history.base).total_seconds() // 60), p["termination_reason"]):
               p["sessions"] for p in quarter["points"]}
    assert minutes == {(15, "completed"): 1, (60, "error"): 1, (75, "completed"): 1, (90, "error"): 1, (120, "abandoned"): 1}


async def test_recent_sessions_newest_first_without_an_ip_address(api: Any, history: SessionHistory) -> None:
    body = await get(api, f"/v1/sessions/recent?{history.window()}&limit=2")
    newest, second = body["sessions"]
    assert (newest["session_id"], second["session_id"]) == ("ses-125", "ses-95")
    assert (newest["user"], newest["termination_reason"], newest["cost_usd"]) == ("anonymous", "abandoned", 2.0)
    assert second["stuck_tool_calls"] == 1 and second["received_at"].endswith("Z")
    every = await get(api, f"/v1/sessions/recent?{history.window(0, 200)}&limit=1000")
    assert len(every["sessions"]) == 7 and "203.0.113.9" not in json.dumps(every)
    [first] = [s for s in every["sessions"] if s["session_id"] == "ses-15"]
    assert (first["tool_calls_by_type"], first["tool_errors_by_type"]) == ({"read_file": 4, "execute_command": 2},
                                                                           {"execute_command": 1})


async def test_export_as_ndjson_and_csv(api: Any, history: SessionHistory) -> None:
    answer = await api.get(f"/v1/sessions/export?{history.window()}", headers=READER)
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/x-ndjson")
    assert "o11y-sessions-" in answer.headers["Content-Disposition"]
    sessions = [json.loads(line) for line in (await answer.text()).splitlines()]
    assert sorted(s["session_id"] for s in sessions) == ["ses-125", "ses-15", "ses-65", "ses-75", "ses-95"]
    assert sum(s["cost_usd"] for s in sessions) == pytest.approx(3.875)
    answer = await api.get(f"/v1/sessions/export?{history.window(format='csv', platform='cli')}", headers=READER)
    rows = list(csv.DictReader(io.StringIO(await answer.text())))
    assert sorted((r["session_id"], r["tool_calls_by_type"], r["first_response_ms"]) for r in rows) == [
        ("ses-75", '{"execute_command":3}', ""), ("ses-95", "{}", "3000")]


def test_the_rollups_and_the_raw_table_give_the_same_answer(clickhouse: Any, history: SessionHistory) -> None:
    """Whole days from the daily rollup, whole hours from the hourly one, minutes from the raw table: all agree."""
    for start, end, expected in ((10, 140, "rollup+raw"), (-24 * 60 - 30, 26 * 60, "rollup+raw")):
        query = SessionStatsQuery.model_validate({"client": [history.client], "group_by": "platform,termination_reason",
                                                  "from": history.base + timedelta(minutes=start),
                                                  "to": history.base + timedelta(minutes=end)})
        answers = []
        for force_raw in (False, True):
            built = stats_sql(query, history.base, force_raw=force_raw)
            result = clickhouse.query(built.sql, built.params)
            answers.append((built.source, shape(built, list(result.column_names), result.result_rows)))
        (mixed, by_rollup), (raw, by_raw) = answers
        assert (mixed, raw) == (expected, "raw") and by_rollup == by_raw and by_rollup[1] is not None


@pytest.mark.parametrize(("path", "reason"), [
    ("stats?group_by=colour", "group_by"),
    ("stats?group_by=platform,platform", "twice"),
    ("stats?limit=0", "limit"),
    ("stats?limit=1000000000", "limit"),
    ("stats?termination_reason=exploded", "termination_reason"),
    ("stats?bogus=1", "bogus"),
    ("stats?tool_type=" + "x" * 300, "tool_type"),
    ("stats?from=2031-01-02T00:00:00Z&to=2031-01-01T00:00:00Z", "before"),
    ("stats?from=2020-01-01T00:00:00Z&to=2031-01-01T00:00:00Z", "400 days"),
    ("stats?from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z", "DateTime64 holds"),
    ("timeseries?interval=2m", "interval"),
    ("timeseries?interval=1m&from=2031-01-01T00:00:00Z&to=2031-01-31T00:00:00Z", "points"),
    ("recent?limit=100000", "limit"),
    ("recent?from=2031-01-01T00:00:00", "from"),
    ("export?from=2031-01-01T00:00:00Z", "to"),
    ("export?from=2031-01-01T00:00:00Z&to=2031-01-02T00:00:00Z&format=xlsx", "format"),
])
async def test_hostile_parameters_get_400_with_the_reason(api: Any, path: str, reason: str) -> None:
    answer = await api.get(f"/v1/sessions/{path}", headers=READER)
    assert answer.status == 400, await answer.text()
    assert any(reason in issue for issue in (await answer.json())["issues"])


async def test_sessions_need_a_read_token_not_an_ingest_secret(api: Any) -> None:
    for path in ("stats", "timeseries", "recent", "export?from=2031-01-01T00:00:00Z&to=2031-01-02T00:00:00Z"):
        assert (await api.get(f"/v1/sessions/{path}")).status == 401
        assert (await api.get(f"/v1/sessions/{path}", headers={"Authorization": f"Bearer {SECRET}"})).status == 403
        assert (await api.get(f"/v1/sessions/{path}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})).status == 200


async def test_every_sessions_answer_is_what_the_openapi_description_promises(api: Any, history: SessionHistory) -> None:
    document = await (await api.get("/openapi.json")).json()
    for query in ("group_by=tool_type,platform", "group_by=termination_reason,model,client", ""):
        check_answer(document, "/v1/sessions/stats", await get(api, f"/v1/sessions/stats?{history.window()}&{query}"))
    check_answer(document, "/v1/sessions/timeseries",
                 await get(api, f"/v1/sessions/timeseries?{history.window()}&interval=15m&group_by=tool_type"))
    check_answer(document, "/v1/sessions/recent", await get(api, f"/v1/sessions/recent?{history.window()}"))
    export = await api.get(f"/v1/sessions/export?{history.window()}", headers=READER)
    for line in (await export.text()).splitlines():
        check_answer(document, "/v1/sessions/export", json.loads(line), content="application/x-ndjson")
