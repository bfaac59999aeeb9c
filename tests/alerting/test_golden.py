"""Golden files for what people and ClickHouse read: every Slack message kind and the tick's SQL.

Regenerate after an intended change with: O11Y_UPDATE_GOLDEN=1 python -m pytest tests/alerting/test_golden.py
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from alerting.delivery.slack_messages import alert_message, group_message, resolve_message
from alerting.delivery.stale_data import STALE_KEY, fresh_message, stale_message
from alerting.incidents.incidents import Incident, Notice
from alerting.rules.burn_rate import WindowCount
from alerting.rules.decisions import TierReading
from alerting.rules.freshness import Freshness, PartitionProgress
from alerting.rules.window_query import WindowCounts, build_query
from schemas.alert_policy import DEFAULT_POLICY, default_policy, policy_from_document, seed_policy
from schemas.slo_spec import BurnWindow, SloSpec

GOLDEN = Path(__file__).parent / "golden"
POLICY = seed_policy()
ERROR, P50, P90 = POLICY.slos
LLM = default_policy()
_, TTFT, SPEED, SESSIONS, TOOLS = LLM.slos
PAGE, SLOW_PAGE, TICKET = ERROR.windows
END = datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc)
DIMENSION = ("openai", "anthropic/claude-sonnet-4.5", "kilo-gateway")
LINKED = policy_from_document({**DEFAULT_POLICY, "slos": [{
    **DEFAULT_POLICY["slos"][0], "runbook_url": "https://wiki.example/runbooks/{slo}",
    "dashboard_url": "https://o11y.example/dimension/{provider}/{model}/{client}?incident={incident_id}"}]}).slos[0]
RATIO = policy_from_document({**DEFAULT_POLICY, "slos": [{"name": "slow_requests", "title": "Slow requests",
                                                         "kind": "latency_ratio", "latency": {"threshold_ms": 15000}}]}).slos[0]


def check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("O11Y_UPDATE_GOLDEN"):
        path.write_text(actual)
    assert path.exists(), f"missing golden file {path}: run with O11Y_UPDATE_GOLDEN=1"
    assert actual == path.read_text()


def reading(slo: SloSpec, window: BurnWindow, long: tuple[int, int], short: tuple[int, int], **details: Any) -> TierReading:
    counts = {(slo.name, window.long_minutes): WindowCount(*long), (slo.name, window.short_minutes): WindowCount(*short)}
    return TierReading(slo, window, DIMENSION, END, WindowCounts(counts, details.get("classes", {}), details.get("over", {}),
                                                             details.get("requests", {}), {}))


def incident(severity: str = "page", slo: str = "error_rate", **fields: Any) -> Incident:
    values: dict[str, Any] = {"id": "6f1c2a9e-5b1d-4c1e-9d7a-2f0b8e4c1a11", "key": (severity, slo, *DIMENSION),
                              "status": "open", "tier": "5m/1m", "started_at": END - timedelta(minutes=4),
                              "opened_at": END, "judged_at": END}
    return Incident(**{**values, **fields})


OPEN = reading(ERROR, PAGE, (37, 412), (12, 80), classes={("error_rate", 5): (7, 28, 2)})
P90_OVER = {("latency_p90", m): tuple([8000, 6000, 4000, 3000, 2100, 1600, 1200, 900, 700, 520, 400, 180, 60, 10, 0, 0, 0, 0])
            for m in (30, 360)}
P90_READING = reading(
    P90, TICKET, (14, 360), (3, 30), over=P90_OVER, requests={("latency_p90", 360): 8600, ("latency_p90", 30): 8600}
)
SPEED_OVER = {("generation_speed", m): tuple([n, n, n, n, n, n, n, n, n, n, n, int(n * 0.8), int(n * 0.55), int(n * 0.3),
                                              int(n * 0.1), 3, 0, 0, 0, 0]) for m, n in ((1, 240), (5, 1180))}
SPEED_READING = reading(SPEED, PAGE, (5, 5), (1, 1), over=SPEED_OVER,
                        requests={("generation_speed", 5): 1180, ("generation_speed", 1): 240})
TTFT_OVER = {("time_to_first_token", m): tuple([n] * 13 + [int(n * 0.7), int(n * 0.2), 2, 0, 0]) for m, n in ((1, 95),
                                                                                                          (5, 480))}
TTFT_READING = reading(TTFT, PAGE, (5, 5), (1, 1), over=TTFT_OVER,
                       requests={("time_to_first_token", 5): 480, ("time_to_first_token", 1): 95})
RESOLVED = incident(status="resolved", resolved_at=END, bad=212, total=2950, peak_burn=89.8, judged_at=END)
FRESHNESS = Freshness(
    (
        PartitionProgress(0, END - timedelta(minutes=1), 0, END),
        PartitionProgress(3, END - timedelta(minutes=6, seconds=12), 1204, END),
        PartitionProgress(4, None, 52000, END),
    ),
    END + timedelta(seconds=5),
    timedelta(seconds=120),
)
STALE = Incident("0d7e3b52-1a4f-4b8e-9c2d-7e6f5a4b3c2d", STALE_KEY, "open", "freshness", END - timedelta(minutes=6), END, END)

CASES = {
    "slack_page_error_rate.json": alert_message(Notice("opened", incident(), OPEN), ("gpt-4o", "o3-mini")),
    "slack_page_error_rate_links.json": alert_message(
        Notice("opened", incident(), TierReading(LINKED, LINKED.windows[0], DIMENSION, END, OPEN.counts))
    ),
    "slack_page_error_rate_pages.json": alert_message(Notice("opened", incident(), OPEN), (), "https://o11y.example.com/"),
    "slack_resolve_error_rate_pages.json": resolve_message(
        Notice("resolved", RESOLVED, reading(ERROR, PAGE, (1, 512), (0, 98))), "https://o11y.example.com"),
    "slack_ticket_downgraded_error_rate.json": alert_message(Notice("opened", incident("ticket"), OPEN, downgraded=True)),
    "slack_page_reopened_error_rate.json": alert_message(
        Notice("reopened", incident(reopened=(END - timedelta(minutes=20), END)), OPEN)
    ),
    "slack_ticket_latency_p90.json": alert_message(
        Notice("opened", incident("ticket", "latency_p90", tier="360m/30m"), P90_READING)
    ),
    "slack_page_generation_speed.json": alert_message(
        Notice("opened", incident(slo="generation_speed"), SPEED_READING)
    ),
    "slack_page_time_to_first_token.json": alert_message(
        Notice("opened", incident(slo="time_to_first_token"), TTFT_READING)
    ),
    "slack_page_latency_ratio.json": alert_message(
        Notice("opened", incident(slo="slow_requests"), reading(RATIO, RATIO.windows[0], (60, 300), (20, 100)))
    ),
    "slack_resolve_error_rate.json": resolve_message(Notice("resolved", RESOLVED, reading(ERROR, PAGE, (1, 512), (0, 98)))),
    "slack_resolve_no_traffic.json": resolve_message(Notice("resolved", RESOLVED, reading(ERROR, PAGE, (3, 40), (0, 0)))),
    "slack_group_page.json": group_message(
        "page",
        [
            Notice(
                "opened",
                incident(key=("page", "error_rate", "openrouter", f"made-up-{i}", "kilo-gateway")),
                reading(ERROR, PAGE, (50, 100), (10, 20)),
            )
            for i in range(23)
        ],
        "on openrouter",
    ),
    "slack_group_resolve.json": group_message(
        "page",
        [
            Notice(
                "resolved",
                incident(
                    key=("page", "error_rate", "openrouter", f"made-up-{i}", "kilo-gateway"),
                    status="resolved",
                    resolved_at=END,
                    peak_burn=500.0,
                ),
                None,
            )
            for i in range(4)
        ],
        "on openrouter",
    ),
    "slack_stale.json": stale_message(STALE, FRESHNESS, "api-metrics", 2),
    "slack_fresh.json": fresh_message(
        Incident(
            STALE.id, STALE_KEY, "resolved", "freshness", STALE.started_at, END, END, resolved_at=END + timedelta(minutes=3)
        ),
        "api-metrics",
    ),
}


HOSTILE = ("<!here> & co", "<!channel> <https://evil.example/login|Open runbook>", "<@U024BE7LH>")
HOSTILE_KEY = ("page", "error_rate", *HOSTILE)
HOSTILE_READING = TierReading(LINKED, LINKED.windows[0], HOSTILE, END, OPEN.counts)
SESSION_ROUTE = ("vscode", "anthropic/claude-sonnet-4.5", "kilo-sessions")
TOOL_ROUTE = ("execute_command", "cli", "kilo-sessions")


def session_reading(slo: SloSpec, route: tuple[str, str, str], long: tuple[int, int], short: tuple[int, int]) -> TierReading:
    window = slo.windows[0]
    counts = {(slo.name, window.long_minutes): WindowCount(*long), (slo.name, window.short_minutes): WindowCount(*short)}
    return TierReading(slo, window, route, END, WindowCounts(counts, {}, {}, {}, {}))


CASES["slack_page_session_failures.json"] = alert_message(Notice(
    "opened", incident(slo="session_failures", key=("page", "session_failures", *SESSION_ROUTE), tier="15m/3m"),
    session_reading(SESSIONS, SESSION_ROUTE, (41, 120), (15, 24))), (), "https://o11y.example.com")
CASES["slack_ticket_tool_errors.json"] = alert_message(Notice(
    "opened", incident("ticket", "tool_errors", key=("ticket", "tool_errors", *TOOL_ROUTE), tier="30m/3m"),
    session_reading(TOOLS, TOOL_ROUTE, (310, 600), (31, 60))), (), "https://o11y.example.com")
CASES["slack_page_hostile_names.json"] = alert_message(
    Notice("opened", incident(key=HOSTILE_KEY), HOSTILE_READING, held_by="Held back by silence s1 by <!channel> (x)"),
    ("<!everyone>",), "https://o11y.example.com")
HOSTILE_BODIES = [
    CASES["slack_page_hostile_names.json"],
    resolve_message(Notice("resolved", incident(key=HOSTILE_KEY, status="resolved", resolved_at=END), HOSTILE_READING)),
    group_message("page", [Notice("opened", incident(key=HOSTILE_KEY), HOSTILE_READING)] * 4, f"on {HOSTILE[0]}"),
    group_message("page", [Notice("resolved", incident(key=HOSTILE_KEY, status="resolved", resolved_at=END), None)] * 4,
                  f"for {HOSTILE[2]}"),
]


@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=["page", "resolve", "group", "group resolve"])
def test_names_from_events_are_text_in_slack_never_a_mention_or_a_link(body: dict[str, Any]) -> None:
    """Provider, model and client come from gateways: `<!channel>` must not ping a channel, and `<url|text>` must
    not forge a link, wherever mrkdwn is read (the notification text, sections, fields, context)."""
    read_as_mrkdwn = [body["text"], *mrkdwn_texts(body["blocks"])]
    for forged in ("<!here>", "<!channel>", "<!everyone>", "<https://evil", "<@U024BE7LH>"):
        assert all(forged not in text for text in read_as_mrkdwn)
    assert any("&lt;!channel&gt; &lt;https://evil.example/login|Open runbook&gt;" in text for text in read_as_mrkdwn)


def mrkdwn_texts(node: Any) -> list[str]:
    """Every text Slack reads as mrkdwn (a plain_text header shows mentions and links as typed)."""
    if isinstance(node, list):
        return [text for item in node for text in mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") == "mrkdwn" else []
    return own + [text for value in node.values() for text in mrkdwn_texts(value)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_slack_bodies_match_their_golden_files(name: str) -> None:
    check(name, json.dumps(CASES[name], indent=2, ensure_ascii=False) + "\n")


def test_the_tick_query_reads_the_rollup_once() -> None:
    check("tick_query_rollup.sql", build_query(POLICY, END) + "\n")


def test_the_llm_native_slos_read_the_rollup_once() -> None:
    check("tick_query_llm_latency.sql", build_query(LLM, END) + "\n")


def test_a_min_output_tokens_the_rollup_does_not_count_reads_the_raw_table_exactly() -> None:
    document = {**DEFAULT_POLICY, "slos": [{**DEFAULT_POLICY["slos"][2], "latency": {
        **DEFAULT_POLICY["slos"][2]["latency"], "min_output_tokens": 20}}]}
    check("tick_query_raw_tpot.sql", build_query(policy_from_document(document), END) + "\n")


def test_an_off_bucket_latency_threshold_reads_the_raw_table_exactly() -> None:
    document = {
        **DEFAULT_POLICY,
        "slos": [
            {
                "name": "ttfb",
                "title": "TTFB",
                "kind": "latency_percentile",
                "latency": {"field": "ttfb_ms", "threshold_ms": 1234, "percentile": 90},
            }
        ],
    }
    check("tick_query_raw.sql", build_query(policy_from_document(document), END) + "\n")


def test_the_percentile_rule_in_sql_agrees_with_the_python_rule(clickhouse: Any) -> None:
    """ClickHouse decides bad minutes in the tick query; the same rule in Python renders messages and is property-tested."""
    from fractions import Fraction

    from alerting.rules.burn_rate import percentile_exceeds
    from alerting.rules.window_query import percentile_exceeds_sql

    for quantile in (Fraction(1, 2), Fraction(9, 10), Fraction(999, 1000)):
        sql = percentile_exceeds_sql("o", "n", quantile)
        rows = clickhouse.query(
            f"SELECT n, o, {sql} FROM (SELECT number % 60 AS n, intDiv(number, 60) AS o FROM numbers(3600)) WHERE o <= n"
        ).result_rows
        assert all(bool(bad) is percentile_exceeds(o, n, quantile) for n, o, bad in rows)
