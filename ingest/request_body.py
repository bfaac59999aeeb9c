"""Reading a request body within a byte limit, a time limit and the process's memory budget, JSON only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from ingest import responses

BYTES_PER_BODY_BYTE = 8
"""What one byte of body costs while a request holds it: the bytes, their text, the parsed events (measured 3.7-7x)."""


class BodyRejected(Exception):
    """The body cannot be read as an event; `response` says why."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


class InflightBytes:
    """Memory that request bodies hold at once, across every request of the process.

    A body is admitted only while the budget has room for it (counted `BYTES_PER_BODY_BYTE` times), so
    no combination of requests, authenticated or not, can push the process past the budget.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, body_bytes: int) -> bool:
        cost = body_bytes * BYTES_PER_BODY_BYTE
        if self.used + cost > self.limit:
            return False
        self.used += cost
        return True

    def give_back(self, body_bytes: int) -> None:
        self.used = max(0, self.used - body_bytes * BYTES_PER_BODY_BYTE)


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


class _Held:
    def __init__(self, budget: InflightBytes) -> None:
        self.budget = budget
        self.bytes = 0

    def take(self, n: int) -> None:
        if not self.budget.take(n):
            raise BodyRejected(responses.busy())
        self.bytes += n


@asynccontextmanager
async def json_body(request: web.Request, limit: int, timeout_s: float, budget: InflightBytes) -> AsyncIterator[bytes]:
    """The raw body while the request is handled; its share of the budget is given back afterwards.

    A missing Content-Type is taken as JSON, any other non-JSON type is refused.
    """
    held = _Held(budget)
    try:
        try:
            async with asyncio.timeout(timeout_s):
                body = await _read(request, limit, held)
        except TimeoutError:
            raise BodyRejected(responses.too_slow(timeout_s)) from None
        yield body
    finally:
        budget.give_back(held.bytes)


async def _read(request: web.Request, limit: int, held: _Held) -> bytes:
    if request.headers.get("Content-Type") and not _is_json(request.content_type):
        raise BodyRejected(responses.unsupported_media_type(request.content_type))
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyRejected(responses.too_large(limit))
    if declared is not None:
        held.take(declared)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise BodyRejected(responses.too_large(limit))
        if size > held.bytes:
            held.take(size - held.bytes)  # chunked, or more than declared
        chunks.append(chunk)
    return b"".join(chunks)
