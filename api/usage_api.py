"""`/v1/usage/…`: requests, errors, latency percentiles, tokens and cost; recent events; a streamed export."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import datetime, timezone
from typing import Any, cast

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.auth import ApiAuth
from api.responses import bad_request, json_response, unavailable
from api.usage_query import (
    EVENT_FIELDS,
    Built,
    ExportQuery,
    RecentQuery,
    StatsQuery,
    TimeseriesQuery,
    events_sql,
    stats_sql,
    timeseries_sql,
)
from runtime.clickhouse import ClickHouseClient, RawClient
from schemas.prices import PriceTable
from schemas.usage_columns import ACCURACY, LEVELS

log = logging.getLogger(__name__)

PERCENTILES = (f"p{round(level * 100)}" for level in LEVELS)
METHOD = (f"Successful requests (status < 400) only. Each percentile is within {ACCURACY:.0%} of the exact value at rank "
          "floor(q × (n − 1)) of the sorted latencies (0-based), from mergeable DDSketch sketches.")
EXPORT_CHUNK = 1 << 20
EXPORT_SETTINGS = ("SETTINGS output_format_json_quote_64bit_integers = 0, date_time_output_format = 'iso', "
                   "format_csv_null_representation = '', max_execution_time = 3600")
"""In the query, not per call: a per-call setting makes chDB's client materialize the whole answer before streaming."""
_NULL_WHEN_EMPTY = ("inference_provider", "organization")
_LEVEL_NAMES = tuple(PERCENTILES)


def query_values(request: web.Request, model: type[BaseModel]) -> dict[str, Any]:
    """The query string as the model wants it: every value of a repeatable parameter, the one value of the others."""
    repeatable = {name for name, info in model.model_fields.items() if "tuple" in str(info.annotation)}
    values: dict[str, Any] = {}
    for key in request.query:
        if key in values:
            continue
        found = request.query.getall(key)
        values[key] = found if key in repeatable or len(found) > 1 else found[0]
    return values


def _percentiles(values: Any) -> dict[str, float | None]:
    numbers = list(values or [])
    if len(numbers) != len(_LEVEL_NAMES) or any(math.isnan(v) for v in numbers):
        return dict.fromkeys(_LEVEL_NAMES)
    return {name: round(v, 1) for name, v in zip(_LEVEL_NAMES, numbers, strict=True)}


def usage_entry(values: Mapping[str, Any]) -> dict[str, Any]:
    """The measures of one group, total or time bucket."""
    requests, e4, e5 = int(values["requests"]), int(values["errors_4xx"]), int(values["errors_5xx"])
    priced = int(values["priced_requests"])
    return {
        "requests": requests,
        "errors": {"4xx": e4, "5xx": e5, "total": e4 + e5},
        "error_rate": round((e4 + e5) / requests, 6) if requests else None,
        "ttfb_ms": _percentiles(values["ttfb_ms"]),
        "complete_ms": _percentiles(values["complete_ms"]),
        "tokens": {"input": int(values["input_tokens"]), "output": int(values["output_tokens"]),
                   "cache_write": int(values["cache_write_tokens"]), "cache_hit": int(values["cache_hit_tokens"]),
                   "total": int(values["total_tokens"])},
        "requests_with_tokens": int(values["requests_with_tokens"]),
        "cost": {"usd": round(float(values["cost_usd"]), 6) if priced else None, "priced_requests": priced,
                 "unpriced_requests": int(values["unpriced_requests"]), "unpriced_models": list(values["unpriced_models"])},
    }


def _key(name: str, value: Any) -> Any:
    if name == "bucket":
        return value.replace(tzinfo=timezone.utc).isoformat() if isinstance(value, datetime) else value
    if name in _NULL_WHEN_EMPTY and value == "":
        return None
    return value


