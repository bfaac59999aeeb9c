"""A route's page (`/ui/route`): its SLOs, charts over a range, incidents, baseline and the SLO values it suggests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web
from markupsafe import Markup

from alerting.incidents.slo_status import SloStatus
from api.auth import Caller
from api.pages import formats, links
from api.pages.baseline_view import BaselineRow, Suggestion, baseline_rows, suggestions
from api.pages.context import PageContext
from api.pages.guard import Refused
from api.pages.route_charts import RouteData, route_charts
from api.pages.route_reads import RouteReads, RouteWindow, read_route, route_window
from api.pages.series import RANGES
from api.pages.svg import Band
from schemas.alert_policy import AlertPolicy, Dimension
from schemas.api_metrics import MAX_NAME


@dataclass(frozen=True)
class TierCell:
    text: str
    threshold: str
    css: str


@dataclass(frozen=True)
class SloRow:
    slo: str
    state: str
    objective: str
    budget_left: str
    seen: str | None
    exhausted_in: str
    tiers: tuple[TierCell, ...]


@dataclass(frozen=True)
class Runbook:
    title: str
    link: str | None


@dataclass(frozen=True)
class IncidentRow:
    id: str
    link: str
    severity: str
    slo: str
    status: str
    started: str
    resolved: str
    peak_burn: str


@dataclass(frozen=True)
class RouteView:
    template: ClassVar[str] = "route.html"
    title: str
    provider: str
    model: str
    client: str
    tabs: tuple[links.Tab, ...]
    slos: tuple[SloRow, ...]
    runbooks: tuple[Runbook, ...]
    charts: tuple[Markup, ...]
    incidents: tuple[IncidentRow, ...]
    baseline: tuple[BaselineRow, ...]
    objective: Suggestion
    thresholds: tuple[Suggestion, ...]


def asked_route(query: Mapping[str, str]) -> tuple[Dimension, str]:
    """(the route, the range's name) asked for, or Refused."""
    provider, model, client = (query.get(name, "") for name in ("provider", "model", "client"))
    span = query.get("range", "24h")
    if span not in RANGES or not all(0 < len(v) <= MAX_NAME for v in (provider, model, client)):
        raise Refused("Not a route", [f"provider, model and client: each 1–{MAX_NAME} characters",
                                      f"range: one of {', '.join(RANGES)}"])
    return (provider, model, client), span


def slo_row(status: SloStatus, end: datetime, period_days: int) -> SloRow:
    tiers = tuple(TierCell(f"{t.tier} {t.burn_long:.2f}x / {t.burn_short:.2f}x", f"{t.threshold}", "trips" if t.trips else "")
                  for t in status.tiers)
    return SloRow(status.slo, status.state, status.objective, formats.pct(status.budget_left),
                  status.seen_words(end, period_days), formats.hours(status.exhausted_in_hours), tiers)


def incident_row(found: Mapping[str, Any]) -> IncidentRow:
    return IncidentRow(found["id"], links.incident(found["id"]), found["severity"], found["slo"], found["status"],
                       formats.when(found["started_at"]), formats.when(found["resolved_at"]), formats.times(found["peak_burn"]))


def incident_band(found: Mapping[str, Any], end: datetime) -> Band:
    """An incident shaded on the charts: open ones up to the end of the range."""
    resolved = datetime.fromisoformat(found["resolved_at"]) if found["resolved_at"] else end
    return Band(datetime.fromisoformat(found["started_at"]), resolved, f"{found['severity']} {found['slo']} {found['status']}",
                "band " + ("open" if found["status"] == "open" else "past"))


def runbooks(policy: AlertPolicy, route: Dimension, statuses: list[SloStatus]) -> tuple[Runbook, ...]:
    provider, model, client = route
    specs = [(s.slo, spec) for s in statuses if (spec := policy.slo_for(s.slo, route)) is not None]
    return tuple(Runbook(spec.title, spec.link(spec.runbook_url, slo=slo, provider=provider, model=model, client=client))
                 for slo, spec in specs)


def route_view(route: Dimension, window: RouteWindow, policy: AlertPolicy, statuses: list[SloStatus],
               reads: RouteReads) -> RouteView:
    """`statuses`: the route's, most pressing first."""
    provider, model, client = route
    w, days = window, policy.period_days
    seen = {s.slo: s.seen_words(w.end, days) for s in statuses}
    bands = [incident_band(i, w.end) for i in reads.incidents]
    charts = route_charts(policy, RouteData(route, reads.points, reads.latency, reads.counts, reads.hourly, w.start, w.end,
                                            w.step, bands, w.period_start, seen))
    tabs = tuple(links.Tab(span, links.route(provider, model, client, range=span), span == w.span) for span in RANGES)
    return RouteView(f"{provider} {model} ({client})", provider, model, client, tabs,
                     tuple(slo_row(s, w.end, days) for s in statuses), runbooks(policy, route, statuses), tuple(charts),
                     tuple(incident_row(i) for i in reads.incidents), baseline_rows(reads.baseline),
                     *suggestions(reads.baseline))


class RoutePage:
    def __init__(self, context: PageContext) -> None:
        self._context = context

    async def __call__(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        route, span = asked_route(request.query)
        context, now = self._context, self._context.now()
        window = route_window(now, span, context.policy)
        report = await context.status.current()
        reads = await context.read(read_route, context.prices, context.policy, route, window, now)
        statuses = [s for s in report.statuses if s.dimension == route]
        return context.render.page(request, caller, route_view(route, window, context.policy, statuses, reads))
