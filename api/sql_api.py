"""`POST /v1/sql` (admin): one read-only query for analysts, also while `o11y dev` holds the embedded ClickHouse.

Each query gets a client of its own, closed after it: `readonly = 1` (no writes, no DDL, no settings changes, no
`file()`/`url()`), at most `max_execution_time` seconds, at most `MAX_ROWS` rows or `MAX_BYTES` bytes of answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from aiohttp import web
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import ApiAuth
from api.csv_text import json_rows_to_csv
from api.responses import bad_request, json_response, unavailable
from runtime.clickhouse import ClickHouseUnavailable, RawClient

log = logging.getLogger(__name__)

MAX_ROWS = 100_000
MAX_BYTES = 64 * 1024 * 1024
FORMATS = {"json": ("JSONCompact", "application/json"), "csv": ("JSONCompactEachRowWithNames", "text/csv; charset=utf-8"),
           "tsv": ("TSVWithNames", "text/tab-separated-values; charset=utf-8")}
READ_ONLY = {"max_execution_time": 60, "max_result_rows": MAX_ROWS, "max_result_bytes": MAX_BYTES,
             "result_overflow_mode": "throw", "output_format_json_quote_64bit_integers": 0,
             "output_format_json_escape_forward_slashes": 0, "output_format_json_validate_utf8": 1, "readonly": 1}
"""`readonly` comes last: once it is set, no other setting may change. CSV is read as JSON rows and written by
`api.csv_text`, like every CSV o11y writes; bytes that are not UTF-8 (an aggregate state) become U+FFFD in JSON."""


class SqlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str = Field(min_length=1, max_length=60_000, description="One SELECT (or SHOW, DESCRIBE, EXPLAIN).")
    format: Literal["json", "csv", "tsv"] = Field(default="json", description="JSONCompact, CSVWithNames or TSVWithNames.")


def run_read_only(connect: Callable[[], RawClient], request: SqlRequest) -> bytes:
    """The query's answer in its format; a client of its own, as `readonly` stays set on a client once set."""
    client = connect()
    try:
        answer = client.raw_query(request.query.strip().rstrip(";"), settings=READ_ONLY, fmt=FORMATS[request.format][0])
    finally:
        client.close()
    return json_rows_to_csv(answer) if request.format == "csv" else answer


class SqlApi:
    def __init__(self, auth: ApiAuth, connect: Callable[[], RawClient] | None) -> None:
        self._auth, self._connect = auth, connect

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/sql", self.sql)

    async def sql(self, request: web.Request) -> web.Response:
        who = self._auth.caller(request, "admin")
        try:
            body = SqlRequest.model_validate_json(await request.read())
        except ValidationError as err:
            return bad_request(err)
        if self._connect is None:
            return json_response({"success": False, "error": "SQL needs O11Y_CLICKHOUSE_URL set for this process"}, 503)
        try:
            answer = await asyncio.to_thread(run_read_only, self._connect, body)
        except (OperationalError, ClickHouseUnavailable) as err:
            return unavailable(err)
        except DatabaseError as err:
            return bad_request([first_line(err)], "ClickHouse refused the query")
        log.info("read-only query by %s: %d bytes answered", who.name, len(answer))
        return web.Response(body=answer, content_type=FORMATS[body.format][1].split(";")[0], charset="utf-8")


def first_line(err: Exception) -> str:
    text = str(err).strip()
    for line in text.splitlines():
        if "DB::Exception" in line:
            return line.split("DB::Exception:", 1)[-1].strip()[:1000]
    return text.splitlines()[0][:1000] if text else type(err).__name__
