"""The pages' session cookie and their SVG charts, without a browser."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import SecretStr

from api.auth import Caller
from api.pages.axis import number
from api.pages.formats import usd
from api.pages.svg import Chart, Series, Threshold, bars, line_chart, sparkline
from api.sessions import SESSION_HOURS, Sessions
from runtime.settings import Settings

NOW = datetime(2031, 5, 1, 12, tzinfo=timezone.utc)


def settings(read: str = "read-token-0123456789abcdef") -> Settings:
    return Settings(api_tokens={"dashboards": [SecretStr(read)]}, admin_tokens={"alice": [SecretStr("admin-token-0123456789")]})


def test_a_session_names_its_caller_until_it_expires_and_cannot_be_forged() -> None:
    sessions = Sessions(settings())
    cookie = sessions.issue(Caller("alice", "admin"), NOW)
    assert "admin-token" not in cookie
    session = sessions.read(cookie, NOW + timedelta(hours=SESSION_HOURS - 1))
    assert session is not None and session.caller == Caller("alice", "admin")
    assert session.expires_at == NOW + timedelta(hours=SESSION_HOURS)
    other = sessions.read(sessions.issue(Caller("alice", "admin"), NOW), NOW)
    assert other is not None and other.session_id != session.session_id, "each sign-in is a session of its own"
    assert sessions.read(cookie, NOW + timedelta(hours=SESSION_HOURS)) is None
    mac = cookie.split(".")[1]
    forged = Sessions(settings()).issue(Caller("mallory", "admin"), NOW).split(".")[0] + "." + mac
    assert sessions.read(forged, NOW) is None and sessions.read("garbage", NOW) is None and sessions.read(None, NOW) is None
    assert Sessions(settings(read="rotated-token-0123456789")).read(cookie, NOW) is None, "rotating a token signs out"
    assert sessions.csrf_ok(cookie, sessions.csrf(cookie)) and not sessions.csrf_ok(cookie, "x")
    assert not sessions.csrf_ok(None, sessions.csrf(cookie))


def test_a_chart_breaks_its_line_at_gaps_and_escapes_names() -> None:
    points = [(NOW + timedelta(minutes=i), None if i in (3, 4) else float(i)) for i in range(10)]
    svg = str(line_chart(Chart("<b>errors</b>", [Series("<script>", points)], NOW, NOW + timedelta(minutes=10), "%",
                               [Threshold("budget", 2.0)])))
    assert 'data-points="8"' in svg and svg.count(" M") + svg.count('"M') == 2, "two runs of points around the gap"
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;errors" in svg
    assert 'data-threshold="budget"' in svg
    assert 'data-points="2"' in str(sparkline([None, 0.5, None, 3.0]))
    assert "spark hot" in str(sparkline([0.1, 2.0])) and "spark hot" not in str(sparkline([2.0, 0.1]))


@pytest.mark.parametrize(("value", "unit", "text"), [
    (-50.0, "%", "−5,000 %"), (-129.29, "%", "−12,929 %"), (0.001, "%", "0.1 %"), (0.30000000000000004, "%", "30 %"),
    (0.0005, "%", "0.05 %"), (1e-7, "%", "0.00001 %"), (1000.0, "x", "1,000x"), (0.1, "x", "0.1x"), (14.4, "x", "14.4x"),
    (5000.0, "ms", "5,000 ms"), (12_500.0, "", "12.5k"), (3.2e9, "", "3.2G"), (0.0, "%", "0 %"), (-2.5, "", "−2.5"),
])
def test_axis_labels_are_numbers_people_read(value: float, unit: str, text: str) -> None:
    assert number(value, unit) == text


def test_cost_bars_write_money_as_the_tables_do() -> None:
    svg = str(bars([("claude-sonnet-4-5-20250929-a-very-long-name", 107.71), ("gpt-4o", 1234.5), ("free", None)], usd))
    assert [usd(107.71), usd(1234.5), usd(None)] == ["$107.71", "$1,234.50", "unpriced"]
    assert all(f">{text}</text>" in svg for text in ("$107.71", "$1,234.50", "unpriced")), svg
    assert "107.7 $" not in svg and "<title>claude-sonnet-4-5-20250929-a-very-long-name</title>" in svg