def shape(built: Built, column_names: list[str], rows: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(groups or points, the total row if there is one)."""
    found, total = [], None
    for row in rows:
        values = dict(zip(column_names, row, strict=True))
        entry = {("t" if k == "bucket" else k): _key(k, values["bucket" if k == "bucket" else f"d_{k}"])
                 for k in built.keys}
        entry.update(usage_entry(values))
        if values.get("is_total"):
            total = usage_entry(values)
        else:
            found.append(entry)
    return found, total


def _window(built: Built) -> dict[str, Any]:
    return {"from": built.start.isoformat(), "to": built.end.isoformat(), "source": built.source}


class UsageApi:
    """Read tokens; every question is validated first (400 with every reason), ClickHouse failures are 503."""

    def __init__(self, auth: ApiAuth, clickhouse: ClickHouseClient, prices: PriceTable,
                 connect: Callable[[], RawClient] | None = None, max_exports: int = 2) -> None:
        self._auth, self._clickhouse, self._prices = auth, clickhouse, prices
        self._connect = connect
        self._exports = asyncio.Semaphore(max_exports)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/usage/stats", self.stats)
        app.router.add_get("/v1/usage/timeseries", self.timeseries)
        app.router.add_get("/v1/usage/recent", self.recent)
        app.router.add_get("/v1/usage/export", self.export)

    def _parse(self, request: web.Request, model: type[Any]) -> Any:
        self._auth.caller(request, "read")
        return model.model_validate(query_values(request, model))

    async def _ask(self, request: web.Request, model: type[Any],
                   build: Callable[[Any, datetime], tuple[str, dict[str, Any]]]) -> tuple[Any, Any] | web.Response:
        """(the validated query, ClickHouse's result), or the answer that says why not: 400 with reasons, or 503."""
        try:
            query = self._parse(request, model)
            sql, params = build(query, datetime.now(timezone.utc))
        except ValidationError as err:
            return bad_request(err)
        except ValueError as err:
            return bad_request([str(err)])
        try:
            return query, await asyncio.to_thread(self._clickhouse.query, sql, params)
        except Exception as err:  # noqa: BLE001 - the input was valid: what failed is ClickHouse
            return unavailable(err)

    async def _measured(self, request: web.Request, model: type[Any], sql_of: Callable[[Any, PriceTable, datetime], Built],
                        answer: Callable[[Any, list[dict[str, Any]], dict[str, Any] | None], dict[str, Any]]) -> web.Response:
        """Stats and time series: the measures of each group or bucket, shaped alike."""
        built: list[Built] = []

        def build(query: Any, now: datetime) -> tuple[str, dict[str, Any]]:
            built.append(sql_of(query, self._prices, now))
            return built[0].sql, built[0].params

        asked = await self._ask(request, model, build)
        if isinstance(asked, web.Response):
            return asked
        query, result = asked
        found, total = shape(built[0], list(result.column_names), result.result_rows)
        return json_response({**_window(built[0]), "group_by": list(query.group_by), "percentiles": METHOD,
                              **answer(query, found, total), "truncated": len(found) > query.limit})

    async def stats(self, request: web.Request) -> web.Response:
        return await self._measured(request, StatsQuery, stats_sql, lambda query, groups, total: {
            "total": total, "groups": groups[:query.limit]})

    async def timeseries(self, request: web.Request) -> web.Response:
        return await self._measured(request, TimeseriesQuery, timeseries_sql, lambda query, points, _: {
            "interval": query.interval, "points": points[:query.limit]})

    async def recent(self, request: web.Request) -> web.Response:
        asked = await self._ask(request, RecentQuery, lambda q, now: events_sql(q, self._prices, now, q.limit))
        if isinstance(asked, web.Response):
            return asked
        _, result = asked
        events = [event_dict(dict(zip(result.column_names, row, strict=True))) for row in result.result_rows]
        return json_response({"events": events})

    async def export(self, request: web.Request) -> web.StreamResponse:
        try:
            query: ExportQuery = self._parse(request, ExportQuery)
            sql, params = events_sql(query, self._prices, datetime.now(timezone.utc), None)
        except ValidationError as err:
            return bad_request(err)
        except ValueError as err:
            return bad_request([str(err)])
        if self._exports.locked():
            return json_response({"success": False, "error": "as many exports as allowed are running: retry later"},
                                 429, {"Retry-After": "30"})
        async with self._exports:
            return await self._stream(request, query, sql, params)

    async def _stream(self, request: web.Request, query: ExportQuery, sql: str, params: dict[str, Any]) -> web.StreamResponse:
        fmt = "JSONEachRow" if query.format == "ndjson" else "CSV"
        shared = cast(RawClient, self._clickhouse)
        chunks = stream_query(self._connect or (lambda: shared), sql, params, fmt, owned=self._connect is not None)
        try:
            first = await anext(chunks, b"")
        except Exception as err:  # noqa: BLE001 - nothing sent yet: say so with a status
            return unavailable(err)
        stamp = f"{query.start:%Y%m%dT%H%M%S}-{query.end:%Y%m%dT%H%M%S}"
        kind = "application/x-ndjson" if query.format == "ndjson" else "text/csv; charset=utf-8"
        response = web.StreamResponse(headers={
            "Content-Type": kind, "Content-Disposition": f'attachment; filename="o11y-usage-{stamp}.{query.format}"'})
        await response.prepare(request)
        if query.format == "csv":
            await response.write((",".join(EVENT_FIELDS) + "\n").encode())
        try:
            if first:
                await response.write(first)
            async for chunk in chunks:
                await response.write(chunk)
        except (ConnectionResetError, asyncio.CancelledError):
            await chunks.aclose()
            raise
        except Exception as err:  # noqa: BLE001 - the status is sent: cut the body, so the client sees it is incomplete
            log.warning("export cut short: %s", type(err).__name__)
            await chunks.aclose()
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response


def event_dict(values: dict[str, Any]) -> dict[str, Any]:
    received = values["received_at"]
    if isinstance(received, datetime):
        values["received_at"] = received.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
    values["tools_available"] = list(values["tools_available"])
    values["tools_used"] = list(values["tools_used"])
    return values


async def stream_query(connect: Callable[[], RawClient], sql: str, params: dict[str, Any], fmt: str,
                       owned: bool = True, chunk: int = EXPORT_CHUNK, depth: int = 4) -> AsyncGenerator[bytes, None]:
    """Bytes of a query's result in `fmt`, read on one thread (its own client when `owned`) at most `depth` chunks ahead.

    Memory stays flat whatever the range: the reader waits while the HTTP client is slow. Closing the iterator stops it.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(depth)
    stop = threading.Event()

    def put(item: bytes | BaseException | None) -> None:
        while not stop.is_set():
            try:
                asyncio.run_coroutine_threadsafe(asyncio.wait_for(queue.put(item), 1.0), loop).result()
                return
            except TimeoutError:
                continue
            except RuntimeError:  # the loop is gone
                return

    def read() -> None:
        client = None
        try:
            client = connect()
            stream = client.raw_stream(f"{sql} {EXPORT_SETTINGS}", parameters=params, fmt=fmt)
            try:
                while not stop.is_set():
                    data = stream.read(chunk)
                    if not data:
                        break
                    put(data)
            finally:
                stream.close()
            put(None)
        except BaseException as err:  # noqa: BLE001 - handed to the reader of the iterator
            put(err)
        finally:
            if owned and client is not None:
                client.close()

    thread = threading.Thread(target=read, name="o11y-export", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while not queue.empty():
            queue.get_nowait()
        await asyncio.to_thread(thread.join, 30)
