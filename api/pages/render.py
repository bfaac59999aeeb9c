"""A page's HTML answer: its template rendered (every text escaped), with the headers every page carries."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from api.auth import Caller
from api.pages import formats
from api.pages.svg import sparkline
from api.sessions import COOKIE, Sessions

PAGE_HEADERS = {
    "Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"}


def route_link(provider: str, model: str, client: str, **more: str) -> str:
    return "/ui/route?" + urlencode({"provider": provider, "model": model, "client": client, **more})


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("api.pages", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(route_link=route_link, sparkline=sparkline)
    env.filters.update(pct=formats.pct, when=formats.when, ms=formats.ms, usd=formats.usd, count=formats.count)
    return env


class Renderer:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self._env = _environment()

    def page(self, template: str, request: web.Request, caller: Caller | None, status: int = 200,
             **values: Any) -> web.Response:
        """`caller`: who is signed in (None on the sign-in page); forms of a session get its CSRF token as `csrf`."""
        cookie = request.cookies.get(COOKIE)
        html = self._env.get_template(template).render(
            caller=caller, csrf=self._sessions.csrf(cookie) if cookie and caller else "", path=request.path, **values)
        answer = web.Response(text=html, content_type="text/html", status=status, headers=PAGE_HEADERS)
        answer.enable_compression()
        return answer
