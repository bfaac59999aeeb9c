"""The session cookie, read in one place for the pages and the API alike: a valid one sets the request's `SIGNED_IN`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from api.auth import SIGNED_IN
from api.sessions import COOKIE, Sessions


def session_middleware(sessions: Sessions, now: Callable[[], datetime]) -> Middleware:
    @web.middleware
    async def signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
        caller = sessions.read(request.cookies.get(COOKIE), now())
        if caller is not None:
            request[SIGNED_IN] = caller
        return await handler(request)

    return signed_in
