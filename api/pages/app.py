"""The pages' routes: each page behind the sign-in guard, wired to what it reads once."""

from __future__ import annotations

from aiohttp import web

from api.pages.agent_sessions import SessionsPage
from api.pages.context import PageContext
from api.pages.guard import signed_in
from api.pages.incidents import IncidentsPage
from api.pages.overview import OverviewPage
from api.pages.route import RoutePage
from api.pages.silence_forms import SilenceForms
from api.pages.usage import UsagePage


async def _to_overview(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/ui/")


def add_page_routes(app: web.Application, context: PageContext) -> None:
    render, silences = context.render, SilenceForms(context)
    app.router.add_get("/", _to_overview)
    app.router.add_get("/ui", _to_overview)
    app.router.add_get("/ui/", signed_in(OverviewPage(context), render))
    app.router.add_get("/ui/route", signed_in(RoutePage(context), render))
    app.router.add_get("/ui/usage", signed_in(UsagePage(context), render))
    app.router.add_get("/ui/sessions", signed_in(SessionsPage(context), render))
    app.router.add_get("/ui/incidents", signed_in(IncidentsPage(context), render))
    app.router.add_post("/ui/silences", signed_in(silences.add, render))
    app.router.add_post("/ui/silences/{silence_id}/expire", signed_in(silences.expire, render))
