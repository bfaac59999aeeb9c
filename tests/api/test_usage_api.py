"""`/v1/usage/…` against events inserted into the real raw table: every number computed here by hand."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import ValidationError
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from api.export import stream_query
from api.usage_api import shape
from api.usage_query import ExportQuery, StatsQuery, events_sql, stats_sql
from runtime.clickhouse import connect_raw
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from schemas.prices import Price, PriceTable
from support.events import ADMIN_TOKEN, READ_TOKEN, SECRET
from support.openapi_check import check_answer
from support.timeline import unique_base

READER = {"Authorization": f"Bearer {READ_TOKEN}"}
COLUMNS = ["event_id", "received_at", "client_name", "kilo_user_id", "organization_id", "is_anonymous", "is_streaming",
           "user_byok", "provider", "requested_model", "resolved_model", "inference_provider", "tools_available",
           "tools_used", "ttfb_ms", "complete_request_ms", "status_code", "input_tokens", "output_tokens",
           "cache_write_tokens", "cache_hit_tokens", "total_tokens", "kafka_topic", "kafka_partition", "kafka_offset"]
A_TTFB = [120, 250, 300, 410, 800, 1200, 1500, 3000, 9000, 20000]
"""Successful requests of model m-a; 4 in the partial first hour (day 1), 4 in the whole hour, 2 in the partial last."""
B_TTFB = [100, 200, 300, 400]


def at_rank(values: list[int] | list[float], q: float) -> float:
    """The documented percentile: the value at rank floor(q × (n − 1)) of the sorted values (0-based)."""
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def close(got: float | None, exact: float) -> bool:
    return got is not None and abs(got - exact) <= 0.01 * exact


class History:
    """One client's events around a midnight: 23:00 on day 1 is `base`; the question asked is 23:10 → 01:20."""

    def __init__(self, clickhouse: Any) -> None:
        self.client = f"usage-{uuid.uuid4().hex[:8]}"
        day = unique_base().replace(hour=0, minute=0, second=0, microsecond=0)
        self.base = day + timedelta(hours=23)
        self.day2 = (self.base + timedelta(hours=1)).date()
        self.rows: list[list[Any]] = []
        minutes_of_a = [15, 25, 35, 45, 65, 75, 85, 95, 125, 135]
        for minute, ttfb in zip(minutes_of_a, A_TTFB, strict=True):
            self.add(minute, "m-a", ttfb=ttfb, tokens=(1000, 200, 100, 400, 1200))
        for minute, status in ((30, 500), (70, 500), (130, 429)):
            self.add(minute, "m-a", ttfb=50, status=status)
        for minute, ttfb in zip([20, 80, 90, 128], B_TTFB, strict=True):
            self.add(minute, "m-b", ttfb=ttfb, provider="anthropic", user="anon:203.0.113.7", org=None, infer=None)
        self.add(100, "m-b", ttfb=30, status=404, provider="anthropic", user="u2", org=None, infer=None)
        self.add(5, "m-a", ttfb=1, tokens=(9, 9, 0, 0, 18))  # before `from`
        self.add(145, "m-a", ttfb=1, tokens=(9, 9, 0, 0, 18))  # at or after `to`
        clickhouse.insert("o11y.api_metrics", self.rows, column_names=COLUMNS)

    def add(self, minute: int, model: str, *, ttfb: int, status: int = 200, provider: str = "openai", user: str = "u1",
            org: str | None = "o1", infer: str | None = "azure", tokens: tuple[int, ...] | None = None) -> None:
        t = tokens or (None, None, None, None, None)
        self.rows.append([uuid.uuid4(), self.base + timedelta(minutes=minute, seconds=7), self.client, user, org,
                          user.startswith("anon:"), True, False, provider, model, model, infer, ["function:read"], [],
                          ttfb, ttfb * 2, status, *t, "usage-test", 0, len(self.rows)])

    def window(self, start: int = 10, end: int = 140) -> str:
        def iso(minute: int) -> str:
            return (self.base + timedelta(minutes=minute)).isoformat().replace("+", "%2B")
        return f"client={self.client}&from={iso(start)}&to={iso(end)}"


