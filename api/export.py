"""`GET /v1/usage/export` and `/v1/sessions/export`: every event of a range, streamed with flat memory, as NDJSON or CSV.

At most `max_exports` run at a time per process, of every kind together; another gets 429. A client that closes early
ends its export with one log line. A client that stops reading is cut off when a piece of `WRITE_PIECE` bytes is not
taken within the write timeout (`O11Y_API_EXPORT_WRITE_TIMEOUT_S`), so that nobody holds a slot by not reading.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web

from api.auth import ApiAuth
from api.csv_text import JsonRowsToCsv, csv_text
from api.read_answers import Build, parsed
from api.responses import json_response, unavailable
from runtime.clickhouse import ClickHouseClient, RawClient

log = logging.getLogger(__name__)

EXPORT_CHUNK = 1 << 20
WRITE_PIECE = 64 * 1024
EXPORT_SETTINGS = ("SETTINGS output_format_json_quote_64bit_integers = 0, date_time_output_format = 'iso', "
                   "output_format_json_escape_forward_slashes = 0, output_format_json_validate_utf8 = 1, "
                   "max_execution_time = 3600")
"""In the query, not per call: a per-call setting makes chDB's client materialize the whole answer before streaming."""


@dataclass(frozen=True)
class ExportKind:
    """What one export route streams: its question (with `start`, `end`, `format`), its SQL, its columns, its file name."""

    path: str
    model: type[Any]
    build: Build
    fields: tuple[str, ...]
    name: str
    """The file is `o11y-<name>-<from>-<to>.<format>`."""


class Exports:
    def __init__(self, auth: ApiAuth, clickhouse: ClickHouseClient, connect: Callable[[], RawClient] | None,
                 write_timeout_s: float, max_exports: int = 2) -> None:
        self._auth, self._clickhouse, self._connect = auth, clickhouse, connect
        self._write_timeout_s = write_timeout_s
        self._exports = asyncio.Semaphore(max_exports)

    def add_route(self, app: web.Application, kind: ExportKind) -> None:
        async def export(request: web.Request) -> web.StreamResponse:
            return await self.export(request, kind)

        app.router.add_get(kind.path, export)

    async def export(self, request: web.Request, kind: ExportKind) -> web.StreamResponse:
        found = parsed(request, self._auth, kind.model, kind.build)
        if isinstance(found, web.Response):
            return found
        if self._exports.locked():
            return json_response({"success": False, "error": "as many exports as allowed are running: retry later"},
                                 429, {"Retry-After": "30"})
        async with self._exports:
            return await self._stream(request, kind, *found)

    async def _stream(self, request: web.Request, kind: ExportKind, query: Any, sql: str,
                      params: dict[str, Any]) -> web.StreamResponse:
        fmt = "JSONEachRow" if query.format == "ndjson" else "JSONCompactEachRow"
        shared = cast(RawClient, self._clickhouse)
        chunks = stream_query(self._connect or (lambda: shared), sql, params, fmt, owned=self._connect is not None)
        try:
            first = await anext(chunks, b"")
        except Exception as err:  # noqa: BLE001 - nothing sent yet: say so with a status
            await chunks.aclose()
            return unavailable(err)
        stamp = f"{query.start:%Y%m%dT%H%M%S}-{query.end:%Y%m%dT%H%M%S}"
        content = "application/x-ndjson" if query.format == "ndjson" else "text/csv; charset=utf-8"
        response = web.StreamResponse(headers={
            "Content-Type": content, "Content-Disposition": f'attachment; filename="o11y-{kind.name}-{stamp}.{query.format}"'})
        try:
            await response.prepare(request)
            await self._body(response, first, chunks, JsonRowsToCsv() if query.format == "csv" else None, kind.fields)
            await response.write_eof()
        except ConnectionError:  # reset, broken pipe, or aiohttp's own "Connection lost" while draining
            log.info("export stopped: the client closed the connection")
        except TimeoutError:
            log.warning("export stopped: the client stalled (%d KiB not taken within %g s)", WRITE_PIECE // 1024,
                        self._write_timeout_s)
            _cut(request)
        except Exception as err:  # noqa: BLE001 - the status is sent: cut the body, so the client sees it is incomplete
            log.warning("export cut short: %s", type(err).__name__)
            _cut(request)
        finally:
            await chunks.aclose()
        return response

    async def _body(self, response: web.StreamResponse, first: bytes, rest: AsyncIterator[bytes],
                    csv: JsonRowsToCsv | None, fields: tuple[str, ...]) -> None:
        if csv is not None:
            await self._send(response, csv_text([fields]).encode())
        await self._send(response, csv.feed(first) if csv is not None else first)
        async for chunk in rest:
            await self._send(response, csv.feed(chunk) if csv is not None else chunk)
        if csv is not None:
            await self._send(response, csv.finish())

    async def _send(self, response: web.StreamResponse, data: bytes) -> None:
        """Each piece must be taken within the write timeout: TimeoutError otherwise."""
        for start in range(0, len(data), WRITE_PIECE):
            async with asyncio.timeout(self._write_timeout_s):
                await response.write(data[start:start + WRITE_PIECE])


def _cut(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


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
