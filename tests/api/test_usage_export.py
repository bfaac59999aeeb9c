"""The export and every CSV o11y writes, as real clients meet them: early closes, stalled readers, hostile cells, arrays."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import socket
import struct
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlencode

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_api_app
from runtime.clickhouse import connect_raw
from runtime.settings import Settings
from schemas.alert_policy import default_policy
from support.events import ADMIN_TOKEN, READ_TOKEN
from support.live_server import LiveServer
from support.timeline import unique_base
from support.waiting import wait_until

HOSTILE_MODEL = '=HYPERLINK("http://evil.example/x","click me")'
ROWS = 60_000
"""Tens of megabytes of export: more than the kernel's socket buffers hold for a client that reads nothing."""


@dataclass(frozen=True)
class Bulk:
    client: str
    start: datetime

    def query(self, fmt: str = "ndjson", minutes: int = 60) -> str:
        end = self.start + timedelta(minutes=minutes)
        return (f"/v1/usage/export?client={self.client}&from={self.start.isoformat()}&to={end.isoformat()}"
                f"&format={fmt}").replace("+00:00", "Z")


def insert_bulk(clickhouse: Any, client: str, start: datetime, rows: int, model: str = "gpt-4",
                tools: tuple[str, ...] = ()) -> None:
    clickhouse.command(
        "INSERT INTO o11y.api_metrics (event_id, received_at, client_name, kilo_user_id, is_anonymous, is_streaming, "
        "user_byok, provider, requested_model, resolved_model, inference_provider, tools_available, tools_used, ttfb_ms, "
        "complete_request_ms, status_code, kafka_topic, kafka_partition, kafka_offset) SELECT generateUUIDv4(), "
        "toDateTime64({start:DateTime64(3)}, 3, 'UTC') + toIntervalMillisecond(number * 50), {client:String}, '@user', "
        "false, false, false, 'openai', '-1+2', {model:String}, 'https://infer.example/a/b', {tools:Array(String)}, [], "
        "100, 200, 200, 't', 0, number FROM numbers({rows:UInt64})",
        parameters={"start": start.replace(tzinfo=None), "client": client, "rows": rows, "model": model,
                    "tools": list(tools)})


@pytest.fixture(scope="module")
def bulk(clickhouse: Any) -> Bulk:
    found = Bulk(f"bulk-{uuid.uuid4().hex[:8]}", unique_base())
    insert_bulk(clickhouse, found.client, found.start, ROWS)
    return found


def serve(clickhouse: Any, clickhouse_url: str, now: datetime | None = None, **settings: Any) -> LiveServer:
    config = Settings(admin_tokens={"alice": [SecretStr(ADMIN_TOKEN)]}, api_tokens={"dash": [SecretStr(READ_TOKEN)]},
                      **settings)
    at = now or datetime.now(timezone.utc)
    return LiveServer(lambda: create_api_app(config, default_policy(), clickhouse, CollectorRegistry(),
                                             more_clients=lambda: connect_raw(clickhouse_url), now=lambda: at))


