"""Reading a request body within a byte limit, a time limit and the process's memory budget, JSON only."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.streams import StreamReader

from ingest.edge import responses
from runtime.settings import BYTES_PER_BODY_BYTE, SINGLE_EVENT_SHARE


class BodyRejected(Exception):
    """The body cannot be read as an event; `response` says why."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


class InflightBytes:
    """Memory that request bodies hold at once, across every request of the process.

    A body is admitted only while the budget has room for it (counted `BYTES_PER_BODY_BYTE` times), so
    no combination of requests, authenticated or not, can push the process past the budget. The last 1/`RESERVED`
    of it is kept for bodies of one event (at most `small_body_bytes`): batches, an attacker's 8 MB ones included,
    never take the room a gateway's single events need.
    """

    RESERVED = SINGLE_EVENT_SHARE

    def __init__(self, limit: int, small_body_bytes: int = 0) -> None:
        self.limit = limit
        self.used = 0
        self._small = small_body_bytes
        self._for_large = limit - limit // self.RESERVED if small_body_bytes else limit

    def take(self, body_bytes: int) -> bool:
        cost = body_bytes * BYTES_PER_BODY_BYTE
        room = self.limit if body_bytes <= self._small else self._for_large
        if self.used + cost > room:
            return False
        self.used += cost
        return True

    def give_back(self, body_bytes: int) -> None:
        self.used = max(0, self.used - body_bytes * BYTES_PER_BODY_BYTE)


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


class JsonBody:
    """`async with JsonBody(request, limit, timeout_s, budget) as body:` the raw body while the request is handled.

    Its share of the budget is given back on leaving. A missing Content-Type is taken as JSON, any other non-JSON type
    is refused. A body that arrived whole with its headers (the common case: one small event) is taken as it is; only a
    body still on its way is awaited, within `timeout_s`.
    """

    __slots__ = ("_budget", "_held", "_limit", "_request", "_timeout_s")

    def __init__(self, request: web.Request, limit: int, timeout_s: float, budget: InflightBytes) -> None:
        self._request = request
        self._limit = limit
        self._timeout_s = timeout_s
        self._budget = budget
        self._held = 0

    async def __aenter__(self) -> bytes:
        try:
            return await self._body()
        except BaseException:
            self._budget.give_back(self._held)  # __aexit__ runs only when __aenter__ returned
            raise

    async def _body(self) -> bytes:
        request = self._request
        content_type = request.headers.get("Content-Type")
        if content_type and content_type != "application/json" and not _is_json(request.content_type):
            raise BodyRejected(responses.unsupported_media_type(request.content_type))
        declared = request.content_length
        if declared is not None:
            if declared > self._limit:
                raise BodyRejected(responses.too_large(self._limit))
            self._take(declared)
        content = request.content
        if content.is_eof():
            body = content.read_nowait()
            self._check(len(body))
            return body
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._read(content)
        except TimeoutError:
            raise BodyRejected(responses.too_slow(self._timeout_s)) from None

    async def __aexit__(self, *exc: object) -> None:
        self._budget.give_back(self._held)

    def _take(self, n: int) -> None:
        if not self._budget.take(n):
            raise BodyRejected(responses.busy())
        self._held += n

    def _check(self, size: int) -> None:
        if size > self._limit:
            raise BodyRejected(responses.too_large(self._limit))
        if size > self._held:
            self._take(size - self._held)  # chunked, or more than declared

    async def _read(self, content: StreamReader) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in content.iter_any():
            size += len(chunk)
            self._check(size)
            chunks.append(chunk)
        return b"".join(chunks)
