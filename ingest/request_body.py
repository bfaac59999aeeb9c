"""Reading a request body within a byte limit, JSON only."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ingest import responses


class BodyRejected(Exception):
    """The body cannot be read as an event; `response` says why."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def read_json_body(request: web.Request, limit: int, timeout_s: float = 10.0) -> bytes:
    """The raw body within `timeout_s`; a missing Content-Type is taken as JSON, any other non-JSON type is refused."""
    try:
        async with asyncio.timeout(timeout_s):
            return await _read(request, limit)
    except TimeoutError:
        raise BodyRejected(responses.too_slow(timeout_s)) from None


async def _read(request: web.Request, limit: int) -> bytes:
    if request.headers.get("Content-Type") and not _is_json(request.content_type):
        raise BodyRejected(responses.unsupported_media_type(request.content_type))
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyRejected(responses.too_large(limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise BodyRejected(responses.too_large(limit))
        chunks.append(chunk)
    return b"".join(chunks)
