"""The pages under `/ui/`, served by `o11y api`: overview, a route's page, usage, incidents and silences.

Rendered on the server from the same queries as the read API, charts as inline SVG: one HTML answer per page, no
script, nothing fetched from elsewhere. Reading needs a session (`api.pages.sign_in`, with a read or admin token);
creating or expiring a silence needs an admin's session and the form's CSRF token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from alerting.period_cache import SETTLE, floor_to
from alerting.policy_store import PolicyStore
from alerting.silences import SilenceRequest
from api.auth import SIGNED_IN, Caller
from api.csv_text import csv_text
from api.pages import data, formats
from api.pages.render import Renderer
from api.pages.route_charts import RouteData, route_charts
from api.pages.series import RANGES
from api.pages.svg import Band, Chart, Series, bars, line_chart
from api.responses import reasons
from api.sessions import COOKIE, Sessions
from api.status_api import StatusApi, StatusQuery
from runtime.clickhouse import ClickHouseClient
from schemas.alert_policy import AlertPolicy, Dimension
from schemas.api_metrics import MAX_NAME
from schemas.prices import PriceTable

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Page = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]
SILENCE_HOURS = (1, 4, 24)
OVERVIEW_ROWS = 500
FILTERS = ("slo", "provider", "model", "client", "state")


class Pages:
    def __init__(self, sessions: Sessions, policy: AlertPolicy, clickhouse: ClickHouseClient, status: StatusApi,
                 prices: PriceTable, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._sessions, self._policy, self._clickhouse = sessions, policy, clickhouse
        self._status, self._prices, self._now = status, prices, now
        self._hourly = data.HourlyCounts()
        self._render = Renderer(sessions)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._home)
        app.router.add_get("/ui", self._home)
        app.router.add_get("/ui/", self._signed_in(self.overview))
        app.router.add_get("/ui/route", self._signed_in(self.route))
        app.router.add_get("/ui/usage", self._signed_in(self.usage))
        app.router.add_get("/ui/incidents", self._signed_in(self.incidents))
        app.router.add_post("/ui/silences", self._signed_in(self.add_silence))
        app.router.add_post("/ui/silences/{silence_id}/expire", self._signed_in(self.expire_silence))

    # Sessions

    async def _home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/ui/")

    def _signed_in(self, page: Page) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            caller = request.get(SIGNED_IN)
            if caller is None:
                raise web.HTTPFound("/ui/login?" + urlencode({"next": request.path_qs}))
            try:
                return await page(request, caller)
            except web.HTTPException:
                raise
            except ValidationError as err:
                return self._render.page("error.html", request, caller, status=400, title="Not a valid question",
                                         problems=reasons(err))
            except Exception as err:  # noqa: BLE001 - the question was valid: what failed is ClickHouse
                log.warning("page %s: ClickHouse could not answer: %s", request.path, str(err).splitlines()[0][:500])
                return self._render.page("error.html", request, caller, status=503, title="ClickHouse could not answer",
                                         problems=[f"{type(err).__name__}: retry in a moment"])

        return handler

    async def _run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(function, self._clickhouse, *args, **kwargs)

    # Overview

    async def overview(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        wanted = {k: request.query.get(k) or None for k in FILTERS}
        asked = StatusQuery.model_validate({k: v for k, v in wanted.items() if v is not None})  # as /v1/slo/status filters
        body = await self._status.current()
        every = body.pop("statuses")
        end = datetime.fromisoformat(body["end"])
        start = floor_to(end, 3600) - timedelta(hours=23)
        fresh = not any(s.state == "stale" for s in every)
        counts = await self._run(self._hourly.read, self._policy, start, end, end - SETTLE if fresh else start)
        kept = [s for s in every if asked.keeps(s)]
        states: dict[str, int] = {}
        for s in kept:
            states[s.state] = states.get(s.state, 0) + 1
        rows = [{"status": s, "spark": data.hourly_burn(counts, self._policy, s, start, 24)} for s in kept[:OVERVIEW_ROWS]]
        choices = {k: sorted({_field(s, k) for s in every}) for k in FILTERS}
        return self._render.page("overview.html", request, caller, title="SLO overview", body=body, rows=rows, end=end,
                                 shown=len(rows), count=len(kept), states=states, wanted=wanted, choices=choices)

    # A route's page

    async def route(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        dimension = tuple(request.query.get(k, "") for k in ("provider", "model", "client"))
        span_name = request.query.get("range", "24h")
        if span_name not in RANGES or not all(0 < len(v) <= MAX_NAME for v in dimension):
            return self._render.page("error.html", request, caller, status=400, title="Not a route", problems=[
                f"provider, model and client: each 1–{MAX_NAME} characters", f"range: one of {', '.join(RANGES)}"])
        route: Dimension = (dimension[0], dimension[1], dimension[2])
        span, step = RANGES[span_name]
        now = self._now()
        end = floor_to(now, 60)
        start = floor_to(end - span, step)
        body = await self._status.current()
        statuses = [s for s in body["statuses"] if s.dimension == route]
        provider, model, client = route
        points = await self._run(data.usage_points, self._prices, now, step, provider=[provider], model=[model], client=[client],
                                 **{"from": start, "to": end})
        longest = max(w.long_minutes for s in self._policy.slos for w in s.windows)
        period_start = end - timedelta(days=self._policy.period_days)
        history_start = min(floor_to(start - timedelta(minutes=longest), step), floor_to(period_start, 3600))
        counts = await self._run(data.slo_counts, self._policy, floor_to(start - timedelta(minutes=longest), step), end, step,
                                 route)
        hourly = await self._run(data.slo_counts, self._policy, floor_to(period_start, 3600), end, 3600, route)
        found = await self._run(data.incidents, now, state="all", provider=provider, model=model, client=client,
                                **{"from": min(start, history_start), "to": now})
        baseline = await self._run(data.baseline, self._policy, route, now)
        latency = await self._run(data.route_latency, route, start, end, step)
        bands = [Band(datetime.fromisoformat(i["started_at"]),
                      datetime.fromisoformat(i["resolved_at"]) if i["resolved_at"] else end,
                      f"{i['severity']} {i['slo']} {i['status']}", "band " + ("open" if i["status"] == "open" else "past"))
                 for i in found]
        seen = {s.slo: s.seen_words(end, self._policy.period_days) for s in statuses}
        charts = route_charts(self._policy, RouteData(route, points, latency, counts, hourly, start, end, step, bands,
                                                      period_start, seen))
        runbooks = []
        for s in statuses:
            spec = self._policy.slo_for(s.slo, route)
            if spec is not None:
                link = spec.link(spec.runbook_url, slo=s.slo, provider=provider, model=model, client=client)
                runbooks.append((spec.title, link))
        return self._render.page("route.html", request, caller, title=f"{provider} {model} ({client})", route=route,
                                 statuses=statuses, charts=charts, incidents=found, baseline=baseline, ranges=list(RANGES),
                                 span=span_name, runbooks=runbooks, body=body, end=end)

    # Usage

    async def usage(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        span_name = request.query.get("range", "24h")
        group = request.query.get("group_by", "model")
        if span_name not in RANGES or group not in ("model", "provider", "client"):
            return self._render.page("error.html", request, caller, status=400, title="Not a usage question",
                                     problems=[f"range: one of {', '.join(RANGES)}", "group_by: model, provider or client"])
        span, step = RANGES[span_name]
        now = self._now()
        end = floor_to(now, 60)
        start = end - span
        window = {"from": start, "to": end}
        groups, total, source = await self._run(data.usage_stats, self._prices, now, group_by=group, **window)
        if request.query.get("format") == "csv":
            return _csv(groups, group, f"usage-by-{group}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.csv")
        points = await self._run(data.usage_points, self._prices, now, step, **{"from": floor_to(start, step), "to": end})
        at = [datetime.fromisoformat(p["t"]) for p in points]
        charts = [
            line_chart(Chart("Requests", [Series("requests", [(t, float(p["requests"])) for t, p in
                                                             zip(at, points, strict=True)], "s2")], at[0] if at else start, end)),
            line_chart(Chart("Error rate", [Series("errors", [(t, p["error_rate"]) for t, p in zip(at, points, strict=True)],
                                                   "s0")], at[0] if at else start, end, "%")),
            line_chart(Chart("Latency, complete request", [
                Series(level, [(t, p["complete_ms"][level]) for t, p in zip(at, points, strict=True)], f"s{i}")
                for i, level in enumerate(("p50", "p95", "p99"))], at[0] if at else start, end, "ms")),
        ]
        costs = sorted(((str(g[group]), g["cost"]["usd"]) for g in groups), key=lambda r: -(r[1] or 0.0))[:15]
        export = "/v1/usage/export?" + urlencode({"from": start.isoformat(), "to": end.isoformat(), "format": "csv"})
        table_csv = "/ui/usage?" + urlencode({"range": span_name, "group_by": group, "format": "csv"})
        return self._render.page("usage.html", request, caller, title="Usage and cost", groups=groups, total=total,
                                 group=group, source=source, charts=charts, span=span_name, ranges=list(RANGES),
                                 cost_bars=bars(costs, formats.usd) if costs else None, start=start, end=end,
                                 export=export, table_csv=table_csv)

    # Incidents and silences

    async def incidents(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        now = self._now()
        open_ones = await self._run(data.incidents, now, state="open")
        history = await self._run(data.incidents, now, state="all", **{"from": now - timedelta(days=7), "to": now})
        current = await self._run(data.silences, now)
        return self._render.page("incidents.html", request, caller, title="Incidents and silences",
                                 open_incidents=open_ones, history=[i for i in history if i["status"] != "open"],
                                 silences=[s.as_dict(now) for s in current], hours=SILENCE_HOURS,
                                 notice=request.query.get("notice"))

    def _admin_form(self, request: web.Request, caller: Caller, form: Any) -> None:
        if caller.role != "admin":
            raise web.HTTPForbidden(text="Only an admin's session may change silences: sign in with an O11Y_ADMIN_TOKENS token.")
        if not self._sessions.csrf_ok(request.cookies.get(COOKIE), str(form.get("csrf", ""))):
            raise web.HTTPForbidden(text="This form is stale or did not come from this site: reload the page and retry.")

    async def add_silence(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        form = await request.post()
        self._admin_form(request, caller, form)
        now = self._now()
        try:
            hours = int(str(form.get("hours", "")))
            if hours not in SILENCE_HOURS:
                raise ValueError("hours: one of " + ", ".join(map(str, SILENCE_HOURS)))
            wanted = SilenceRequest.model_validate({
                **{k: str(form[k]) for k in ("slo", "severity", "provider", "model", "client") if form.get(k)},
                "ends_at": now + timedelta(hours=hours), "comment": str(form.get("comment", ""))})
            silence = wanted.silence(caller.name, now)
        except ValidationError as err:
            return self._render.page("error.html", request, caller, status=400, title="Silence refused", problems=reasons(err))
        except ValueError as err:
            return self._render.page("error.html", request, caller, status=400, title="Silence refused", problems=[str(err)])
        await self._run(lambda client: PolicyStore(client).save_silence(silence, now))
        raise web.HTTPSeeOther("/ui/incidents?" + urlencode({"notice": f"silence {silence.id} holds until "
                                                                       f"{silence.ends_at:%H:%M} UTC"}))

    async def expire_silence(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        form = await request.post()
        self._admin_form(request, caller, form)
        silence_id, now = request.match_info["silence_id"][:64], self._now()
        silence = await self._run(lambda client: PolicyStore(client).silence(silence_id))
        if silence is None or silence.state(now) in ("expired", "ended"):
            return self._render.page("error.html", request, caller, status=404, title="No such silence",
                                     problems=[f"silence {silence_id} does not exist or has already ended"])
        expired = silence.expired(caller.name, now)
        await self._run(lambda client: PolicyStore(client).save_silence(expired, now))
        raise web.HTTPSeeOther("/ui/incidents?" + urlencode({"notice": f"silence {silence_id} expired"}))


def _field(status: Any, name: str) -> str:
    provider, model, client = status.dimension
    return str({"slo": status.slo, "provider": provider, "model": model, "client": client, "state": status.state}[name])


def _csv(groups: list[dict[str, Any]], group: str, name: str) -> web.Response:
    rows: list[list[Any]] = [[group, "requests", "errors_4xx", "errors_5xx", "error_rate", "complete_p50_ms",
                              "complete_p95_ms", "complete_p99_ms", "input_tokens", "output_tokens", "total_tokens",
                              "cost_usd", "unpriced_requests"]]
    rows += [[g[group], g["requests"], g["errors"]["4xx"], g["errors"]["5xx"], g["error_rate"], g["complete_ms"]["p50"],
              g["complete_ms"]["p95"], g["complete_ms"]["p99"], g["tokens"]["input"], g["tokens"]["output"],
              g["tokens"]["total"], g["cost"]["usd"], g["cost"]["unpriced_requests"]] for g in groups]
    return web.Response(text=csv_text(rows), content_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
