"""Golden files for what people and ClickHouse read: Slack bodies and the tick's SQL.

Regenerate after an intended change with: O11Y_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from alerting.burn_rate import WindowCount
from alerting.decisions import TierReading, Trip
from alerting.slack_messages import alert_message, resolve_message
from alerting.window_query import build_query
from schemas.slo_spec import DEFAULT_POLICY, default_policy, policy_from_document

GOLDEN = Path(__file__).parent / "golden"
POLICY = default_policy()
ERROR, P50, P90 = POLICY.slos
PAGE, _, TICKET = ERROR.windows


def check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("O11Y_UPDATE_GOLDEN"):
        path.write_text(actual)
    assert path.exists(), f"missing golden file {path}: run with O11Y_UPDATE_GOLDEN=1"
    assert actual == path.read_text()


def reading(slo: object, window: object, bad: int, total: int, percentiles: tuple[float, float] | None = None) -> TierReading:
    return TierReading(slo, window, ("openai", "anthropic/claude-sonnet-4.5", "kilo-gateway"),  # type: ignore[arg-type]
                       WindowCount(bad, total), WindowCount(bad // 4, total // 5), percentiles)


CASES = {
    "slack_page_error_rate.json": alert_message(Trip(reading(ERROR, PAGE, 37, 412), "page", False)),
    "slack_ticket_downgraded_error_rate.json": alert_message(Trip(reading(ERROR, PAGE, 37, 412), "ticket", True)),
    "slack_ticket_latency_p90.json": alert_message(Trip(reading(P90, TICKET, 1200, 86_000, (2300.0, 16250.0)), "ticket", False)),
    "slack_resolve_error_rate.json": resolve_message(reading(ERROR, PAGE, 0, 512), "page"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_slack_bodies_match_their_golden_files(name: str) -> None:
    check(name, json.dumps(CASES[name], indent=2, ensure_ascii=False) + "\n")


def test_the_tick_query_reads_the_rollup_once() -> None:
    check("tick_query_rollup.sql", build_query(POLICY, datetime(2026, 11, 22, 16, 30, 5, tzinfo=timezone.utc)) + "\n")


def test_an_off_bucket_latency_threshold_reads_the_raw_table_exactly() -> None:
    document = {**DEFAULT_POLICY, "slos": [{"name": "ttfb", "title": "TTFB", "latency": {"field": "ttfb_ms", "threshold_ms": 1234}}]}
    check("tick_query_raw.sql", build_query(policy_from_document(document), datetime(2026, 11, 22, 16, 30, 5, tzinfo=timezone.utc)) + "\n")
