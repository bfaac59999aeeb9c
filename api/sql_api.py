"""`POST /v1/sql` (admin): one read-only query for analysts, also while `o11y dev` holds the embedded ClickHouse.

Every query is first parsed by ClickHouse and judged on its rendering (`api.sql_statement`): only reads run. Then it
runs on a client of its own with `readonly = 1` and the limits of `SqlLimits` (time, memory, threads, rows), its
answer is read in chunks and cut at `max_bytes`, and at most `concurrency` queries run at once, on threads of their
own: analysts never take the threads, cores or memory that ingest, the loader, the pager and the other pages use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import ApiAuth
from api.csv_text import json_rows_to_csv
from api.responses import bad_request, json_response, unavailable
from api.sql_statement import refusal
from runtime.clickhouse import ClickHouseUnavailable, RawClient
from runtime.settings import Settings

log = logging.getLogger(__name__)

FORMATS = {"json": ("JSONCompact", "application/json"), "csv": ("JSONCompactEachRowWithNames", "text/csv; charset=utf-8"),
           "tsv": ("TSVWithNames", "text/tab-separated-values; charset=utf-8")}
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SqlLimits:
    """What one analyst's query may take; `O11Y_SQL_*` set them (docs/operators/security.md)."""

    concurrency: int = 2
    timeout_s: int = 60
    memory_bytes: int = 512 * 1024 * 1024
    threads: int = 1
    max_rows: int = 100_000
    max_bytes: int = 64 * 1024 * 1024

    @classmethod
    def of(cls, settings: Settings) -> SqlLimits:
        return cls(settings.sql_max_concurrent, settings.sql_timeout_s, settings.sql_max_memory_bytes,
                   settings.sql_max_threads)

    def clickhouse_settings(self) -> dict[str, Any]:
        """ClickHouse's own limits; `readonly` comes last: once it is set, no other setting may change.

        Sorting and grouping spill to disk at half the memory limit rather than fail. The result limits hold on a
        server; chDB does not apply `max_result_bytes`, so the answer's size is also counted as it is read. CSV is
        read as JSON rows and written by `api.csv_text`, like every CSV o11y writes; bytes that are not UTF-8 (an
        aggregate state) become U+FFFD in JSON."""
        return {"max_execution_time": self.timeout_s, "timeout_overflow_mode": "throw",
                "max_memory_usage": self.memory_bytes, "max_threads": self.threads,
                "max_bytes_before_external_group_by": self.memory_bytes // 2,
                "max_bytes_before_external_sort": self.memory_bytes // 2,
                "max_result_rows": self.max_rows, "max_result_bytes": self.max_bytes, "result_overflow_mode": "throw",
                "output_format_json_quote_64bit_integers": 0, "output_format_json_escape_forward_slashes": 0,
                "output_format_json_validate_utf8": 1, "readonly": 1}


class SqlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str = Field(min_length=1, max_length=60_000, description="One SELECT (or SHOW, DESCRIBE, EXISTS, EXPLAIN).")
    format: Literal["json", "csv", "tsv"] = Field(default="json", description="JSONCompact, CSVWithNames or TSVWithNames.")


class QueryRefused(Exception):
    """The query may not run here (not a read), or its answer is over the size limit; the message says why."""


def run_read_only(connect: Callable[[], RawClient], request: SqlRequest, limits: SqlLimits) -> bytes:
    """The query's answer in its format, on a client of its own (`readonly` stays set on a client once set).

    QueryRefused when it is not a read or its answer is larger than `limits.max_bytes`; DatabaseError with
    ClickHouse's reason when ClickHouse refuses it."""
    text = request.query.strip().rstrip(";")
    client = connect()
    try:
        canonical = client.raw_query("SELECT formatQuerySingleLine({q:String})", parameters={"q": text}, fmt="TSVRaw")
        why = refusal(canonical.decode(errors="replace").strip())
        if why is not None:
            raise QueryRefused(why)
        stream = client.raw_stream(text, settings=limits.clickhouse_settings(), fmt=FORMATS[request.format][0])
        try:
            answer = _read_at_most(stream, limits.max_bytes)
        finally:
            stream.close()
    finally:
        client.close()
    return json_rows_to_csv(answer) if request.format == "csv" else answer


def _read_at_most(stream: Any, limit: int) -> bytes:
    parts, size = [], 0
    while data := stream.read(CHUNK):
        size += len(data)
        if size > limit:
            raise QueryRefused(f"the answer is larger than {limit // (1024 * 1024)} MiB: select fewer columns or rows, "
                               "or aggregate")
        parts.append(data)
    return b"".join(parts)


class SqlApi:
    def __init__(self, auth: ApiAuth, connect: Callable[[], RawClient] | None, limits: SqlLimits = SqlLimits()) -> None:
        self._auth, self._connect, self._limits = auth, connect, limits
        self._running = 0
        self._threads: ThreadPoolExecutor | None = None

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/sql", self.sql)
        app.cleanup_ctx.append(self._pool)

    async def _pool(self, _: web.Application) -> AsyncIterator[None]:
        """Threads of the SQL endpoint's own: a slow query never waits in, or holds, the pool every other call uses."""
        self._threads = ThreadPoolExecutor(self._limits.concurrency, thread_name_prefix="o11y-sql")
        yield
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def sql(self, request: web.Request) -> web.Response:
        who = self._auth.caller(request, "admin")
        try:
            body = SqlRequest.model_validate_json(await request.read())
        except ValidationError as err:
            return bad_request(err)
        if self._connect is None:
            return json_response({"success": False, "error": "SQL needs O11Y_CLICKHOUSE_URL set for this process"}, 503)
        if self._running >= self._limits.concurrency:
            return json_response({"success": False, "error": f"{self._running} SQL queries are running, the most at "
                                  "once (O11Y_SQL_MAX_CONCURRENT): retry later"}, 429, {"Retry-After": "5"})
        self._running += 1
        try:
            answer = await self._run(body)
        except QueryRefused as err:
            return bad_request([str(err)], "query refused")
        except (OperationalError, ClickHouseUnavailable) as err:
            return unavailable(err)
        except DatabaseError as err:
            return bad_request([first_line(err)], "ClickHouse refused the query")
        finally:
            self._running -= 1
        log.info("read-only query by %s: %d bytes answered", who.name, len(answer))
        return web.Response(body=answer, content_type=FORMATS[body.format][1].split(";")[0], charset="utf-8")

    async def _run(self, body: SqlRequest) -> bytes:
        assert self._connect is not None
        connect = self._connect
        return await asyncio.get_running_loop().run_in_executor(self._threads, run_read_only, connect, body, self._limits)


def first_line(err: Exception) -> str:
    """ClickHouse's reason, without the parse check's own query around it."""
    text = str(err).strip()
    for line in text.splitlines():
        if "DB::Exception" in line:
            return line.split("DB::Exception:", 1)[-1].split(": In scope SELECT formatQuerySingleLine", 1)[0].strip()[:1000]
    return text.splitlines()[0][:1000] if text else type(err).__name__
