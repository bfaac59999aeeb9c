"""The sessions page (`/ui/sessions`): how sessions ended over time, tool errors by tool type, stuck tool calls, by
platform, model, client and tool."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from aiohttp import web
from markupsafe import Markup

from alerting.rules.period_cache import floor_to
from api.auth import Caller
from api.pages import formats, links
from api.pages.context import PageContext
from api.pages.guard import Refused
from api.pages.series import RANGES
from api.pages.session_reads import SessionReads, read_sessions
from api.pages.svg import Chart, Series, line_chart
from api.pages.usage import usage_range
from schemas.api_metrics import MAX_NAME
from schemas.session_event import TERMINATION_REASONS

FILTERS = {"platform": "platform", "model": "model", "client": "client", "tool": "tool_type"}
"""The page's query parameter → the sessions API's filter (alert messages link here with these)."""


@dataclass(frozen=True)
class ToolRow:
    tool: str
    calls: int
    errors: int
    share: str
    """Failed calls over calls."""


@dataclass(frozen=True)
class RouteRow:
    platform: str
    model: str
    client: str
    sessions: str
    failed: str
    stuck_sessions: str
    stuck_tool_calls: int


@dataclass(frozen=True)
class SessionsView:
    template: ClassVar[str] = "sessions.html"
    title: ClassVar[str] = "Agent sessions"
    ranges: tuple[links.Tab, ...]
    asked: tuple[tuple[str, str], ...]
    """The filters' fields and their values (empty: any)."""
    window: str
    source: str
    totals: tuple[tuple[str, str], ...]
    charts: tuple[Markup, ...]
    tools: tuple[ToolRow, ...]
    routes: tuple[RouteRow, ...]


def asked_sessions(query: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """(the range's name, the filters asked for by page parameter), or Refused."""
    span = query.get("range", "24h")
    asked = {name: query[name] for name in FILTERS if query.get(name)}
    if span not in RANGES or any(len(value) > MAX_NAME for value in asked.values()):
        raise Refused("Not a sessions question", [f"range: one of {', '.join(RANGES)}",
                                                  f"platform, model, client, tool: each at most {MAX_NAME} characters"])
    return span, asked


def _every(points: Sequence[Mapping[str, Any]], measure: str, start: datetime, end: datetime, step: int,
           reason: str | None = None) -> list[tuple[datetime, float | None]]:
    """`measure` in every bucket of [start, end), of one termination reason (or all), zero where nothing was counted."""
    counted: dict[datetime, float] = {}
    for p in points:
        if reason is None or p["termination_reason"] == reason:
            at = datetime.fromisoformat(p["t"])
            counted[at] = counted.get(at, 0.0) + float(p[measure])
    found: list[tuple[datetime, float | None]] = []
    at = start
    while at < end:
        found.append((at, counted.get(at, 0.0)))
        at += timedelta(seconds=step)
    return found


def session_charts(points: Sequence[Mapping[str, Any]], start: datetime, end: datetime, step: int) -> tuple[Markup, ...]:
    start = floor_to(start, step)
    reasons = [Series(reason, _every(points, "sessions", start, end, step, reason), f"s{i}")
               for i, reason in enumerate(TERMINATION_REASONS)]
    stuck = [Series("stuck tool calls", _every(points, "stuck_tool_calls", start, end, step), "s0"),
             Series("tool errors", _every(points, "tool_errors", start, end, step), "s1")]
    return (line_chart(Chart("Sessions by termination reason", reasons, start, end)),
            line_chart(Chart("Stuck tool calls and tool errors", stuck, start, end)))


def _totals(total: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not total or not total["sessions"]:
        return ()
    first = total["first_response_ms"]
    return (("sessions", formats.count(total["sessions"])), ("failed", formats.pct(total["failure_rate"], 2)),
            ("stuck sessions", formats.count(total["stuck_sessions"])),
            ("stuck tool calls", formats.count(total["stuck_tool_calls"])),
            ("tool errors", f"{formats.count(total['tool_errors'])} of {formats.count(total['tool_calls'])}"),
            ("first response p50 / p95 / p99", " / ".join(formats.ms(first[level]) for level in ("p50", "p95", "p99"))),
            ("cost", formats.usd(total["cost_usd"])))


def sessions_view(span: str, asked: dict[str, str], start: datetime, end: datetime, reads: SessionReads) -> SessionsView:
    step = RANGES[span][1]
    tools = sorted(reads.tools, key=lambda t: (-t["tool_errors"], -t["tool_calls"], t["tool_type"]))
    return SessionsView(
        tuple(links.Tab(r, links.sessions(range=r, **asked), r == span) for r in RANGES),
        tuple((name, asked.get(name, "")) for name in FILTERS), f"{formats.when(start)} – {formats.when(end)}",
        reads.source, _totals(reads.total), session_charts(reads.reasons, start, end, step),
        tuple(ToolRow(t["tool_type"], t["tool_calls"], t["tool_errors"], formats.pct(t["tool_error_rate"], 1))
              for t in tools),
        tuple(RouteRow(r["platform"], r["model"], r["client"], formats.count(r["sessions"]),
                       formats.pct(r["failure_rate"], 1), formats.count(r["stuck_sessions"]), r["stuck_tool_calls"])
              for r in reads.routes))


class SessionsPage:
    def __init__(self, context: PageContext) -> None:
        self._context = context

    async def __call__(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        span, asked = asked_sessions(request.query)
        context, now = self._context, self._context.now()
        start, end = usage_range(now, span)
        filters = {FILTERS[name]: [value] for name, value in asked.items()}
        reads = await context.read(read_sessions, filters, start, end, RANGES[span][1], now)
        return context.render.page(request, caller, sessions_view(span, asked, start, end, reads))