def prices(day2: date) -> PriceTable:
    day1 = day2 - timedelta(days=1)
    return PriceTable(prices=(
        Price.model_validate({"model": "m-a", "from": day1, "input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75}),
        Price.model_validate({"model": "m-a", "from": day2, "input": 2, "output": 10}),
        Price.model_validate({"model": "m-a", "provider": "elsewhere", "from": day1, "input": 99, "output": 99}),
    ))


DAY1_COST = (500 * 3 + 400 * 0.3 + 100 * 3.75 + 200 * 15) / 1e6
"""One m-a request on day 1: 1000 input of which 400 cache hits and 100 cache writes, 200 output."""
DAY2_COST = (500 * 2 + 400 * 2 + 100 * 2 + 200 * 10) / 1e6
"""The same on day 2: no cache prices, so cache tokens cost the input price."""


@pytest.fixture
def history(clickhouse: Any) -> History:
    return History(clickhouse)


@pytest.fixture
async def api(aiohttp_client: Any, clickhouse: Any, clickhouse_url: str, history: History) -> AsyncIterator[Any]:
    settings = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dashboards": [SecretStr(READ_TOKEN)]},
                        client_secrets={"kilo-gateway": [SecretStr(SECRET)]})
    app = create_api_app(settings, default_policy(), clickhouse, CollectorRegistry(), prices=prices(history.day2),
                         more_clients=lambda: connect_raw(clickhouse_url))
    yield await aiohttp_client(app)


async def get(api: Any, path: str) -> Any:
    answer = await api.get(path, headers=READER)
    assert answer.status == 200, await answer.text()
    return await answer.json()


async def test_stats_by_model_are_the_numbers_counted_by_hand(api: Any, history: History) -> None:
    body = await get(api, f"/v1/usage/stats?{history.window()}&group_by=model")
    assert body["source"] == "rollup+raw" and body["group_by"] == ["model"] and not body["truncated"]
    a, b = body["groups"]
    assert (a["model"], a["requests"], a["errors"]) == ("m-a", 13, {"4xx": 1, "5xx": 2, "total": 3})
    assert a["error_rate"] == round(3 / 13, 6)
    for level, name in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        assert close(a["ttfb_ms"][name], at_rank(A_TTFB, level)), (name, a["ttfb_ms"])
        assert close(a["complete_ms"][name], 2 * at_rank(A_TTFB, level)), (name, a["complete_ms"])
        assert close(b["ttfb_ms"][name], at_rank(B_TTFB, level)), (name, b["ttfb_ms"])
    assert a["tokens"] == {"input": 10_000, "output": 2000, "cache_write": 1000, "cache_hit": 4000, "total": 12_000}
    assert a["requests_with_tokens"] == 10
    assert a["cost"]["usd"] == pytest.approx(4 * DAY1_COST + 6 * DAY2_COST)
    assert (a["cost"]["priced_requests"], a["cost"]["unpriced_requests"]) == (13, 0)
    assert (b["model"], b["requests"], b["errors"]["4xx"], b["requests_with_tokens"]) == ("m-b", 5, 1, 0)
    assert b["cost"] == {"usd": None, "priced_requests": 0, "unpriced_requests": 5, "unpriced_models": ["m-b"]}
    total = body["total"]
    assert (total["requests"], total["errors"]["total"]) == (18, 4)
    assert total["cost"]["usd"] == pytest.approx(4 * DAY1_COST + 6 * DAY2_COST)
    assert (total["cost"]["unpriced_requests"], total["cost"]["unpriced_models"]) == (5, ["m-b"])
    assert close(total["ttfb_ms"]["p50"], at_rank(A_TTFB + B_TTFB, 0.5))


async def test_filters_and_grouping_by_what_only_the_raw_table_knows(api: Any, history: History) -> None:
    only_b = await get(api, f"/v1/usage/stats?{history.window()}&model=m-b&provider=anthropic")
    assert only_b["total"]["requests"] == 5 and only_b["groups"] == []
    either = await get(api, f"/v1/usage/stats?{history.window()}&model=m-b&model=m-a")
    assert either["total"]["requests"] == 18
    assert (await get(api, f"/v1/usage/stats?{history.window()}&byok=true"))["total"]["requests"] == 0
    azure = await get(api, f"/v1/usage/stats?{history.window()}&inference_provider=azure")
    assert azure["total"]["requests"] == 13

    users = await get(api, f"/v1/usage/stats?{history.window()}&group_by=user,organization")
    assert users["source"] == "raw"
    found = {(g["user"], g["organization"]): g["requests"] for g in users["groups"]}
    assert found == {("u1", "o1"): 13, ("anonymous", None): 4, ("u2", None): 1}
    anonymous = await get(api, f"/v1/usage/stats?{history.window()}&user=anonymous")
    assert anonymous["total"]["requests"] == 4 and "203.0.113.7" not in json.dumps(anonymous)

    whole_hour = await get(api, f"/v1/usage/stats?{history.window(60, 120)}&group_by=client")
    assert whole_hour["source"] == "rollup"
    [group] = whole_hour["groups"]
    assert (group["client"], group["requests"]) == (history.client, 4 + 1 + 2 + 1)
    assert group["cost"]["usd"] == pytest.approx(4 * DAY2_COST)


async def test_timeseries_by_hour_and_by_quarter_hour(api: Any, history: History) -> None:
    hourly = await get(api, f"/v1/usage/timeseries?{history.window()}&interval=1h")
    assert [p["t"] for p in hourly["points"]] == [(history.base + timedelta(hours=h)).isoformat() for h in range(3)]
    assert [p["requests"] for p in hourly["points"]] == [4 + 1 + 1, 4 + 1 + 2 + 1, 2 + 1 + 1]
    assert [p["cost"]["usd"] for p in hourly["points"]] == pytest.approx([4 * DAY1_COST, 4 * DAY2_COST, 2 * DAY2_COST])

    quarters = await get(api, f"/v1/usage/timeseries?{history.window()}&interval=15m&model=m-b")
    assert quarters["source"] == "raw"
    by_time = {p["t"]: p["requests"] for p in quarters["points"]}
    assert len(by_time) == 10 and sum(by_time.values()) == 5  # 23:00, 23:15 … 01:15
    assert by_time[(history.base + timedelta(minutes=15)).isoformat()] == 1  # minute 20
    assert by_time[(history.base + timedelta(minutes=90)).isoformat()] == 2  # minutes 90 and 100
    assert by_time[(history.base + timedelta(minutes=45)).isoformat()] == 0

    grouped = await get(api, f"/v1/usage/timeseries?{history.window()}&interval=1d&group_by=model")
    assert {(p["t"][:10], p["model"]): p["requests"] for p in grouped["points"]} == {
        (str(history.base.date()), "m-a"): 5, (str(history.base.date()), "m-b"): 1,
        (str(history.day2), "m-a"): 8, (str(history.day2), "m-b"): 4}


async def test_recent_events_newest_first_with_their_cost_and_no_ip(api: Any, history: History) -> None:
    body = await get(api, f"/v1/usage/recent?{history.window()}&limit=4")
    events = body["events"]
    assert [e["received_at"][11:16] for e in events] == ["01:15", "01:10", "01:08", "01:05"]
    assert events[0]["model"] == "m-a" and events[0]["cost_usd"] == pytest.approx(DAY2_COST)
    assert events[1]["status_code"] == 429 and events[1]["cost_usd"] is None
    assert events[2]["user"] == "anonymous" and events[2]["cost_usd"] is None
    assert events[0]["tools_available"] == ["function:read"] and events[0]["inference_provider"] == "azure"
    everything = await get(api, f"/v1/usage/recent?{history.window(0, 200)}&limit=1000")
    assert len(everything["events"]) == len(history.rows)
    assert "203.0.113.7" not in json.dumps(everything)
    early = [e for e in everything["events"] if e["received_at"][11:16] == "23:15"]
    assert early[0]["cost_usd"] == pytest.approx(DAY1_COST)


async def test_export_as_ndjson_and_csv(api: Any, history: History) -> None:
    answer = await api.get(f"/v1/usage/export?{history.window()}&format=ndjson", headers=READER)
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/x-ndjson")
    assert "attachment" in answer.headers["Content-Disposition"]
    lines = (await answer.text()).splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == len(history.rows) - 2
    assert sum(1 for e in events if e["model"] == "m-a") == 13
    assert sorted(e["cost_usd"] for e in events if e["cost_usd"] is not None) == pytest.approx(
        sorted([DAY1_COST] * 4 + [DAY2_COST] * 6))
    assert all(isinstance(e["ttfb_ms"], int) and e["received_at"].endswith("Z") for e in events)

    answer = await api.get(f"/v1/usage/export?{history.window()}&format=csv&model=m-b", headers=READER)
    assert answer.headers["Content-Type"].startswith("text/csv")
    text = await answer.text()
    assert "203.0.113.7" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5 and {r["user"] for r in rows} == {"anonymous", "u2"}
    assert {r["organization"] for r in rows} == {""} and {r["cost_usd"] for r in rows} == {""}


@pytest.mark.parametrize(("path", "reason"), [
    ("stats?from=yesterday", "from"),
    ("stats?from=2031-01-02T00:00:00Z&to=2031-01-01T00:00:00Z", "before"),
    ("stats?from=2020-01-01T00:00:00Z&to=2031-01-01T00:00:00Z", "400 days"),
    ("stats?group_by=colour", "group_by"),
    ("stats?group_by=model,model", "twice"),
    ("stats?limit=1000000000", "limit"),
    ("stats?byok=maybe", "byok"),
    ("stats?bogus=1", "bogus"),
    ("stats?model=" + "x" * 300, "model"),
    ("timeseries?interval=2m", "interval"),
    ("timeseries?interval=1m&from=2031-01-01T00:00:00Z&to=2031-01-31T00:00:00Z", "points"),
    ("recent?limit=100000", "limit"),
    ("recent?from=2031-01-01T00:00:00", "from"),
    ("export?from=2031-01-01T00:00:00Z", "to"),
    ("export?from=2031-01-01T00:00:00Z&to=2031-01-02T00:00:00Z&format=xlsx", "format"),
    ("stats?to=0001-01-01T00:00:00Z", "1900-01-01T00:00:00Z to 2299-12-31T23:59:59.999Z"),
    ("stats?from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z", "DateTime64 holds 1900-01-01"),
    ("timeseries?from=2300-01-01T00:00:00Z&to=2300-01-02T00:00:00Z", "DateTime64 holds"),
    ("timeseries?to=9999-12-31T23:59:59-05:00", "DateTime64 holds"),
    ("recent?to=1900-01-01T12:00:00Z", "from (24 hours before to) is out of range"),
    ("recent?from=1899-12-31T23:59:59.999Z&to=1900-01-01T01:00:00Z", "DateTime64 holds"),
    ("export?from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z", "DateTime64 holds"),
    ("export?from=2299-12-31T00:00:00Z&to=2300-01-01T00:00:00Z", "DateTime64 holds"),
    ("stats?from=2020-01-01T00:00:00Z", "400 days apart (to defaults to now)"),
    ("recent?from=2020-01-01T00:00:00Z", "400 days"),
])
async def test_hostile_parameters_get_400_with_the_reason(api: Any, path: str, reason: str) -> None:
    answer = await api.get(f"/v1/usage/{path}", headers=READER)
    assert answer.status == 400, await answer.text()
    body = await answer.json()
    assert any(reason in issue for issue in body["issues"]), body


async def test_usage_needs_a_read_token_not_an_ingest_secret(api: Any) -> None:
    for path in ("stats", "timeseries", "recent", "export?from=2031-01-01T00:00:00Z&to=2031-01-02T00:00:00Z"):
        assert (await api.get(f"/v1/usage/{path}")).status == 401
        assert (await api.get(f"/v1/usage/{path}", headers={"Authorization": f"Bearer {SECRET}"})).status == 403
        assert (await api.get(f"/v1/usage/{path}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})).status == 200


def test_a_providers_price_beats_the_models_and_a_price_holds_until_the_next() -> None:
    day2 = date(2031, 3, 2)
    table = prices(day2)
    assert table.price_of("m-a", "openai", day2 - timedelta(days=1)).input == 3  # type: ignore[union-attr]
    assert table.price_of("m-a", "openai", day2 + timedelta(days=400)).input == 2  # type: ignore[union-attr]
    assert table.price_of("m-a", "elsewhere", day2).input == 99  # type: ignore[union-attr]
    assert table.price_of("m-a", "openai", day2 - timedelta(days=2)) is None
    assert table.price_of("m-b", "openai", day2) is None
    with pytest.raises(ValueError, match="two prices"):
        PriceTable.model_validate({"prices": [{"model": "m", "from": "2031-01-01", "input": 1, "output": 1}] * 2})


def test_now_is_a_parameter_of_the_default_range() -> None:
    now = datetime(2031, 5, 1, 12, 30, tzinfo=timezone.utc)
    built = stats_sql(StatsQuery(), PriceTable(), now)
    assert (built.start, built.end) == (now - timedelta(hours=24), now)


async def test_every_usage_answer_is_what_the_openapi_description_promises(api: Any, history: History) -> None:
    document = await (await api.get("/openapi.json")).json()
    for query in ("group_by=model", "group_by=user,organization,byok,inference_provider", ""):
        check_answer(document, "/v1/usage/stats", await get(api, f"/v1/usage/stats?{history.window()}&{query}"))
    for query in ("interval=1h", "interval=15m&group_by=client,model"):
        check_answer(document, "/v1/usage/timeseries", await get(api, f"/v1/usage/timeseries?{history.window()}&{query}"))
    check_answer(document, "/v1/usage/recent", await get(api, f"/v1/usage/recent?{history.window()}"))
    export = await api.get(f"/v1/usage/export?{history.window()}", headers=READER)
    for line in (await export.text()).splitlines():
        check_answer(document, "/v1/usage/export", json.loads(line), content="application/x-ndjson")
    with pytest.raises(ValidationError):
        check_answer(document, "/v1/usage/recent", {"events": [{"event_id": "x"}]})


def resident_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


class CountingClient:
    """A real chDB client that counts the bytes its export stream has handed out."""

    def __init__(self, url: str) -> None:
        self.client, self.read = connect_raw(url), 0

    def raw_query(self, *args: Any, **kwargs: Any) -> bytes:
        return self.client.raw_query(*args, **kwargs)

    def raw_stream(self, *args: Any, **kwargs: Any) -> Any:
        stream, outer = self.client.raw_stream(*args, **kwargs), self

        class Counted:
            def read(self, size: int) -> bytes:
                data: bytes = stream.read(size)
                outer.read += len(data)
                return data

            def close(self) -> None:
                stream.close()

        return Counted()

    def close(self) -> None:
        self.client.close()


async def test_an_export_reads_ahead_a_few_chunks_only_however_large_the_range(clickhouse: Any, clickhouse_url: str) -> None:
    client, start = f"bulk-{uuid.uuid4().hex[:8]}", unique_base()
    clickhouse.command(
        "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming, "
        "user_byok, provider, requested_model, resolved_model, tools_available, tools_used, ttfb_ms, complete_request_ms, "
        "status_code, kafka_topic, kafka_partition, kafka_offset) SELECT generateUUIDv4(), "
        "toDateTime64({start:DateTime64(3)}, 3, 'UTC') + toIntervalMillisecond(number * 10), {client:String}, 'u', false, "
        "false, false, 'openai', 'gpt-4', 'gpt-4', [], [], 100, 200, 200, 't', 0, number FROM numbers(200000)",
        parameters={"start": start.replace(tzinfo=None), "client": client})
    query = ExportQuery.model_validate({"client": [client], "from": start, "to": start + timedelta(hours=1)})
    sql, params = events_sql(query, PriceTable(), start, None)
    counting = CountingClient(clickhouse_url)
    chunk = 64 * 1024
    before = resident_mb()
    chunks = stream_query(lambda: counting, sql, params, "JSONEachRow", chunk=chunk, depth=4)
    first = await anext(chunks)
    read = -1
    for _ in range(100):  # the reader stops when the queue is full: wait until it has stopped
        if counting.read == read:
            break
        read = counting.read
        await asyncio.sleep(0.05)
    assert counting.read <= (4 + 2) * chunk, "the reader ran ahead of a client that does not read"
    grown = resident_mb() - before
    assert grown < 100, f"the process grew {grown:.0f} MB for a 64 KiB chunk: ClickHouse's answer is held whole"
    rest = b"".join([chunk async for chunk in chunks])
    lines = (first + rest).splitlines()
    assert len(lines) == 200_000 and counting.read == len(first) + len(rest) > 100 * chunk


def test_the_rollups_and_the_raw_table_give_the_same_answer(clickhouse: Any, history: History) -> None:
    """Whole days from the daily rollup, whole hours from the hourly one, minutes from the raw table: all agree."""
    for start, end, expected in ((10, 140, "rollup+raw"), (-23 * 60 - 30, 26 * 60 + 10, "rollup+raw"),
                                 (-23 * 60, 25 * 60, "rollup")):
        query = StatsQuery.model_validate({"client": [history.client], "from": history.base + timedelta(minutes=start),
                                           "to": history.base + timedelta(minutes=end),
                                           "group_by": "model,inference_provider"})
        answers = []
        for force_raw in (False, True):
            built = stats_sql(query, prices(history.day2), history.base, force_raw=force_raw)
            result = clickhouse.query(built.sql, built.params)
            answers.append((built.source, shape(built, list(result.column_names), result.result_rows)))
        (mixed, by_rollup), (raw, by_raw) = answers
        assert (mixed, raw) == (expected, "raw")
        assert by_rollup == by_raw and len(by_rollup[0]) == 2


class Streams:
    """One client's answers, streamed or not, around two hour boundaries: 00:00 is `base`; the question is 00:10 → 02:20."""

    def __init__(self, clickhouse: Any) -> None:
        self.client, self.base = f"streams-{uuid.uuid4().hex[:8]}", unique_base().replace(minute=0)
        self.rows: list[list[Any]] = []
        self.counted: list[tuple[int, int, int | None]] = []
        """(ttfb, complete, output tokens) of m-s's streamed successful answers: what time to first token counts."""
        for minute, ttfb, generating, tokens in ((15, 200, 150, 16), (25, 350, 380, 20), (35, 420, 1225, 50),
                                                 (65, 600, 1584, 100), (75, 800, 2500, 201), (85, 950, 1596, 400),
                                                 (95, 1300, 2016, 64), (125, 2000, 1600, 33), (130, 4500, 640, 17),
                                                 (135, 9000, 7992, 1000)):  # 10, 20, 25, 16, 12.5, 4, 32, 50, 40, 8 ms
            self.add(minute, "m-s", ttfb, ttfb + generating, tokens)
        # Each of these would make the answers far faster if it counted toward tokens per second.
        self.add(20, "m-s", 250, 264, 15)  # fewer than 16 output tokens: time to first token only
        self.add(70, "m-s", 300, 301, None)  # no token counts: time to first token only
        self.add(80, "m-s", 2, 3, 2)  # 2 output tokens: time to first token only
        self.add(90, "m-s", 3, 8, 500, streamed=False)  # not streamed: neither
        self.add(128, "m-s", 1, 2, 100, streamed=False)
        self.add(40, "m-s", 2, 3, 100, status=500)  # errors: neither
        self.add(100, "m-s", 5, 6, 300, status=429)
        self.add(30, "m-buffered", 400, 900, 100, streamed=False)  # a group with nothing to count
        self.add(110, "m-buffered", 500, 800, 100, streamed=False)
        self.add(5, "m-s", 1, 2, 100)  # before `from`
        clickhouse.insert("o11y.api_metrics", self.rows, column_names=COLUMNS)

    def add(self, minute: int, model: str, ttfb: int, complete: int, output: int | None, *, streamed: bool = True,
            status: int = 200) -> None:
        if streamed and status < 400 and minute >= 10:
            self.counted.append((ttfb, complete, output))
        self.rows.append([uuid.uuid4(), self.base + timedelta(minutes=minute, seconds=7), self.client, "u1", "o1", False,
                          streamed, False, "openai", model, model, "azure", [], [], ttfb, complete, status,
                          None if output is None else 100, output, 0, 0, None, "usage-test", 0, len(self.rows)])

    def ttft(self) -> list[int]:
        return [ttfb for ttfb, _, _ in self.counted]

    def tpot(self) -> list[float]:
        """Time per output token of the answers with at least 16 output tokens."""
        return [(complete - ttfb) / (tokens - 1) for ttfb, complete, tokens in self.counted
                if tokens is not None and tokens >= 16]

    def window(self) -> dict[str, Any]:
        return {"client": [self.client], "from": self.base + timedelta(minutes=10), "to": self.base + timedelta(minutes=140)}


def speed_close(got: float | None, tpot_ms: float) -> bool:
    """Tokens per second at a time per output token the sketch knows within 1 % (and the answer's rounding)."""
    return got is not None and 1000 / (tpot_ms * 1.01) - 0.05 <= got <= 1000 / (tpot_ms * 0.99) + 0.05


async def test_time_to_first_token_and_tokens_per_second_per_group_count_streamed_answers_only(
        api: Any, clickhouse: Any) -> None:
    streams = Streams(clickhouse)
    window = streams.window()
    query = f"client={streams.client}&from={quote(window['from'].isoformat())}&to={quote(window['to'].isoformat())}"
    body = await get(api, f"/v1/usage/stats?{query}&group_by=model")
    assert body["source"] == "rollup+raw"
    streamed, buffered = body["groups"]
    assert (streamed["model"], streamed["requests"], buffered["model"], buffered["requests"]) == ("m-s", 17, "m-buffered", 2)
    assert len(streams.ttft()) == 13 and len(streams.tpot()) == 10
    for level, name in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        assert close(streamed["ttft_ms"][name], at_rank(streams.ttft(), level)), (name, streamed["ttft_ms"])
        assert speed_close(streamed["output_tokens_per_second"][name], at_rank(streams.tpot(), level)), (
            name, streamed["output_tokens_per_second"])
    assert streamed["output_tokens_per_second"]["p50"] > streamed["output_tokens_per_second"]["p95"], "p95: the slow end"
    none = {"p50": None, "p95": None, "p99": None}
    assert (buffered["ttft_ms"], buffered["output_tokens_per_second"]) == (none, none)
    assert buffered["ttfb_ms"]["p50"] is not None, "an answer not streamed has a first byte, not a first token"
    assert body["total"]["output_tokens_per_second"] == streamed["output_tokens_per_second"]


def test_the_rollups_and_the_raw_table_give_the_same_llm_latency(clickhouse: Any) -> None:
    streams = Streams(clickhouse)
    query = StatsQuery.model_validate({**streams.window(), "group_by": "model"})
    answers = []
    for force_raw in (False, True):
        built = stats_sql(query, PriceTable(), streams.base, force_raw=force_raw)
        result = clickhouse.query(built.sql, built.params)
        answers.append((built.source, shape(built, list(result.column_names), result.result_rows)))
    (mixed, by_rollup), (raw, by_raw) = answers
    assert (mixed, raw) == ("rollup+raw", "raw")
    assert by_rollup == by_raw
    assert by_rollup[0][0]["output_tokens_per_second"]["p50"] is not None
