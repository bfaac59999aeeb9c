"""`GET /v1/slo/status` and `o11y status`: every SLO of every route, least error budget left first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alerting.evaluation.store import AlertStore
from alerting.incidents.slo_status import SloStatus, period_start, seen_words, statuses
from alerting.rules.freshness import Freshness
from alerting.rules.period_cache import PeriodCache
from alerting.rules.window_query import WindowCounts, window_end
from api.auth import ApiAuth
from api.responses import bad_request, json_response, unavailable
from runtime.clickhouse import ClickHouseClient
from runtime.settings import Settings
from schemas.alert_policy import AlertPolicy, Dimension
from schemas.api_metrics import MAX_NAME

log = logging.getLogger(__name__)


class StatusQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slo: str | None = Field(default=None, max_length=MAX_NAME)
    provider: str | None = Field(default=None, max_length=MAX_NAME)
    model: str | None = Field(default=None, max_length=MAX_NAME)
    client: str | None = Field(default=None, max_length=MAX_NAME)
    state: str | None = Field(default=None, pattern="^(ok|burning|incident|stale|silenced)$")
    limit: int = Field(default=1000, ge=1, le=100_000)

    def keeps(self, status: SloStatus) -> bool:
        return all(getattr(self, name) in (None, value) for name, value in filter_values(status).items())


def filter_values(status: SloStatus) -> dict[str, str]:
    """What each of `StatusQuery`'s filters compares with: one status's SLO, route and state."""
    provider, model, client = status.dimension
    return {"slo": status.slo, "provider": provider, "model": model, "client": client, "state": status.state}


@dataclass(frozen=True)
class StatusReport:
    """Every SLO of every route at `end` (the minute judged), most pressing first, and how fresh the data is."""

    end: datetime
    period_days: int
    period_start: datetime
    freshness: str
    ignored_overrides: list[str]
    statuses: tuple[SloStatus, ...]

    def header(self) -> dict[str, Any]:
        """`/v1/slo/status`'s answer but the statuses."""
        return {"end": self.end.isoformat(), "period_days": self.period_days, "period_start": self.period_start.isoformat(),
                "freshness": self.freshness, "ignored_overrides": self.ignored_overrides}


@dataclass
class TickCounts:
    """The window counts of the last minute asked for: callers within the same minute share one read."""

    key: tuple[datetime, str] | None = None
    counts: dict[Dimension, WindowCounts] = field(default_factory=dict)

    def read(self, store: AlertStore, end: datetime, policy: AlertPolicy) -> dict[Dimension, WindowCounts]:
        key = (end, repr(policy.columns()))
        if key != self.key:
            self.counts, self.key = store.window_counts(end, policy, details=False), key
        return self.counts


def read_status(clickhouse: ClickHouseClient, policy: AlertPolicy, settings: Settings, now: datetime,
                cache: PeriodCache | None = None, ticks: TickCounts | None = None) -> StatusReport:
    """Reads the tick's window counts (unless `ticks` has this minute's), the period's counts (what `cache` does not
    keep), open incidents and silences, loader progress."""
    store = AlertStore(clickhouse, settings.event_topics())
    policy, ignored = store.live_policy(policy)
    end = window_end(now)
    counts = (ticks or TickCounts()).read(store, end, policy)
    freshness = Freshness(tuple(store.progress()), now, timedelta(seconds=settings.alert_stale_after_s))
    settled = min(end, freshness.watermark) if freshness.watermark is not None else end
    period = (cache or PeriodCache()).period(clickhouse.query, policy, end, settled)
    found = statuses(policy, end, counts, period, store.incidents(end), store.silences(end), freshness.stale, now)
    return StatusReport(end, policy.period_days, period_start(end, policy), freshness.describe(), ignored, tuple(found))


def load_status(clickhouse: ClickHouseClient, policy: AlertPolicy, settings: Settings, now: datetime) -> dict[str, Any]:
    """`read_status` as `/v1/slo/status` answers it, `statuses` still `SloStatus`: what `o11y status` reads."""
    report = read_status(clickhouse, policy, settings, now)
    return {**report.header(), "statuses": list(report.statuses)}


class StatusApi:
    def __init__(self, auth: ApiAuth, settings: Settings, policy: AlertPolicy, clickhouse: ClickHouseClient,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._auth, self._settings, self._policy, self._clickhouse, self._now = auth, settings, policy, clickhouse, now
        self._cache, self._ticks = PeriodCache(), TickCounts()
        self._lock = asyncio.Lock()

    def add_routes(self, app: web.Application, warm: bool = False) -> None:
        """`warm`: read the SLO period once at start, so that the first caller does not wait for it."""
        app.router.add_get("/v1/slo/status", self.status)
        if warm:
            app.on_startup.append(self._start_warming)
            app.on_cleanup.append(self._stop_warming)

    async def _start_warming(self, app: web.Application) -> None:
        self._warming = asyncio.create_task(self._warm())

    async def _stop_warming(self, app: web.Application) -> None:
        self._warming.cancel()

    async def _warm(self) -> None:
        try:
            async with self._lock:
                await asyncio.to_thread(read_status, self._clickhouse, self._policy, self._settings,
                                        self._now(), self._cache, self._ticks)
        except Exception as err:  # noqa: BLE001 - a cold cache only makes the first call slower
            log.warning("could not read the SLO period ahead of the first call: %s", type(err).__name__)

    async def current(self) -> StatusReport:
        """`read_status` now, with this process's caches."""
        async with self._lock:  # one read at a time fills the cache; the next finds it warm
            return await asyncio.to_thread(read_status, self._clickhouse, self._policy, self._settings,
                                           self._now(), self._cache, self._ticks)

    async def status(self, request: web.Request) -> web.Response:
        self._auth.caller(request, "read")
        try:
            query = StatusQuery.model_validate(dict(request.query))
        except ValidationError as err:
            return bad_request(err)
        try:
            report = await self.current()
        except Exception as err:  # noqa: BLE001 - the input was valid: what failed is ClickHouse
            return unavailable(err)
        kept = [s for s in report.statuses if query.keeps(s)]
        return json_response({**report.header(), "count": len(kept), "statuses": [s.as_dict() for s in kept[:query.limit]]})


def status_table(body: dict[str, Any]) -> str:
    """`o11y status`: one line per SLO and route, from `/v1/slo/status`'s answer (or the same read straight)."""
    lines = [f"SLO status at {body['end'][:16]} UTC, budget over {body['period_days']} days; data {body['freshness']}",
             f"{'state':<9} {'slo':<14} {'route':<52} {'budget left':>11} {'exhausted in':>12}  burn (long) per tier"]
    for s in body["statuses"]:
        left = f"{s['budget_left'] * 100:.1f} %" if s["budget_left"] is not None else "no traffic"
        hours = f"{s['exhausted_in_hours']:.1f} h" if s["exhausted_in_hours"] is not None else "-"
        burns = "  ".join(f"{t['tier']} {t['burn_long']:.1f}x" for t in s["tiers"])
        route = f"{s['provider']} {s['model']} ({s['client']})"
        seen = seen_words(datetime.fromisoformat(s["seen_since"]) if s.get("seen_since") else None,
                          datetime.fromisoformat(body["end"]), body["period_days"])
        lines.append(f"{s['state']:<9} {s['slo']:<14} {route:<52} {left:>11} {hours:>12}  {burns}"
                     + (f"  (budget left {seen})" if seen else ""))
    return "\n".join(lines)
