"""What the overview and a route's page show, built from plain data and a time (no HTTP, no ClickHouse)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from alerting.incidents.slo_status import SloStatus, TierBurn
from alerting.policy.baseline import Baseline, ObjectiveSuggestion, PeriodErrors, Selector, ThresholdSuggestion
from alerting.rules.burn_rate import WindowCount
from api.pages.guard import Refused
from api.pages.overview import MAX_ROWS, asked_filters, overview_row, overview_view
from api.pages.route import asked_route, route_view
from api.pages.route_reads import RouteReads, route_window
from api.pages.series import SloCounts
from api.status_api import StatusQuery, StatusReport
from schemas.alert_policy import DEFAULT_POLICY, default_policy, policy_from_document
from schemas.latency_measures import COMPLETE, tpot

END = datetime(2031, 5, 1, 12, 34, tzinfo=timezone.utc)
ROUTE = ("openai", "gpt-4o", "kilo-gateway")
POLICY = default_policy()


def status(budget_left: float | None = 0.5, *, slo: str = "error_rate", route: tuple[str, str, str] = ROUTE,
           state: str = "ok", trips: bool = False, seen_for: timedelta = timedelta(days=30)) -> SloStatus:
    tier = TierBurn("5m/1m", "page", 14.4, 20.0 if trips else 0.5, 0.25, trips)
    return SloStatus(slo, route, state, "0.999", WindowCount(1, 1000), budget_left, 3.25 if budget_left else None, (tier,),
                     None, END - seen_for)


def report(*statuses: SloStatus) -> StatusReport:
    return StatusReport(END, 30, END - timedelta(days=30), "fresh: loaded up to now", [], statuses)


@pytest.mark.parametrize(("left", "shown", "bar", "width"), [
    pytest.param(None, None, "", 0, id="a route without traffic says so and draws no bar"),
    pytest.param(1.0, "100.0 %", "", 100.0, id="an untouched budget draws a full bar"),
    pytest.param(0.1, "10.0 %", "low", 10.0, id="under a quarter left draws a low bar"),
    pytest.param(-2.0, "−200.0 %", "out", 0, id="an overspent budget draws an empty bar marked out"),
])
def test_a_row_shows_the_budget_left_as_people_read_it(left: float | None, shown: str | None, bar: str, width: float) -> None:
    row = overview_row(status(left), report(), ())
    assert (row.budget_left, row.bar_css, row.bar_width) == (shown, bar, width)
    assert row.budget == ("" if left is None else str(left)), "the exact value stays for scripts"


@pytest.mark.parametrize(("seen_for", "words"), [
    pytest.param(timedelta(minutes=50), "over the 50 min seen of 30 days", id="a new route says how little it has seen"),
    pytest.param(timedelta(days=20), None, id="a route seen for most of the period says nothing more"),
])
def test_a_row_says_how_much_of_the_period_its_budget_has_seen(seen_for: timedelta, words: str | None) -> None:
    assert overview_row(status(seen_for=seen_for), report(), ()).seen == words


def test_a_tripping_tier_is_marked_and_explained() -> None:
    [tier] = overview_row(status(trips=True), report(), ()).tiers
    assert (tier.text, tier.css) == ("20.0x", "trips")
    assert tier.title == "tier 5m/1m (page): 20.00x over its long window, trips at 14.4x"


def test_a_row_links_to_its_route_and_says_when_the_budget_runs_out() -> None:
    row = overview_row(status(0.5), report(), ())
    assert row.link == "/ui/route?provider=openai&model=gpt-4o&client=kilo-gateway"
    assert row.exhausted_in == "3.2 h" and overview_row(status(None), report(), ()).exhausted_in == "–"


def test_the_sparkline_is_the_burn_of_each_hour_with_gaps_where_nothing_was_counted() -> None:
    first = END.replace(minute=0) - timedelta(hours=23)
    counts = SloCounts({("error_rate", ROUTE): {first: (100, 1), END.replace(minute=0): (1000, 0)}})
    [row] = overview_view(report(status()), counts, POLICY, asked_filters({})).rows
    assert len(row.burn_24h) == 24 and row.burn_24h[0] == 10.0 and row.burn_24h[-1] == 0.0
    assert set(row.burn_24h[1:-1]) == {None}


@pytest.mark.parametrize(("query", "kept"), [
    pytest.param({}, ["alpha", "beta", "gamma"], id="no filter keeps every row"),
    pytest.param({"client": "beta"}, ["beta"], id="a client filter keeps that client's rows"),
    pytest.param({"state": "incident", "client": ""}, ["alpha"], id="an empty filter is no filter"),
    pytest.param({"model": "<script>"}, [], id="a filter nothing matches keeps no row"),
])
def test_filters_keep_what_the_status_api_keeps(query: dict[str, str], kept: list[str]) -> None:
    statuses = [status(0.1, route=("openai", "gpt-4o", "alpha"), state="incident"),
                status(0.5, route=("openai", "gpt-4o", "beta")), status(0.9, route=("openai", "o3", "gamma"))]
    view = overview_view(report(*statuses), SloCounts({}), POLICY, asked_filters(query))
    assert [row.client for row in view.rows] == kept and view.matching == len(kept)
    clients = next(f for f in view.filters if f.name == "client")
    assert [(o.value, o.selected) for o in clients.options] == [(c, c == query.get("client")) for c in ("alpha", "beta", "gamma")]


def test_the_states_are_counted_among_the_rows_the_filters_keep() -> None:
    statuses = [status(state="incident"), status(slo="time_to_first_token", state="burning"), status(slo="generation_speed")]
    view = overview_view(report(*statuses), SloCounts({}), POLICY, StatusQuery())
    assert view.states == (("incident", 1), ("silenced", 0), ("burning", 1), ("stale", 0), ("ok", 1))


def test_at_most_max_rows_are_shown_but_every_match_is_counted() -> None:
    statuses = [status(route=("openai", f"model-{i}", "c")) for i in range(MAX_ROWS + 3)]
    view = overview_view(report(*statuses), SloCounts({}), POLICY, StatusQuery())
    assert (view.shown, view.matching) == (MAX_ROWS, MAX_ROWS + 3)


def test_a_filter_the_status_api_refuses_is_refused() -> None:
    with pytest.raises(ValidationError):
        asked_filters({"state": "on fire"})


@pytest.mark.parametrize(("query", "asked"), [
    pytest.param({"provider": "openai", "model": "gpt-4o", "client": "c"}, (("openai", "gpt-4o", "c"), "24h"),
                 id="a route without a range is drawn over 24 hours"),
    pytest.param({"provider": "p", "model": "m", "client": "c", "range": "7d"}, (("p", "m", "c"), "7d"),
                 id="a route with a known range is drawn over it"),
    pytest.param({"provider": "openai", "model": "x"}, None, id="a route without a client is refused"),
    pytest.param({"provider": "p", "model": "m", "client": "c", "range": "1y"}, None, id="an unknown range is refused"),
    pytest.param({"provider": "p", "model": "m" * 257, "client": "c"}, None, id="a name longer than ingest takes is refused"),
])
def test_a_route_question_is_taken_or_refused_with_every_rule(query: dict[str, str], asked: Any) -> None:
    if asked is not None:
        assert asked_route(query) == asked
        return
    with pytest.raises(Refused) as refused:
        asked_route(query)
    assert refused.value.title == "Not a route" and refused.value.problems == [
        "provider, model and client: each 1–256 characters", "range: one of 1h, 6h, 24h, 7d"]


@pytest.mark.parametrize(("span", "start", "step"), [
    pytest.param("1h", datetime(2031, 5, 1, 11, 34, tzinfo=timezone.utc), 60, id="an hour is drawn minute by minute"),
    pytest.param("24h", datetime(2031, 4, 30, 12, 30, tzinfo=timezone.utc), 900,
                 id="a day starts at a whole quarter hour and is drawn by quarter hours"),
])
def test_a_range_ends_at_the_current_minute(span: str, start: datetime, step: int) -> None:
    window = route_window(END + timedelta(seconds=56), span, POLICY)
    assert (window.start, window.end, window.step) == (start, END, step)
    assert window.incidents_start <= window.start - timedelta(minutes=360), "incidents of the longest window are shown"


def baseline() -> Baseline:
    return Baseline(Selector("gpt-4o", "openai", "kilo-gateway"), END, "error_rate", True,
                    (PeriodErrors(1, 20_000, 3), PeriodErrors(7, 0, 0)), {},
                    ObjectiveSuggestion(Decimal("0.999"), "the worst error rate is low"),
                    (ThresholdSuggestion("latency_p50", "complete_request_ms", Decimal(50), 900, 2000, "twice the p50",
                                         COMPLETE),
                     ThresholdSuggestion("generation_speed", "time_per_output_token_ms", Decimal(50), 50, 40,
                                         "twice the p50", tpot(16))))


def reads(*incidents: dict[str, Any], points: list[dict[str, Any]] | None = None,
          latency: dict[str, dict[datetime, dict[str, float]]] | None = None) -> RouteReads:
    return RouteReads(points or [], latency or {}, SloCounts({}), SloCounts({}), list(incidents), baseline())


def incident(status: str, resolved: str | None) -> dict[str, Any]:
    return {"id": f"id-{status}", "severity": "page", "slo": "error_rate", "status": status,
            "started_at": "2031-05-01T11:00:00+00:00", "resolved_at": resolved, "peak_burn": 19.25}


def test_a_route_page_shows_its_slos_incidents_baseline_and_suggestions() -> None:
    window = route_window(END, "6h", POLICY)
    view = route_view(ROUTE, window, POLICY, [status(0.25, trips=True, seen_for=timedelta(hours=2))],
                      reads(incident("open", None), incident("resolved", "2031-05-01T11:30:00+00:00")))
    assert view.title == "openai gpt-4o (kilo-gateway)"
    assert [(t.label, t.here) for t in view.tabs] == [("1h", False), ("6h", True), ("24h", False), ("7d", False)]
    assert view.tabs[0].link == "/ui/route?provider=openai&model=gpt-4o&client=kilo-gateway&range=1h"
    [slo] = view.slos
    assert (slo.budget_left, slo.seen, slo.exhausted_in) == ("25.0 %", "over the 2 h seen of 30 days", "3.2 h")
    assert [(t.text, t.threshold, t.css) for t in slo.tiers] == [("5m/1m 20.00x / 0.25x", "14.4", "trips")]
    assert [(i.link, i.started, i.resolved, i.peak_burn) for i in view.incidents] == [
        ("/ui/incidents#incident-id-open", "2031-05-01 11:00 UTC", "–", "19.2x"),
        ("/ui/incidents#incident-id-resolved", "2031-05-01 11:00 UTC", "2031-05-01 11:30 UTC", "19.2x")]
    assert [(b.over, b.requests, b.errors, b.rate) for b in view.baseline] == [
        ("1d", "20,000", "3", "0.015 %"), ("7d", "0", "0", "–")]
    assert (view.objective.text, view.objective.reason) == ("0.999", "the worst error rate is low")
    assert [t.text for t in view.thresholds] == [
        "p50 of complete time now 900 ms, threshold 2,000 ms",
        "p50 of time per output token now 50 ms (20 tokens/s), threshold 40 ms (25 tokens/s)"]
    assert len(view.charts) == 2 + 4 + 2 * len(POLICY.slos), ("traffic, latency and speed, and per SLO burn by tier and "
                                                              "budget left")
    drawn = "".join(view.charts)
    assert 'class="band open"' in drawn and 'class="band past"' in drawn, "incidents are shaded on the charts"
    assert "error budget left over the 2 h seen of 30 days" in drawn


def test_a_runbook_is_linked_for_the_route_or_said_to_be_missing() -> None:
    document = {**DEFAULT_POLICY, "slos": [{**DEFAULT_POLICY["slos"][0], "runbook_url": "https://runbooks.example/{slo}?m={model}"},
                                           *DEFAULT_POLICY["slos"][1:]]}
    policy = policy_from_document(document)
    view = route_view(ROUTE, route_window(END, "1h", policy), policy,
                      [status(), status(slo="time_to_first_token")], reads())
    assert [(r.title, r.link) for r in view.runbooks] == [
        ("Error Rate", "https://runbooks.example/error_rate?m=gpt-4o"), ("Time to first token (median)", None)]


def chart(view: Any, title: str) -> str:
    [found] = [str(c) for c in view.charts if f"<figcaption>{title}<" in str(c)]
    return found


def heights(drawn: str) -> dict[str, float]:
    """Each line's first y and each threshold's y (smaller is higher on the chart)."""
    lines = {m[1]: float(m[2]) for m in re.finditer(r'data-series="([^"]+)" data-points="\d+" d="M[\d.]+,([\d.]+)', drawn)}
    return {**lines, **{m[1]: float(m[2]) for m in re.finditer(r'data-threshold="([^"]+)" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"',
                                                               drawn)}}


def test_a_route_with_streamed_traffic_charts_time_to_first_token_and_output_tokens_per_second() -> None:
    window = route_window(END, "1h", POLICY)
    minutes = [window.start + timedelta(minutes=m) for m in range(60)]
    points = [{"t": t.isoformat(), "requests": 10, "errors": {"4xx": 0, "5xx": 0}} for t in minutes]
    streamed = minutes[30:]  # streamed answers from half an hour ago
    latency = {"complete_ms": {t: {"p50": 3000.0, "p90": 6000.0, "p99": 9000.0} for t in minutes},
               "ttft_ms": {t: {"p50": 800.0, "p90": 2000.0, "p99": 70_000.0} for t in streamed},
               "tpot_ms": {t: {"p50": 25.0, "p90": 50.0, "p99": 100.0} for t in streamed}}
    view = route_view(ROUTE, window, POLICY, [], reads(points=points, latency=latency))

    first_token = chart(view, "Latency, time to first token (streamed requests)")
    assert re.findall(r'data-series="(p\d+)" data-points="(\d+)"', first_token) == [("p50", "30"), ("p90", "30"),
                                                                                   ("p99", "30")]
    found = heights(first_token)
    limit = found["time_to_first_token: p50 ≤ 60,000 ms"]
    assert found["p50"] > limit > found["p99"], "the p99 of 70 s is drawn above the SLO's 60 s, the p50 below"
    assert "time_to_first_token" not in chart(view, "Latency, time to first byte"), "drawn where it is judged only"

    speed = chart(view, "Output tokens per second (streamed answers of 16+ tokens)")
    assert re.findall(r'data-series="([^"]+)" data-points="(\d+)"', speed) == [
        ("p50", "30"), ("p90: slowest 10 %", "30"), ("p99: slowest 1 %", "30")]
    found = heights(speed)
    limit = found["generation_speed: p50 ≥ 20 tokens/s (50 ms per token)"]
    # 1000 / 25 ms = 40 tokens/s above the line; the slowest 10 % at exactly 20; the slowest 1 % at 10, below it.
    assert found["p50"] < limit == found["p90: slowest 10 %"] < found["p99: slowest 1 %"]
