"""The incidents page (`/ui/incidents`): open incidents, silences active or pending, incidents resolved in the last 7 days."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from aiohttp import web

from alerting.incidents.silences import Silence
from api.auth import Caller, Role
from api.pages import data, formats, links
from api.pages.context import PageContext
from api.pages.silence_forms import MATCHERS, SILENCE_HOURS

HISTORY = timedelta(days=7)


@dataclass(frozen=True)
class IncidentRow:
    id: str
    severity: str
    slo: str
    route: str
    link: str
    tier: str
    started: str
    opened: str
    resolved: str
    peak_burn: str
    notifications: int
    matchers: tuple[tuple[str, str], ...]
    """What a silence of this incident matches: its SLO, severity and route."""


@dataclass(frozen=True)
class SilenceRow:
    id: str
    state: str
    matches: str
    starts: str
    ends: str
    by: str
    why: str


@dataclass(frozen=True)
class IncidentsView:
    template: ClassVar[str] = "incidents.html"
    title: ClassVar[str] = "Incidents and silences"
    notice: str | None
    open: tuple[IncidentRow, ...]
    silences: tuple[SilenceRow, ...]
    history: tuple[IncidentRow, ...]
    """Resolved ones only."""
    may_silence: bool
    """An admin's session: the page offers to silence incidents and expire silences."""
    hours: tuple[int, ...] = SILENCE_HOURS


def incident_row(found: Mapping[str, Any]) -> IncidentRow:
    """One incident as `/v1/incidents` answers it."""
    provider, model, client = found["provider"], found["model"], found["client"]
    return IncidentRow(found["id"], found["severity"], found["slo"], f"{provider} {model} ({client})",
                       links.route(provider, model, client), found["tier"], formats.when(found["started_at"]),
                       formats.when(found["opened_at"]), formats.when(found["resolved_at"]),
                       formats.times(found["peak_burn"]), found["notifications"], tuple((k, found[k]) for k in MATCHERS))


def silence_row(silence: Silence, now: datetime) -> SilenceRow:
    matches = "".join(f"{k}={getattr(silence, k)} " for k in MATCHERS if getattr(silence, k))
    return SilenceRow(silence.id, silence.state(now), matches, formats.when(silence.starts_at), formats.when(silence.ends_at),
                      silence.created_by, silence.comment)


def incidents_view(open_ones: Sequence[Mapping[str, Any]], recent: Sequence[Mapping[str, Any]], silences: Sequence[Silence],
                   now: datetime, role: Role, notice: str | None) -> IncidentsView:
    """`recent`: every incident of the last days, open ones too (they are shown apart)."""
    return IncidentsView(notice, tuple(incident_row(i) for i in open_ones), tuple(silence_row(s, now) for s in silences),
                         tuple(incident_row(i) for i in recent if i["status"] != "open"), role == "admin")


class IncidentsPage:
    def __init__(self, context: PageContext) -> None:
        self._context = context

    async def __call__(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        context, now = self._context, self._context.now()
        open_ones = await context.read(data.incidents, now, "open")
        recent = await context.read(data.incidents, now, "all", now - HISTORY, now)
        silences = await context.read(data.silences, now)
        view = incidents_view(open_ones, recent, silences, now, caller.role, request.query.get("notice"))
        return context.render.page(request, caller, view)
