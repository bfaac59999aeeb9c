"""The usage page (`/ui/usage`): requests, errors, latency, tokens and cost over a range, by model, provider or client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web
from markupsafe import Markup

from alerting.rules.period_cache import floor_to
from api.auth import Caller
from api.csv_text import csv_text
from api.pages import data, formats, links
from api.pages.context import PageContext
from api.pages.guard import Refused
from api.pages.series import RANGES
from api.pages.svg import Chart, Series, bars, line_chart

GROUPS = ("model", "provider", "client")
COST_BARS = 15
LEVELS = ("p50", "p95", "p99")
CSV_COLUMNS = ("requests", "errors_4xx", "errors_5xx", "error_rate", "complete_p50_ms", "complete_p95_ms", "complete_p99_ms",
               *(f"ttft_{level}_ms" for level in LEVELS), *(f"output_tokens_per_second_{level}" for level in LEVELS),
               "input_tokens", "output_tokens", "total_tokens", "cost_usd", "unpriced_requests")


@dataclass(frozen=True)
class Totals:
    requests: str
    error_rate: str
    complete: str
    """p50 / p95 / p99 of the complete request time."""
    tokens: str
    cost: str
    unpriced: str | None
    """How many requests had no price, when some had none."""


@dataclass(frozen=True)
class UsageRow:
    name: str
    requests: int
    requests_text: str
    errors_4xx: str
    errors_5xx: str
    error_rate: str
    complete: str
    """p50 / p95 / p99 of the complete request time, in seconds (the CSV has every level in ms)."""
    ttft: str
    """p50 / p95 / p99 of the time to first token (streamed requests), in seconds."""
    speed: str
    """p50 / p95 / p99 of output tokens per second: p95 is the speed 95 % of the answers reach or beat."""
    input_tokens: str
    output_tokens: str
    cost: str


@dataclass(frozen=True)
class UsageView:
    template: ClassVar[str] = "usage.html"
    title: ClassVar[str] = "Usage and cost"
    group: str
    ranges: tuple[links.Tab, ...]
    groups: tuple[links.Tab, ...]
    window: str
    source: str
    totals: Totals | None
    charts: tuple[Markup, ...]
    cost_bars: Markup | None
    table_csv: str
    export: str
    rows: tuple[UsageRow, ...]


def asked_usage(query: Mapping[str, str]) -> tuple[str, str]:
    """(the range's name, the dimension to group by) asked for, or Refused."""
    span, group = query.get("range", "24h"), query.get("group_by", "model")
    if span not in RANGES or group not in GROUPS:
        raise Refused("Not a usage question", [f"range: one of {', '.join(RANGES)}", "group_by: model, provider or client"])
    return span, group


def usage_range(now: datetime, span: str) -> tuple[datetime, datetime]:
    """[start, end) of a range: up to the current minute."""
    end = floor_to(now, 60)
    return end - RANGES[span][0], end


def totals(total: Mapping[str, Any]) -> Totals:
    complete = " / ".join(formats.ms(total["complete_ms"][level]) for level in LEVELS)
    unpriced = total["cost"]["unpriced_requests"]
    return Totals(formats.count(total["requests"]), formats.pct(total["error_rate"], 2), complete,
                  formats.count(total["tokens"]["total"]), formats.usd(total["cost"]["usd"]),
                  formats.count(unpriced) if unpriced else None)


def usage_row(entry: Mapping[str, Any], group: str) -> UsageRow:
    complete, errors, tokens = entry["complete_ms"], entry["errors"], entry["tokens"]
    return UsageRow(
        str(entry[group]), entry["requests"], formats.count(entry["requests"]), formats.count(errors["4xx"]),
        formats.count(errors["5xx"]), formats.pct(entry["error_rate"], 2),
        formats.levels([None if v is None else v / 1000 for v in (complete[level] for level in LEVELS)], " s"),
        formats.levels([None if v is None else v / 1000 for v in (entry["ttft_ms"][level] for level in LEVELS)], " s"),
        formats.levels([entry["output_tokens_per_second"][level] for level in LEVELS], ""),
        formats.count(tokens["input"]), formats.count(tokens["output"]), formats.usd(entry["cost"]["usd"]))


def usage_charts(points: Sequence[Mapping[str, Any]], start: datetime, end: datetime) -> tuple[Markup, ...]:
    """Requests, error rate and latency per bucket; from the first bucket drawn, or `start` without any."""
    at = [datetime.fromisoformat(p["t"]) for p in points]
    first = at[0] if at else start
    latency = [Series(level, [(t, p["complete_ms"][level]) for t, p in zip(at, points, strict=True)], f"s{i}")
               for i, level in enumerate(("p50", "p95", "p99"))]
    return (line_chart(Chart("Requests", [Series("requests", [(t, float(p["requests"])) for t, p in zip(at, points, strict=True)],
                                                 "s2")], first, end)),
            line_chart(Chart("Error rate", [Series("errors", [(t, p["error_rate"]) for t, p in zip(at, points, strict=True)],
                                                   "s0")], first, end, "%")),
            line_chart(Chart("Latency, complete request", latency, first, end, "ms")))


def usage_view(span: str, group: str, start: datetime, end: datetime, groups: Sequence[Mapping[str, Any]],
               total: Mapping[str, Any] | None, source: str, points: Sequence[Mapping[str, Any]]) -> UsageView:
    costs = sorted(((str(g[group]), g["cost"]["usd"]) for g in groups), key=lambda r: -(r[1] or 0.0))[:COST_BARS]
    return UsageView(
        group, tuple(links.Tab(r, links.usage(range=r, group_by=group), r == span) for r in RANGES),
        tuple(links.Tab(g, links.usage(range=span, group_by=g), g == group) for g in GROUPS),
        f"{formats.when(start)} – {formats.when(end)}", source, totals(total) if total else None,
        usage_charts(points, start, end), bars(costs, formats.usd) if costs else None,
        links.usage(range=span, group_by=group, format="csv"),
        links.usage_export(start, end),
        tuple(usage_row(g, group) for g in groups))


def table_csv(groups: Sequence[Mapping[str, Any]], group: str) -> str:
    """The page's table as CSV, a header first: unrounded numbers, one row per group."""
    rows: list[list[Any]] = [[group, *CSV_COLUMNS]]
    rows += [[g[group], g["requests"], g["errors"]["4xx"], g["errors"]["5xx"], g["error_rate"],
              *(g["complete_ms"][level] for level in LEVELS), *(g["ttft_ms"][level] for level in LEVELS),
              *(g["output_tokens_per_second"][level] for level in LEVELS), g["tokens"]["input"], g["tokens"]["output"],
              g["tokens"]["total"], g["cost"]["usd"], g["cost"]["unpriced_requests"]] for g in groups]
    return csv_text(rows)


class UsagePage:
    def __init__(self, context: PageContext) -> None:
        self._context = context

    async def __call__(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        span, group = asked_usage(request.query)
        context, now = self._context, self._context.now()
        start, end = usage_range(now, span)
        groups, total, source = await context.read(data.usage_stats, context.prices, now, group, start, end)
        if request.query.get("format") == "csv":
            name = f"usage-by-{group}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.csv"
            return web.Response(text=table_csv(groups, group), content_type="text/csv", headers={
                "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
        step = RANGES[span][1]
        points = await context.read(data.usage_points, context.prices, now, step, floor_to(start, step), end)
        view = usage_view(span, group, start, end, groups, total, source, points)
        return context.render.page(request, caller, view)
