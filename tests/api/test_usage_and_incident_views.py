"""What the usage and incidents pages show, and what the silence forms take, from plain data and a time (no HTTP)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from alerting.incidents.silences import Silence
from api.pages.guard import Refused
from api.pages.incidents import incidents_view
from api.pages.silence_forms import added, expirable, silence_from_form
from api.pages.usage import asked_usage, table_csv, usage_range, usage_view

NOW = datetime(2031, 5, 1, 12, 34, 56, tzinfo=timezone.utc)


def entry(name: str, requests: int, usd: float | None, unpriced: int = 0) -> dict[str, Any]:
    """One group (or the total) as `/v1/usage/stats` answers it."""
    return {"model": name, "requests": requests, "errors": {"4xx": 2, "5xx": 1, "total": 3}, "error_rate": 3 / requests,
            "complete_ms": {"p50": 900.0, "p95": 1500.5, "p99": None}, "ttfb_ms": {"p50": 120.0, "p95": 300.0, "p99": 400.0},
            "ttft_ms": {"p50": 310.0, "p95": 1240.5, "p99": 2480.0},
            "output_tokens_per_second": {"p50": 62.5, "p95": 25.0, "p99": 12.3} if usd is not None else
            {"p50": None, "p95": None, "p99": None},
            "tokens": {"input": 12_000, "output": 3_400, "total": 15_400},
            "cost": {"usd": usd, "priced_requests": requests - unpriced, "unpriced_requests": unpriced}}


@pytest.mark.parametrize(("query", "asked"), [
    pytest.param({}, ("24h", "model"), id="no question is the last day by model"),
    pytest.param({"range": "7d", "group_by": "client"}, ("7d", "client"), id="a known range and grouping are taken"),
    pytest.param({"group_by": "user"}, None, id="grouping by user is refused"),
    pytest.param({"range": "forever"}, None, id="an unknown range is refused"),
])
def test_a_usage_question_is_taken_or_refused_with_every_rule(query: dict[str, str], asked: Any) -> None:
    if asked is not None:
        assert asked_usage(query) == asked
        return
    with pytest.raises(Refused) as refused:
        asked_usage(query)
    assert refused.value.problems == ["range: one of 1h, 6h, 24h, 7d", "group_by: model, provider or client"]


def test_the_usage_page_shows_totals_rows_and_cost_bars_in_the_tables_money_format() -> None:
    start, end = usage_range(NOW, "24h")
    assert (start, end) == (datetime(2031, 4, 30, 12, 34, tzinfo=timezone.utc), datetime(2031, 5, 1, 12, 34, tzinfo=timezone.utc))
    groups = [entry("gpt-4o", 3000, 12.5), entry("free-model", 100, None, unpriced=100), entry("o3", 1000, 1234.5)]
    view = usage_view("24h", "model", start, end, groups, entry("", 5100, 1247.0, unpriced=100), "o11y.usage_1h", [])
    assert view.window == "2031-04-30 12:34 UTC – 2031-05-01 12:34 UTC"
    totals = view.totals
    assert totals is not None and (totals.requests, totals.cost, totals.unpriced) == ("5,100", "$1,247.00", "100")
    assert totals.complete == "900 ms / 1,500 ms / –"
    assert [(r.name, r.requests, r.requests_text, r.error_rate, r.cost) for r in view.rows] == [
        ("gpt-4o", 3000, "3,000", "0.10 %", "$12.50"), ("free-model", 100, "100", "3.00 %", "unpriced"),
        ("o3", 1000, "1,000", "0.30 %", "$1,234.50")]
    assert [(r.complete, r.ttft, r.speed) for r in view.rows[:2]] == [
        ("0.9 / 1.5 / – s", "0.31 / 1.2 / 2.5 s", "62 / 25 / 12"), ("0.9 / 1.5 / – s", "0.31 / 1.2 / 2.5 s", "– / – / –")]
    bars = str(view.cost_bars)
    assert bars.index("o3") < bars.index("gpt-4o") < bars.index("free-model"), "most expensive first, unpriced last"
    assert ">$1,234.50</text>" in bars and ">unpriced</text>" in bars
    assert [(t.label, t.here) for t in view.groups] == [("model", True), ("provider", False), ("client", False)]
    assert view.table_csv == "/ui/usage?range=24h&group_by=model&format=csv"
    assert view.export == ("/v1/usage/export?from=2031-04-30T12%3A34%3A00%2B00%3A00&to=2031-05-01T12%3A34%3A00%2B00%3A00"
                           "&format=csv")


def test_a_range_without_requests_shows_neither_totals_nor_cost_bars() -> None:
    view = usage_view("1h", "client", *usage_range(NOW, "1h"), [], None, "o11y.api_metrics", [])
    assert (view.totals, view.cost_bars, view.rows) == (None, None, ())
    assert len(view.charts) == 3, "requests, error rate and latency are drawn, empty"


def test_the_table_as_csv_keeps_exact_numbers_and_defuses_formulas() -> None:
    lines = table_csv([entry("=cmd|' /C calc'!A0", 4000, 12.5)], "model").splitlines()
    assert lines[0].startswith('"model","requests","errors_4xx"') and lines[0].endswith('"cost_usd","unpriced_requests"')
    assert "ttft_p95_ms" in lines[0] and "output_tokens_per_second_p95" in lines[0]
    assert lines[1] == ("\"'=cmd|' /C calc'!A0\",4000,2,1,0.00075,900.0,1500.5,\"\",310.0,1240.5,2480.0,62.5,25.0,12.3,"
                        "12000,3400,15400,12.5,0")


def incident(status: str, **more: Any) -> dict[str, Any]:
    """One incident as `/v1/incidents` answers it."""
    return {"id": f"id-{status}", "severity": "page", "slo": "error_rate", "provider": "openai", "model": "gpt-4o",
            "client": "kilo-gateway", "status": status, "tier": "5m/1m", "started_at": "2031-05-01T11:00:00+00:00",
            "opened_at": "2031-05-01T11:01:00+00:00", "resolved_at": None, "peak_burn": 15.04, "notifications": 2, **more}


def silence(**more: Any) -> Silence:
    values: dict[str, Any] = {"id": "s1", "slo": "", "severity": "", "provider": "", "model": "gpt-*", "client": "beta",
                              "starts_at": NOW - timedelta(hours=1), "ends_at": NOW + timedelta(hours=1), "created_by": "alice",
                              "comment": "maintenance", "expired_by": "", "revision": 0}
    return Silence(**{**values, **more})


@pytest.mark.parametrize(("role", "offered"), [
    pytest.param("admin", True, id="an admin's session is offered the silence forms"),
    pytest.param("read", False, id="a read session is offered no form"),
])
def test_the_incidents_page_splits_open_from_resolved_and_says_what_a_silence_matches(role: Any, offered: bool) -> None:
    open_one, resolved = incident("open"), incident("resolved", resolved_at="2031-05-01T11:30:00+00:00")
    later = silence(id="s2", starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(hours=2), model="", slo="error_rate")
    view = incidents_view([open_one], [open_one, resolved], [silence(), later], NOW, role, "silence s1 expired")
    assert [i.id for i in view.open] == ["id-open"] and [i.id for i in view.history] == ["id-resolved"]
    [row] = view.open
    assert (row.route, row.link, row.started, row.peak_burn) == (
        "openai gpt-4o (kilo-gateway)", "/ui/route?provider=openai&model=gpt-4o&client=kilo-gateway", "2031-05-01 11:00 UTC",
        "15.0x")
    assert row.matchers == (("slo", "error_rate"), ("severity", "page"), ("provider", "openai"), ("model", "gpt-4o"),
                            ("client", "kilo-gateway")), "a silence made from the row matches exactly this incident"
    assert [(s.state, s.matches) for s in view.silences] == [("active", "model=gpt-* client=beta "),
                                                             ("pending", "slo=error_rate client=beta ")]
    assert (view.history[0].resolved, view.may_silence, view.notice) == ("2031-05-01 11:30 UTC", offered, "silence s1 expired")


@pytest.mark.parametrize(("form", "problem"), [
    pytest.param({"client": "beta", "hours": "5", "comment": "x"}, "hours: one of 1, 4, 24",
                 id="a length the form does not offer is refused"),
    pytest.param({"client": "beta", "comment": "x"}, "invalid literal for int() with base 10: ''",
                 id="a form without a length is refused"),
    pytest.param({"hours": "1", "comment": "x"}, "body: a silence must name at least one of slo, provider, model, client: "
                 "one that matches every route would silence the whole pager", id="a silence of everything is refused"),
    pytest.param({"client": "beta", "hours": "1", "comment": " "}, "comment: must not be blank or hold control characters",
                 id="a blank reason is refused"),
])
def test_a_silence_form_is_refused_with_its_reason(form: dict[str, str], problem: str) -> None:
    with pytest.raises(Refused) as refused:
        silence_from_form(form, "alice", NOW)
    assert (refused.value.title, refused.value.status, refused.value.problems) == ("Silence refused", 400, [problem])


def test_a_silence_form_silences_its_incident_from_now_for_the_hours_chosen() -> None:
    made = silence_from_form({"csrf": "t", "slo": "error_rate", "severity": "page", "client": "beta", "model": "",
                              "hours": "4", "comment": "on it"}, "alice", NOW)
    assert (made.slo, made.severity, made.client, made.model, made.created_by, made.comment) == (
        "error_rate", "page", "beta", "", "alice", "on it")
    assert (made.starts_at, made.ends_at) == (NOW.replace(microsecond=0), NOW + timedelta(hours=4))
    assert added(made) == f"silence {made.id} holds until 16:34 UTC"


@pytest.mark.parametrize("found", [
    pytest.param(None, id="a silence that does not exist cannot be expired"),
    pytest.param(silence(expired_by="bob"), id="an expired silence cannot be expired again"),
    pytest.param(silence(ends_at=NOW - timedelta(minutes=1)), id="an ended silence cannot be expired"),
])
def test_only_a_silence_that_still_holds_or_will_can_be_expired(found: Silence | None) -> None:
    with pytest.raises(Refused) as refused:
        expirable(found, "s1", NOW)
    assert (refused.value.status, refused.value.problems) == (404, ["silence s1 does not exist or has already ended"])
    assert expirable(silence(), "s1", NOW) == silence() and expirable(silence(starts_at=NOW + timedelta(hours=1)), "s1", NOW)
