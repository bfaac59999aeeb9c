"""Signing in to the pages with a token and out again: the session cookie, the sign-in form's CSRF token.

The sign-in form is bound to a pre-session cookie (a random nonce, `SameSite=Strict`): a form posted from another site
carries neither, gets 403 and signs nobody in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from aiohttp import web

from api.auth import ApiAuth
from api.pages.formats import when
from api.pages.render import Renderer
from api.session_revocations import Revocations
from api.sessions import COOKIE, LOGIN_COOKIE, SESSION_HOURS, Sessions

log = logging.getLogger(__name__)

STALE_FORM = "This sign-in form is stale or did not come from this site: reload the sign-in page and retry."


@dataclass(frozen=True)
class LoginView:
    template: ClassVar[str] = "login.html"
    title: ClassVar[str] = "Sign in"
    next: str
    """Where to go once signed in."""
    problem: str | None
    csrf: str
    """The sign-in form's own token (no session holds one yet)."""
    token_file: str | None


def _safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    if value and value.startswith("/ui") and "//" not in value and "\\" not in value and len(value) < 2000:
        return value
    return "/ui/"


def over_https(request: web.Request) -> bool:
    """The browser's request came over HTTPS: to this process, or to a TLS proxy that says so (`X-Forwarded-Proto`,
    `Forwarded`). Trusting a client that claims it only makes its own cookies stricter."""
    proxied = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    forwarded = request.forwarded[0].get("proto", "").lower() if request.forwarded else ""
    return request.secure or "https" in (proxied, forwarded)


class SignIn:
    def __init__(self, auth: ApiAuth, sessions: Sessions, revocations: Revocations, render: Renderer,
                 now: Callable[[], datetime], token_file: Path | None = None) -> None:
        """`token_file`: where the admin token is (`o11y dev` wrote it): the form says so, never what it holds."""
        self._auth, self._sessions, self._revocations, self._render, self._now = auth, sessions, revocations, render, now
        self._token_file = token_file

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/ui/login", self.login_page)
        app.router.add_post("/ui/login", self.login)
        app.router.add_post("/ui/logout", self.logout)

    def _form(self, request: web.Request, status: int, wanted: str, problem: str | None) -> web.Response:
        nonce = self._sessions.login_nonce(request.cookies.get(LOGIN_COOKIE))
        view = LoginView(wanted, problem, self._sessions.login_csrf(nonce), str(self._token_file) if self._token_file else None)
        answer = self._render.page(request, None, view, status)
        answer.set_cookie(LOGIN_COOKIE, nonce, max_age=SESSION_HOURS * 3600, httponly=True, samesite="Strict",
                          secure=over_https(request), path="/ui/login")
        return answer

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        return self._form(request, 200, _safe_next(request.query.get("next")), None)

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if not self._sessions.login_csrf_ok(request.cookies.get(LOGIN_COOKIE), str(form.get("csrf", ""))):
            return self._render.error(request, None, 403, "Sign-in refused", [STALE_FORM])
        token, wanted = str(form.get("token", "")), _safe_next(str(form.get("next", "")))
        caller = self._auth.token_caller(token) if 0 < len(token) <= 512 else None
        if caller is None:
            return self._form(request, 401, wanted, "That token is not an O11Y_API_TOKENS or O11Y_ADMIN_TOKENS token.")
        answer = web.HTTPSeeOther(wanted)
        answer.set_cookie(COOKIE, self._sessions.issue(caller, self._now()), max_age=SESSION_HOURS * 3600, httponly=True,
                          samesite="Strict", secure=over_https(request), path="/")
        answer.del_cookie(LOGIN_COOKIE, path="/ui/login")
        raise answer

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """Records the sign-out before the browser forgets the cookie: a copy of it is then refused everywhere."""
        session = self._sessions.read(request.cookies.get(COOKIE), self._now())
        if session is not None:
            try:
                await self._revocations.revoke(session, self._now())
            except Exception as err:  # noqa: BLE001 - any failure: the cookie stays, so that signing out can be retried
                log.warning("could not record a sign-out: %s", type(err).__name__)
                return self._render.error(request, session.caller, 503, "Not signed out yet", [
                    "ClickHouse did not take the sign-out, so a copy of this session's cookie would still work until "
                    f"{when(session.expires_at)}: retry Sign out in a moment."])
        answer = web.HTTPSeeOther("/ui/login")
        answer.del_cookie(COOKIE, path="/")
        raise answer