def ask(url: str, path: str, token: str = READ_TOKEN) -> tuple[int, bytes]:
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def stalled_client(server: LiveServer, path: str, read: int = 0, reset: bool = False) -> socket.socket:
    """Asks for `path` with a small receive buffer, reads `read` bytes, then reads nothing more."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: o11y\r\nAuthorization: Bearer {READ_TOKEN}\r\n\r\n".encode())
    if read:
        sock.recv(read)
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return sock


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO)
    yield caplog


@pytest.mark.parametrize(("read", "reset"), [(0, False), (2000, False), (2000, True)],
                         ids=["before the first byte", "after a few bytes", "with a reset"])
def test_a_client_that_closes_an_export_early_costs_one_log_line(clickhouse: Any, clickhouse_url: str, bulk: Bulk,
                                                                 logs: pytest.LogCaptureFixture, read: int,
                                                                 reset: bool) -> None:
    with serve(clickhouse, clickhouse_url) as server:
        stalled_client(server, bulk.query(), read, reset).close()
        assert wait_until(lambda: any("export" in r.getMessage() and "closed" in r.getMessage() for r in logs.records))
        status, _ = ask(server.url, bulk.query(minutes=1))
    assert status == 200, "the export slot is free again"
    lines = [r for r in logs.records if r.name.startswith(("api", "aiohttp"))]
    assert [r for r in lines if r.exc_info or r.levelno >= logging.ERROR] == [], [r.getMessage() for r in lines]
    assert len([r for r in lines if "export" in r.getMessage()]) == 1, [r.getMessage() for r in lines]


def test_readers_that_stop_reading_are_cut_off_and_free_the_export_slots(clickhouse: Any, clickhouse_url: str,
                                                                         bulk: Bulk, logs: pytest.LogCaptureFixture) -> None:
    def cut_off() -> list[str]:
        return [r.getMessage() for r in logs.records if "export" in r.getMessage() and "stalled" in r.getMessage()]

    with serve(clickhouse, clickhouse_url, api_export_write_timeout_s=1.0) as server:
        small = bulk.query("csv", minutes=1)
        stalled = [stalled_client(server, bulk.query()), stalled_client(server, bulk.query("csv"))]
        try:
            assert wait_until(lambda: ask(server.url, small)[0] == 429), "two exports hold both slots"
            assert wait_until(lambda: len(cut_off()) == 2, timeout_s=60), "the stalled readers are never cut off"
            status, body = ask(server.url, small)
            assert status == 200 and len(body.splitlines()) == 1 + 1200, "a slot is free for the next export"
        finally:
            for sock in stalled:
                sock.close()
    assert all("1 s" in line for line in cut_off()), cut_off()


def test_every_csv_escapes_formulas_and_writes_arrays_as_json(clickhouse: Any, clickhouse_url: str) -> None:
    client, start = f"csv-{uuid.uuid4().hex[:8]}", unique_base()
    insert_bulk(clickhouse, client, start, 3, model=HOSTILE_MODEL, tools=("function:search_files", 'say "hi"'))
    window = f"client={client}&from={start.isoformat()}&to={(start + timedelta(hours=1)).isoformat()}".replace("+", "%2B")
    with serve(clickhouse, clickhouse_url, now=start + timedelta(hours=1)) as server:
        status, body = ask(server.url, f"/v1/usage/export?{window}&format=csv")
        assert status == 200, body
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        assert len(rows) == 3
        assert {(r["model"], r["requested_model"], r["user"]) for r in rows} == {("'" + HOSTILE_MODEL, "'-1+2", "'@user")}
        assert {r["tools_available"] for r in rows} == {'["function:search_files","say \\"hi\\""]'}
        assert json.loads(rows[0]["tools_available"]) == ["function:search_files", 'say "hi"']
        plain = {(r["tools_used"], r["ttfb_ms"], r["is_streaming"], r["organization"]) for r in rows}
        assert plain == {("[]", "100", "false", "")}

        status, body = ask(server.url, f"/v1/usage/export?{window}&format=ndjson")
        assert status == 200 and b"\\/" not in body and b'"https://infer.example/a/b"' in body
        assert json.loads(body.splitlines()[0])["model"] == HOSTILE_MODEL

        query = json.dumps({"query": f"SELECT resolved_model, tools_available FROM o11y.api_metrics "
                                     f"WHERE client_name = '{client}' LIMIT 1", "format": "csv"}).encode()
        request = urllib.request.Request(server.url + "/v1/sql", data=query, method="POST",
                                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            sql_rows = list(csv.reader(io.StringIO(answer.read().decode())))
        assert sql_rows == [["resolved_model", "tools_available"],
                            ["'" + HOSTILE_MODEL, '["function:search_files","say \\"hi\\""]']]

        page = page_csv(server, "/ui/usage?range=1h&group_by=model&format=csv")
        assert ["'" + HOSTILE_MODEL, "3"] == page[1][:2], page


def page_csv(server: LiveServer, path: str) -> list[list[str]]:
    """Signs in on the pages with the read token and downloads `path`."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(server.url + "/ui/login", timeout=60) as page:  # the form's CSRF token and its cookie
        found = re.search(r'name="csrf" value="([^"]+)"', page.read().decode())
    assert found is not None
    form = urlencode({"token": READ_TOKEN, "csrf": found.group(1), "next": "/ui/"}).encode()
    opener.open(urllib.request.Request(server.url + "/ui/login", data=form, method="POST"), timeout=60).read()
    with opener.open(server.url + path, timeout=60) as answer:
        assert answer.headers["Content-Type"].startswith("text/csv")
        return list(csv.reader(io.StringIO(answer.read().decode())))
