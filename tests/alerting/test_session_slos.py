"""SLOs over agent sessions, judged by the same evaluator tick by tick: a burst of failed sessions on one platform and
model pages once and resolves, a tool type failing half its calls opens a ticket, healthy sessions stay quiet for six
hours; the backtest replays them decision for decision."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from alerting.backtest.minutes import read_minutes, specs_of
from alerting.backtest.replay import history_start, replay
from alerting.incidents.alert_log import Decision
from alerting.incidents.silences import SilenceRequest
from alerting.policy.store import PolicyStore
from api.status_api import load_status
from runtime.settings import Settings
from schemas.alert_policy import DEFAULT_POLICY, AlertPolicy, policy_from_document
from schemas.slo_overrides import SloOverride
from support.alerting_harness import comparable, make_evaluator
from support.timeline import SessionTimeline


def policy(client: str) -> AlertPolicy:
    """The default policy, with the session-ingest client allowed to page."""
    return policy_from_document({**DEFAULT_POLICY, "page_clients": ["kilo-gateway", client]})


def run(clickhouse: Any, redis_client: Any, slack: Any, timeline: SessionTimeline, client: str, first: int,
        last: int) -> list[Decision]:
    """Tick by tick; then the backtest over the same minutes must decide exactly the same."""
    evaluator = make_evaluator(clickhouse, redis_client, slack, policy(client))
    decisions = [d for minute in range(first, last) for d in evaluator.evaluate_tick(timeline.at(minute))]
    start, end = timeline.at(first - 1, 0), timeline.at(last - 1, 0)  # the ends the ticks judged: first … last - 1
    minutes = read_minutes(clickhouse, specs_of(policy(client)), history_start(start, policy(client)), end)
    replayed = replay(minutes, policy(client), [], start, end, keep_log=True)
    assert comparable(replayed.log) == comparable(decisions)
    return decisions


def fields(body: dict[str, Any]) -> list[str]:
    """The section fields of a Slack message: where the route's parts are named."""
    return [f["text"] for block in body["blocks"] if block.get("type") == "section" for f in block.get("fields", [])]


def burst(timeline: SessionTimeline, client: str, model: str, last: int = 140) -> None:
    """8 sessions a minute on vscode; from minute 60 to 80, 5 of them end in `error`."""
    for minute in range(0, last):
        broken = 60 <= minute < 80
        timeline.sessions(minute, 3 if broken else 8, client=client, model=model,
                          calls={"read_file": 4}, errors={"read_file": 0})
        timeline.sessions(minute, 5 if broken else 0, reason="error", client=client, model=model)


def test_a_burst_of_failed_sessions_on_one_platform_and_model_pages_once_and_resolves(
        clickhouse: Any, redis_client: Any, slack: Any) -> None:
    client = f"sessions-{uuid.uuid4().hex[:6]}"
    timeline = SessionTimeline(clickhouse)
    burst(timeline, client, "m-broken")
    for minute in range(0, 140):
        timeline.sessions(minute, 8, client=client, model="m-healthy")  # same platform, another model: quiet
    decisions = run(clickhouse, redis_client, slack, timeline, client, 55, 140)
    pages = [(d.tick, d.decision) for d in decisions if d.slo == "session_failures" and d.severity == "page"
             and d.decision in ("fired", "resolved")]
    assert [what for _, what in pages] == ["fired", "resolved"], pages
    assert pages[0][0] == timeline.at(67, 0).isoformat(), "paged on the seventh failing minute (28.8 % of 15 min)"
    assert {d.provider for d in decisions if d.slo == "session_failures"} == {"vscode"}
    assert {d.model for d in decisions if d.slo == "session_failures"} == {"m-broken"}
    page_posts = [body for severity, body in slack.posts if severity == "page"]
    assert len(page_posts) == 2, [b["text"] for b in page_posts]  # one page, one resolve
    assert "*Platform:*\nvscode" in fields(page_posts[0]) and "*Model:*\nm-broken" in fields(page_posts[0])
    assert "of sessions failed" in json.dumps(page_posts[0]["blocks"])


