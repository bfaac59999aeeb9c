"""The session cookie, read in one place for the pages and the API alike: a valid cookie of a session nobody signed out
sets the request's `SIGNED_IN` (and `SESSION`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from api.auth import SIGNED_IN
from api.session_revocations import Revocations, RevocationsUnknown
from api.sessions import COOKIE, Session, Sessions

SESSION = web.RequestKey("session", Session)
UNKNOWN = "Signed-out sessions cannot be checked now (ClickHouse does not answer): retry in a moment."


def _may_use_session(request: web.Request) -> bool:
    """The pages behind sign-in, and reading the API without a token: nothing else looks at a session."""
    if request.path.startswith("/ui/"):
        return request.path not in ("/ui/login", "/ui/logout")
    return request.path.startswith("/v1/") and request.method in ("GET", "HEAD") and "Authorization" not in request.headers


def session_middleware(sessions: Sessions, revocations: Revocations, now: Callable[[], datetime]) -> Middleware:
    @web.middleware
    async def signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
        at = now()
        session = sessions.read(request.cookies.get(COOKIE), at) if _may_use_session(request) else None
        if session is not None:
            try:
                await revocations.ensure_fresh(at)
            except RevocationsUnknown:
                raise web.HTTPServiceUnavailable(text=UNKNOWN, headers={"Retry-After": "5"}) from None
            if not revocations.revoked(session.session_id):
                request[SESSION], request[SIGNED_IN] = session, session.caller
        return await handler(request)

    return signed_in
