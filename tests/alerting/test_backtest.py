"""The backtest replays stored minutes through the production evaluator: it must decide exactly what the evaluator
decided tick by tick over the same history, and say what a candidate policy changes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from alerting.backtest.minutes import read_minutes, specs_of
from alerting.backtest.replay import compare, history_start, replay
from alerting.backtest.report import report_dict, report_table
from alerting.incidents.alert_log import Decision
from alerting.incidents.silences import SilenceRequest
from alerting.policy.store import PolicyStore
from schemas.alert_policy import DEFAULT_POLICY, AlertPolicy, policy_from_document, seed_policy
from support.alerting_harness import comparable, make_evaluator
from support.timeline import Timeline


def two_hours(clickhouse: Any) -> tuple[Timeline, dict[str, str]]:
    """Four routes over two hours: a page that re-opens, a slow route (latency pages), a ticket-only client, a silenced
    route, and quiet traffic beside them."""
    tag = uuid.uuid4().hex[:6]
    models = {name: f"{name}-{tag}" for name in ("flaky", "slow", "batch", "held", "quiet")}
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 120, 100, model=models["quiet"])
    timeline.traffic(0, 20, 100, model=models["flaky"])
    timeline.traffic(20, 30, 100, 0.15, model=models["flaky"])
    timeline.traffic(30, 38, 100, model=models["flaky"])
    timeline.traffic(38, 42, 100, 0.15, model=models["flaky"])
    timeline.traffic(42, 120, 100, 0.002, model=models["flaky"])
    for minute in range(0, 120):
        slow = 50 <= minute < 62
        timeline.requests(minute, 30, complete_ms=40000 if slow else 800, model=models["slow"])
    timeline.traffic(0, 120, 50, 0.03, model=models["batch"], client="batch-jobs")
    timeline.traffic(0, 120, 100, 0.2, model=models["held"])
    return timeline, models


def test_the_backtest_decides_what_the_evaluator_decided_tick_by_tick(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    timeline, models = two_hours(clickhouse)
    policy = seed_policy()  # complete-time SLOs: the slow route pages on them
    evaluator = make_evaluator(clickhouse, redis_client, slack, policy)
    silence = SilenceRequest(model=models["held"], starts_at=timeline.base, ends_at=timeline.base + timedelta(minutes=90),
                             comment="upstream incident").silence("alice", timeline.base)
    PolicyStore(clickhouse).save_silence(silence, timeline.base)
    live: list[Decision] = []
    for minute in range(1, 121):
        live += evaluator.evaluate_tick(timeline.at(minute))

    start, end = timeline.base, timeline.base + timedelta(minutes=120)
    minutes = read_minutes(clickhouse, specs_of(policy), history_start(start, policy), end)
    replayed = replay(minutes, policy, [silence], start, end, keep_log=True)

    ours = [d for d in live if d.model in models.values()]
    assert {d.decision for d in ours} >= {"fired", "delivered", "resolved", "suppressed", "silenced"}
    assert {d.slo for d in ours if d.decision == "delivered"} == {"error_rate", "latency_p50", "latency_p90"}
    assert comparable([d for d in replayed.log if d.model in models.values()]) == comparable(ours)
    sent = {severity: sum(days.values()) for severity, days in replayed.sent.items()}
    posted = [severity for severity, _ in slack.posts]
    assert sent == {"page": posted.count("page"), "ticket": posted.count("ticket")}
    stored = clickhouse.query(
        "SELECT severity, slo, model, opened_at, resolved_at FROM o11y.incidents FINAL WHERE model IN {m:Array(String)} "
        "ORDER BY opened_at, severity, slo, model", parameters={"m": list(models.values())}).result_rows
    last_spans = {}
    for span in replayed.spans:
        last_spans[span.incident_id] = span  # the stored row is an incident's last state: its last opening
    spans = sorted(((s.key[0], s.key[1], s.key[3], s.opened_at.replace(tzinfo=None),
                     s.resolved_at.replace(tzinfo=None) if s.resolved_at else None) for s in last_spans.values()),
                   key=lambda r: (r[3], r[0], r[1], r[2]))
    assert spans == [tuple(row) for row in stored]


def test_a_candidate_that_loosens_one_models_objective_shows_its_incidents_removed(clickhouse: Any) -> None:
    timeline, models = two_hours(clickhouse)
    current = policy_from_document(DEFAULT_POLICY)
    candidate: AlertPolicy = policy_from_document(
        {**DEFAULT_POLICY, "overrides": [{"match": {"model": models["flaky"], "slo": "error_rate"}, "objective": "0.95"}]})
    start, end = timeline.base, timeline.base + timedelta(minutes=120)
    minutes = read_minutes(clickhouse, specs_of(current, candidate), history_start(start, current, candidate), end)
    before = replay(minutes, current, [], start, end)
    after = replay(minutes, candidate, [], start, end, "candidate")
    diff = compare(before, after)

    flaky_before = [s for s in before.spans if s.key[3] == models["flaky"] and s.key[1] == "error_rate"]
    assert flaky_before and [c.before for c in diff["removed"]] == flaky_before
    assert diff["added"] == [] and diff["changed"] == []
    body = report_dict(before, after, diff)
    assert body["current"]["notifications_total"]["page"] > body["candidate"]["notifications_total"]["page"]
    assert {c["before"]["model"] for c in body["difference"]["removed"]} == {models["flaky"]}
    text = report_table(body)
    assert f"difference: 0 added, {len(flaky_before)} removed, 0 changed" in text