def test_a_tool_type_failing_half_its_calls_opens_a_ticket(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    client = f"tools-{uuid.uuid4().hex[:6]}"
    timeline = SessionTimeline(clickhouse)
    for minute in range(0, 60):
        failing = minute >= 30
        timeline.sessions(minute, 4, client=client, calls={"execute_command": 5, "read_file": 10},
                          errors={"execute_command": 3 if failing else 0, "read_file": 0})
    decisions = run(clickhouse, redis_client, slack, timeline, client, 25, 60)
    tickets = [d for d in decisions if d.slo == "tool_errors" and d.decision == "fired"]
    assert [(d.severity, d.provider, d.model) for d in tickets] == [("ticket", "execute_command", "vscode")], tickets
    assert not [d for d in decisions if d.slo == "session_failures" and d.decision == "fired"]
    [post] = [body for severity, body in slack.posts if severity == "ticket"]
    assert "*Tool:*\nexecute_command" in fields(post) and "*Platform:*\nvscode" in fields(post)
    assert "of this tool's calls failed" in json.dumps(post["blocks"])


def test_healthy_sessions_stay_quiet_for_six_hours(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    """Six hours (after a day of history) of sessions at a healthy 1 % failure rate and 3 % of `execute_command` calls
    failing, on 12 routes at 8 sessions a minute: no page, no ticket, and the backtest agrees."""
    client = f"healthy-{uuid.uuid4().hex[:6]}"
    timeline = SessionTimeline(clickhouse)
    for route in range(12):
        timeline.steady(-1440, 360, 8, failed_per_mille=10, tool_error_per_mille=150, client=client,
                        platform=("vscode", "cli", "jetbrains")[route % 3], model=f"model-{route // 3}")
    decisions = run(clickhouse, redis_client, slack, timeline, client, 0, 360)
    assert [d for d in decisions if d.decision in ("fired", "delivered")] == []
    assert slack.posts == []


def test_silences_and_overrides_hold_session_slos_as_they_hold_requests(
        clickhouse: Any, redis_client: Any, slack: Any) -> None:
    """Two models burst the same way: a silence of one (by platform and model) holds its ticket and then its page,
    logged; an override through the admin API turns `session_failures` off for the other."""
    client = f"held-{uuid.uuid4().hex[:6]}"
    timeline = SessionTimeline(clickhouse)
    for model in ("m-silenced", "m-off"):
        burst(timeline, client, model, last=75)
    evaluator = make_evaluator(clickhouse, redis_client, slack, policy(client))  # forgets earlier alert state first
    store = PolicyStore(clickhouse)
    silence = SilenceRequest(slo="session_failures", provider="vscode", model="m-silenced", starts_at=timeline.base,
                             ends_at=timeline.at(120), comment="agent rollout").silence("alice", timeline.base)
    store.save_silence(silence, timeline.base)
    one_route = {"slo": "session_failures", "provider": "vscode", "model": "m-off", "client": client}
    store.put_override(SloOverride.model_validate({"match": one_route, "enabled": False}), "alice",
                       datetime.now(timezone.utc))
    decisions = [d for minute in range(60, 75) for d in evaluator.evaluate_tick(timeline.at(minute))]
    held = [(d.model, d.silence_id) for d in decisions if d.decision == "silenced"]
    assert held and set(held) == {("m-silenced", silence.id)}
    assert {d.severity for d in decisions if d.decision == "silenced"} == {"ticket", "page"}
    assert not [d for d in decisions if d.model == "m-off" and d.decision in ("fired", "silenced")]
    assert slack.posts == []


def test_the_slo_status_lists_each_route_with_the_slos_of_what_it_carries(clickhouse: Any) -> None:
    """A route of requests shows the request SLOs, a route of sessions `session_failures`, a tool route `tool_errors`:
    never a session SLO with no budget on a request route, nor the other way round."""
    client = f"status-{uuid.uuid4().hex[:6]}"
    timeline = SessionTimeline(clickhouse)
    for minute in range(0, 30):
        timeline.sessions(minute, 4, client=client, platform="cli", model="m1", calls={"bash": 3})
        timeline.requests(minute, 20, client=client, provider="openai", model="gpt-x")
    report = load_status(clickhouse, policy(client), Settings(), timeline.at(30))
    mine = {(s.dimension, s.slo) for s in report["statuses"] if s.dimension[2] == client}
    assert mine == {
        (("openai", "gpt-x", client), "error_rate"), (("openai", "gpt-x", client), "time_to_first_token"),
        (("openai", "gpt-x", client), "generation_speed"), (("cli", "m1", client), "session_failures"),
        (("bash", "cli", client), "tool_errors"),
    }
