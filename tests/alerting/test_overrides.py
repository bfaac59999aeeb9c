"""Per-route overrides: which one applies, what it changes, and that the evaluator uses it from the next tick."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from alerting.policy.store import PolicyStore
from alerting.policy.words import policy_words
from schemas.alert_policy import DEFAULT_POLICY, MAX_OVERRIDES, AlertPolicy, policy_from_document
from schemas.slo_overrides import SloOverride
from support.alerting_harness import make_evaluator
from support.timeline import Timeline

ROUTE = ("openai", "gpt-4", "acme")


def with_overrides(*overrides: dict[str, Any]) -> AlertPolicy:
    return policy_from_document({**DEFAULT_POLICY, "overrides": list(overrides)})


def objective(policy: AlertPolicy, dimension: tuple[str, str, str], slo: str = "error_rate") -> Decimal | None:
    spec = policy.slo_for(slo, dimension)
    return spec.objective if spec is not None else None


def test_an_exact_name_beats_a_pattern_and_the_rest_is_inherited() -> None:
    policy = with_overrides({"match": {"model": "gpt-*"}, "objective": "0.99"},
                            {"match": {"model": "gpt-4"}, "objective": "0.995", "min_requests": 50})
    assert objective(policy, ("openai", "gpt-4", "acme")) == Decimal("0.995")
    assert objective(policy, ("openai", "gpt-4o", "acme")) == Decimal("0.99")
    assert objective(policy, ("openai", "claude", "acme")) == Decimal("0.999")
    exact = policy.slo_for("error_rate", ("openai", "gpt-4", "acme"))
    assert exact is not None and exact.min_requests == 50 and exact.min_bad_events == 5  # inherited from the SLO
    glob = policy.slo_for("error_rate", ("openai", "gpt-4o", "acme"))
    assert glob is not None and glob.min_requests == 10  # the exact override's setting is not merged into the glob's


def test_a_client_is_more_specific_than_a_model_and_two_names_more_than_one() -> None:
    policy = with_overrides({"match": {"model": "gpt-4"}, "objective": "0.99"},
                            {"match": {"client": "acme"}, "objective": "0.98"},
                            {"match": {"client": "acme", "provider": "open*"}, "objective": "0.97"})
    assert objective(policy, ("azure", "gpt-4", "acme")) == Decimal("0.98")  # client over model
    assert objective(policy, ("azure", "gpt-4", "other")) == Decimal("0.99")
    assert objective(policy, ROUTE) == Decimal("0.97")  # an exact client and a provider pattern beat the client alone


def test_an_override_for_one_slo_leaves_the_others_and_latency_settings_reach_latency_slos_only() -> None:
    policy = with_overrides({"match": {"model": "gpt-4", "slo": "time_to_first_token"}, "latency": {"threshold_ms": 2000}},
                            {"match": {"model": "gpt-4"}, "enabled": False, "scope": "model=gpt-4",
                             "comment": "free tier, best effort"})
    ttft = policy.slo_for("time_to_first_token", ROUTE)
    assert ttft is not None and ttft.latency is not None and ttft.latency.threshold_ms == 2000
    assert ttft.latency.streaming is True  # the rest of the SLO's latency is inherited
    assert policy.slo_for("error_rate", ROUTE) is None and policy.slo_for("generation_speed", ROUTE) is None
    assert policy.slo_for("error_rate", ("openai", "gpt-5", "acme")) is not None


def test_an_override_sets_a_routes_generation_speed_and_the_requests_it_counts() -> None:
    policy = with_overrides({"match": {"model": "gpt-4", "slo": "generation_speed"},
                             "latency": {"threshold_ms": 20, "min_output_tokens": 64}})
    speed = policy.slo_for("generation_speed", ROUTE)
    assert speed is not None and speed.latency is not None
    assert (speed.latency.threshold_ms, speed.latency.min_output_tokens, speed.latency.on_rollup) == (20, 64, True)
    default = policy.slo_for("generation_speed", ("openai", "gpt-5", "acme"))
    assert default is not None and default.latency is not None and default.latency.measure.min_tokens == 16
    with pytest.raises(ValueError, match="min_output_tokens applies to time_per_output_token_ms only"):
        with_overrides({"match": {"model": "gpt-4", "slo": "time_to_first_token"}, "latency": {"min_output_tokens": 8}})


def test_the_api_override_wins_over_the_files_on_the_same_match() -> None:
    policy = with_overrides({"match": {"model": "gpt-4"}, "objective": "0.99"})
    live, problems = policy.with_live([SloOverride.model_validate({"match": {"model": "gpt-4"}, "objective": "0.98"})])
    assert problems == []
    assert objective(policy, ROUTE) == Decimal("0.99")
    assert objective(live, ROUTE) == Decimal("0.98")


def test_an_unreachable_override_is_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match=r"burn rate 14.4 can never be reached .* objective 0.9 .* is 10"):
        with_overrides({"match": {"model": "gpt-4"}, "objective": "0.9"})
    with pytest.raises(ValidationError, match="matches no latency SLO"):
        with_overrides({"match": {"slo": "error_rate"}, "latency": {"threshold_ms": 100}})
    with pytest.raises(ValidationError, match="matches no SLO"):
        with_overrides({"match": {"slo": "availability"}, "objective": "0.99"})
    with pytest.raises(ValidationError, match="at least one of"):
        with_overrides({"match": {"model": "gpt-4"}})
    with pytest.raises(ValidationError, match="more than one override matches exactly model=gpt-4"):
        with_overrides({"match": {"model": "gpt-4"}, "page": True}, {"match": {"model": "gpt-4"}, "objective": "0.99"})
    policy = with_overrides()
    kept, problems = policy.with_live([SloOverride.model_validate({"match": {"model": "x"}, "objective": "0.5"})])
    assert kept.live_overrides == () and "can never be reached" in problems[0]


def test_check_prints_each_override_in_words() -> None:
    policy = with_overrides({"match": {"model": "free/*"}, "objective": "0.99", "page": False, "scope": "model=free/*",
                             "comment": "best effort"})
    words = "\n".join(policy_words(policy))
    assert ("pages when at least 1.44 % of requests fail over both the last 5 minutes and the last minute, "
            "with at least 10 requests and 5 failures") in words
    assert "Override model=free/* (policy file) — model free/*: best effort" in words
    assert "Quiets every route it matches (scope model=free/*): the page channel is told while it is in force" in words
    assert ("opens a ticket when at least 14.4 % of requests fail over both the last 5 minutes and the last minute"
            in words)  # 14.4x of a 1 % budget; page tiers become tickets
    assert "minutes have a p50 above 60 s (time to first token of streamed successful requests)" in words
    assert ("minutes have a p50 above 50 ms, slower than 20 tokens/s (time per output token of streamed successful "
            "requests with at least 16 output tokens)") in words


def test_overrides_from_the_file_and_the_api_decide_who_pages_from_the_next_tick(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    """Two models fail 3 % of requests. A free-tier pattern override (objective 95 %) keeps one quiet until an
    admin sets an exact override through the API: the next tick pages it."""
    flagship, free = f"flagship-{uuid.uuid4().hex[:6]}", f"free-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    for model in (flagship, free):
        timeline.traffic(0, 20, 200, 0.03, model=model)
    policy = with_overrides({"match": {"model": "free-*"}, "objective": "0.95", "comment": "free tier"})
    evaluator = make_evaluator(clickhouse, redis_client, slack, policy)
    first = evaluator.evaluate_tick(timeline.at(6))
    assert {(d.decision, d.model) for d in first if d.decision == "delivered"} == {("delivered", flagship)}

    PolicyStore(clickhouse).put_override(
        SloOverride.model_validate({"match": {"model": free, "slo": "error_rate"}, "objective": "0.999"}), "alice",
        datetime.now(timezone.utc))
    second = evaluator.evaluate_tick(timeline.at(7))
    assert {(d.decision, d.model) for d in second if d.decision == "delivered"} == {("delivered", free)}
    assert [h for _, h in slack.headers()] == [":rotating_light: PAGE — LLM Error Rate SLO Breach"] * 2

    changes = PolicyStore(clickhouse).changes()
    assert [(c.action, c.match_key, c.changed_by) for c in changes] == [("put", f"slo=error_rate,model={free}", "alice")]


def test_a_stored_override_that_no_longer_reads_never_holds_up_a_tick(clickhouse: Any, redis_client: Any, slack: Any) -> None:
    """Overrides stored before numbers were bounded (an exponent of a billion) used to hang every tick and every
    restart; now the tick leaves them out, logs why and counts them, and pages as it would without them."""
    model = f"m-{uuid.uuid4().hex[:6]}"
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 8, 200, 0.05, model=model)
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    columns = ["changed_at", "match_key", "action", "override", "previous", "changed_by"]
    for key, body in ((f"model={model}", {"match": {"model": model}, "objective": "1e-999999999"}),
                      ("slo=time_to_first_token",
                       {"match": {"slo": "time_to_first_token"}, "latency": {"percentile": "1e-999999999"}})):
        clickhouse.insert("o11y.slo_override_changes", [[datetime.now(timezone.utc).replace(tzinfo=None), key, "put",
                                                         json.dumps(body), "", "mallory"]], column_names=columns)
    decisions = evaluator.evaluate_tick(timeline.at(6))
    assert {(d.decision, d.model) for d in decisions if d.decision == "delivered"} == {("delivered", model)}
    assert evaluator.status is not None and evaluator.status.overrides_left_out == 2


def test_checking_runtime_overrides_stops_at_the_cap_and_the_time_budget() -> None:
    policy = with_overrides()
    many = [SloOverride.model_validate({"match": {"model": f"m{i}"}, "objective": "0.99"}) for i in range(MAX_OVERRIDES + 3)]
    kept, problems = policy.with_live(many)
    assert len(kept.live_overrides) == MAX_OVERRIDES
    assert problems == [f"3 runtime override(s) left out (more than {MAX_OVERRIDES}), from model=m{MAX_OVERRIDES} on"]
    ticks = iter(range(100))
    slow, problems = policy.with_live(many[:10], budget_s=3, clock=lambda: float(next(ticks)))
    assert len(slow.live_overrides) == 3
    assert problems == ["7 runtime override(s) left out (not checked within 3 s), from model=m3 on"]


def test_an_override_that_quiets_many_routes_is_told_on_the_page_channel_once_and_when_it_ends(
    clickhouse: Any, redis_client: Any, slack: Any
) -> None:
    timeline = Timeline(clickhouse)
    timeline.traffic(0, 10, 100, model=f"m-{uuid.uuid4().hex[:6]}")
    evaluator = make_evaluator(clickhouse, redis_client, slack)
    store = PolicyStore(clickhouse)
    quiet = SloOverride.model_validate({"match": {"model": "free/*"}, "page": False, "scope": "model=free/*",
                                        "comment": "free tier <!channel>"})
    store.put_override(quiet, "alice", datetime.now(timezone.utc))
    first = evaluator.evaluate_tick(timeline.at(5))
    again = evaluator.evaluate_tick(timeline.at(6))
    store.delete_override(quiet.match, "alice", datetime.now(timezone.utc))
    ended = evaluator.evaluate_tick(timeline.at(7))
    assert [(d.decision, d.slo, d.model) for d in first] == [("fired", "paging_reduced", "free/*"),
                                                              ("delivered", "paging_reduced", "free/*")]
    assert [d.decision for d in again if d.slo == "paging_reduced"] == []
    assert [d.decision for d in ended if d.slo == "paging_reduced"] == ["resolved", "delivered"]
    assert [(channel, header) for channel, header in slack.headers()] == [
        ("page", ":no_bell: PAGE — paging turned down for many routes"),
        ("page", ":bell: RESOLVED (PAGE) — paging is back for those routes")]
    told = slack.posts[0][1]["blocks"][1]["text"]["text"]
    assert "model `free/*`" in told and "pages go out as tickets" in told and "free tier &lt;!channel&gt;" in told
