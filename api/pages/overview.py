"""The overview (`/ui/`): every SLO of every route, least error budget left first, filtered as `/v1/slo/status` is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from aiohttp import web
from markupsafe import Markup

from alerting.incidents.slo_status import SloStatus
from alerting.rules.period_cache import SETTLE, floor_to
from api.auth import Caller
from api.pages import formats, links
from api.pages.context import PageContext
from api.pages.data import HourlyCounts
from api.pages.series import SloCounts, burn
from api.pages.svg import sparkline
from api.status_api import StatusQuery, StatusReport, filter_values
from schemas.alert_policy import AlertPolicy

MAX_ROWS = 500
FILTERS = ("client", "provider", "model", "slo", "state")
"""The filters, in the form's order."""
STATES = ("incident", "silenced", "burning", "stale", "ok")
SPARK_HOURS = 24


@dataclass(frozen=True)
class Option:
    value: str
    selected: bool


@dataclass(frozen=True)
class Filter:
    name: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class TierCell:
    text: str
    title: str
    css: str


@dataclass(frozen=True)
class OverviewRow:
    slo: str
    provider: str
    model: str
    client: str
    state: str
    link: str
    budget: str
    """The exact budget left (empty without traffic), for scripts and tests."""
    budget_left: str | None
    """As people read it; None: no traffic."""
    bar_css: str
    bar_width: float
    seen: str | None
    exhausted_in: str
    tiers: tuple[TierCell, ...]
    burn_24h: tuple[float | None, ...]

    @property
    def sparkline(self) -> Markup:
        return sparkline(self.burn_24h)


@dataclass(frozen=True)
class OverviewView:
    template: ClassVar[str] = "overview.html"
    title: ClassVar[str] = "SLO overview"
    at: str
    period_days: int
    freshness: str
    states: tuple[tuple[str, int], ...]
    filters: tuple[Filter, ...]
    rows: tuple[OverviewRow, ...]
    matching: int
    """How many SLOs × routes the filters keep (`rows` holds the first MAX_ROWS)."""

    @property
    def shown(self) -> int:
        return len(self.rows)


def asked_filters(query: Mapping[str, str]) -> StatusQuery:
    """The filters asked for, validated as `/v1/slo/status` validates them (an empty one is no filter)."""
    return StatusQuery.model_validate({name: query[name] for name in FILTERS if query.get(name)})


def spark_start(end: datetime) -> datetime:
    """The first of the sparklines' hours: the current hour is the last."""
    return floor_to(end, 3600) - timedelta(hours=SPARK_HOURS - 1)


def hourly_burn(counts: SloCounts, policy: AlertPolicy, status: SloStatus, start: datetime) -> tuple[float | None, ...]:
    """The burn of each hour from `start` of one SLO of one route: the overview's sparkline."""
    spec = policy.slo_for(status.slo, status.dimension)
    if spec is None:
        return ()
    series = counts.series(status.slo, status.dimension, start, start + timedelta(hours=SPARK_HOURS), 3600)
    return tuple(burn(b.total, b.bad, spec.budget) for b in series)


def overview_row(status: SloStatus, report: StatusReport, burn_24h: tuple[float | None, ...]) -> OverviewRow:
    provider, model, client = status.dimension
    left = status.budget_left
    tiers = tuple(TierCell(formats.times(t.burn_long), f"tier {t.tier} ({t.severity}): {t.burn_long:.2f}x over its long "
                                                       f"window, trips at {t.threshold}x", "trips" if t.trips else "")
                  for t in status.tiers)
    return OverviewRow(
        status.slo, provider, model, client, status.state, links.route(provider, model, client),
        "" if left is None else str(left), None if left is None else formats.pct(left),
        "" if left is None else "out" if left <= 0 else "low" if left < 0.25 else "",
        0 if left is None else min(max(left, 0), 1) * 100, status.seen_words(report.end, report.period_days),
        formats.hours(status.exhausted_in_hours), tiers, burn_24h)


def overview_view(report: StatusReport, counts: SloCounts, policy: AlertPolicy, asked: StatusQuery) -> OverviewView:
    kept = [s for s in report.statuses if asked.keeps(s)]
    start = spark_start(report.end)
    rows = tuple(overview_row(s, report, hourly_burn(counts, policy, s, start)) for s in kept[:MAX_ROWS])
    values = [filter_values(s) for s in report.statuses]
    filters = tuple(Filter(name, tuple(Option(value, getattr(asked, name) == value)
                                       for value in sorted({v[name] for v in values}))) for name in FILTERS)
    states = tuple((state, sum(1 for s in kept if s.state == state)) for state in STATES)
    return OverviewView(formats.when(report.end), report.period_days, report.freshness, states, filters, rows, len(kept))


class OverviewPage:
    def __init__(self, context: PageContext) -> None:
        self._context = context
        self._hourly = HourlyCounts()

    async def __call__(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        asked = asked_filters(request.query)
        report = await self._context.status.current()
        start = spark_start(report.end)
        fresh = not any(s.state == "stale" for s in report.statuses)
        counts = await self._context.read(self._hourly.read, self._context.policy, start, report.end,
                                          report.end - SETTLE if fresh else start)
        return self._context.render.page(request, caller, overview_view(report, counts, self._context.policy, asked))
