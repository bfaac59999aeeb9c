"""A page's HTML answer: its view model through its template (every text escaped), with the headers every page carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import jinja2
from aiohttp import web

from api.auth import Caller
from api.sessions import COOKIE, Sessions

PAGE_HEADERS = {
    "Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"}


class View(Protocol):
    """What a page shows: its template reads `view` (this), and the frame `caller`, `csrf` and `path`."""

    @property
    def template(self) -> str: ...

    @property
    def title(self) -> str: ...


@dataclass(frozen=True)
class ErrorView:
    """A refused question or a failed read: what went wrong, one line per problem."""

    template: ClassVar[str] = "error.html"
    title: str
    problems: Sequence[str]


class Renderer:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self._env = jinja2.Environment(loader=jinja2.PackageLoader("api.pages", "templates"), autoescape=True,
                                       undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

    def page(self, request: web.Request, caller: Caller | None, view: View, status: int = 200) -> web.Response:
        """`caller`: who is signed in (None on the sign-in page); forms of a session get its CSRF token as `csrf`."""
        cookie = request.cookies.get(COOKIE)
        html = self._env.get_template(view.template).render(
            view=view, caller=caller, csrf=self._sessions.csrf(cookie) if cookie and caller else "", path=request.path)
        answer = web.Response(text=html, content_type="text/html", status=status, headers=PAGE_HEADERS)
        answer.enable_compression()
        return answer

    def error(self, request: web.Request, caller: Caller | None, status: int, title: str,
              problems: Sequence[str]) -> web.Response:
        return self.page(request, caller, ErrorView(title, problems), status)
