"""The SLO spec: the seed's windows, explicit kinds, per-SLO overrides, and clear errors for what cannot work."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.alert_policy import DEFAULT_POLICY, default_policy, policy_from_document


def test_the_default_policy_keeps_the_seed_windows_and_judges_llm_latency_per_minute() -> None:
    policy = default_policy()
    assert [(s.name, s.kind) for s in policy.slos] == [
        ("error_rate", "error_rate"), ("time_to_first_token", "latency_percentile"),
        ("generation_speed", "latency_percentile"), ("session_failures", "session_failure_rate"),
        ("tool_errors", "tool_error_rate")]
    error, ttft, speed, sessions, tools = policy.slos
    for slo in (error, ttft, speed):
        assert slo.min_requests == 10 and slo.min_bad_events == 5 and slo.include_byok
        assert [(w.severity, w.long_minutes, w.short_minutes, w.burn_rate) for w in slo.windows] == [
            ("page", 5, 1, Decimal("14.4")), ("page", 30, 3, Decimal("6")), ("ticket", 360, 30, Decimal("1"))]
    assert (sessions.objective, sessions.bad_reasons, sessions.stuck_is_bad, sessions.min_requests) == (
        Decimal("0.98"), ("error",), True, 10)
    assert [(w.severity, w.long_minutes, w.short_minutes, w.burn_rate) for w in sessions.windows] == [
        ("page", 15, 3, Decimal("14.4")), ("page", 360, 30, Decimal("6")), ("ticket", 1440, 120, Decimal("1"))]
    assert (tools.objective, tools.min_requests, tools.min_bad_events, {w.severity for w in tools.windows}) == (
        Decimal("0.9"), 20, 10, {"ticket"})
    assert (sessions.source, sessions.unit, tools.source, tools.unit) == ("sessions", "session", "tools", "tool call")
    assert error.objective == Decimal("0.999") and error.status_ranges() == [(400, 599)]
    assert ttft.objective == speed.objective == Decimal("0.99") and ttft.per_minute and ttft.unit == "minute"
    assert ttft.latency is not None and speed.latency is not None
    assert (ttft.latency.field, ttft.latency.streaming, ttft.latency.percentile, ttft.latency.threshold_ms,
            ttft.latency.statuses) == ("ttfb_ms", True, Decimal(50), 60000, "success")
    assert (speed.latency.field, speed.latency.percentile, speed.latency.threshold_ms,
            speed.latency.measure.min_tokens) == ("time_per_output_token_ms", Decimal(50), 50, 16)
    assert ttft.latency.on_rollup and speed.latency.on_rollup
    assert policy.page_clients == ("kilo-gateway",) and policy.resolve_after_ticks == 1
    assert (policy.cooldown("page"), policy.cooldown("ticket")) == (900, 14400)


def document(**slo: object) -> dict[str, object]:
    return {**DEFAULT_POLICY, "slos": [{"name": "custom", "title": "Custom", **slo}]}


def test_an_slo_overrides_objective_statuses_windows_gates_and_byok() -> None:
    policy = policy_from_document(document(
        objective="0.99", error_statuses=["429", "500-599"], include_byok=False, min_requests=50, min_bad_events=20,
        windows=[{"severity": "ticket", "long_minutes": 60, "short_minutes": 5, "burn_rate": 2}],
    ))
    [slo] = policy.slos
    assert slo.kind == "error_rate" and slo.status_ranges() == [(429, 429), (500, 599)]
    assert not slo.include_byok and slo.min_requests == 50 and slo.min_bad_events == 20 and slo.windows[0].name == "60m/5m"


def test_the_seed_request_ratio_stays_available_as_an_explicit_kind() -> None:
    [slo] = policy_from_document(document(kind="latency_ratio", latency={"threshold_ms": 5000, "statuses": "all"})).slos
    assert slo.kind == "latency_ratio" and not slo.per_minute and slo.unit == "request"


@pytest.mark.parametrize("latency, rollup", [
    ({"field": "ttfb_ms", "streaming": True, "threshold_ms": 2000}, True),
    ({"field": "ttfb_ms", "streaming": False, "threshold_ms": 2000}, True),
    ({"field": "ttfb_ms", "streaming": True, "threshold_ms": 1999}, False),
    ({"field": "time_per_output_token_ms", "threshold_ms": 25}, True),
    ({"field": "time_per_output_token_ms", "threshold_ms": 25, "min_output_tokens": 128}, True),
    ({"field": "time_per_output_token_ms", "threshold_ms": 25, "min_output_tokens": 100}, False),
    ({"field": "time_per_output_token_ms", "threshold_ms": 26}, False),
])
def test_the_rollup_judges_llm_latency_exactly_on_its_bounds_and_the_raw_table_elsewhere(
    latency: dict[str, object], rollup: bool
) -> None:
    [slo] = policy_from_document(document(kind="latency_percentile", latency={**latency, "percentile": 90})).slos
    assert slo.latency is not None and slo.latency.on_rollup is rollup


def test_runbook_and_dashboard_links_are_templates() -> None:
    [slo] = policy_from_document(document(error_statuses=[">=500"], runbook_url="https://wiki/run/{slo}?m={model}")).slos
    assert slo.link(slo.runbook_url, slo="errors", model="gpt-4") == "https://wiki/run/errors?m=gpt-4"


@pytest.mark.parametrize(
    "slo, message",
    [
        ({"objective": "0.9", "error_statuses": [">=500"]}, "burn rate 14.4 can never be reached"),
        ({"error_statuses": ["teapot"]}, "status rule 'teapot'"),
        (
            {"error_statuses": [">=400"], "latency": {"threshold_ms": 1}},
            "give error_statuses (kind error_rate) or latency, not both",
        ),
        ({"kind": "error_rate", "latency": {"threshold_ms": 1}}, "kind error_rate needs error_statuses and no latency"),
        ({"latency": {"threshold_ms": 5000}}, "say `kind: latency_percentile`"),
        ({"kind": "latency_ratio", "latency": {"threshold_ms": 5000, "percentile": 50}}, "belongs to kind latency_percentile"),
        ({"latency": {"field": "tokens", "threshold_ms": 5, "percentile": 50}}, "complete_request_ms"),
        ({"latency": {"threshold_ms": 5, "percentile": 100}}, "less than 100"),
        (
            {
                "error_statuses": [">=500"],
                "windows": [{"severity": "page", "long_minutes": 5, "short_minutes": 5, "burn_rate": 2}],
            },
            "must be shorter",
        ),
        ({"error_statuses": [">=500"], "objective": "1"}, "less than 1"),
        (
            {"latency": {"threshold_ms": 5000, "percentile": 50}, "min_bad_events": 6},
            "min_bad_events 6 can never be reached — the long window holds at most 5 bad minutes",
        ),
        (
            {
                "latency": {"threshold_ms": 5000, "percentile": 50},
                "objective": "0.9",
                "windows": [{"severity": "page", "long_minutes": 2, "short_minutes": 1, "burn_rate": 2}],
                "min_bad_events": 1,
            },
            "even 2 bad minutes of 2 are not unlikely enough",
        ),
        ({"error_statuses": [">=500"], "runbook_url": "https://wiki/{service}"}, "unknown placeholder {service}"),
        ({"latency": {"field": "time_per_output_token_ms", "threshold_ms": 50, "percentile": 50, "streaming": False}},
         "time_per_output_token_ms is measured on streamed requests only"),
        ({"latency": {"field": "time_per_output_token_ms", "threshold_ms": 50, "percentile": 50, "statuses": "all"}},
         "time_per_output_token_ms is measured on successful requests only"),
        ({"latency": {"field": "time_per_output_token_ms", "threshold_ms": 50, "percentile": 50, "min_output_tokens": 1}},
         "greater than or equal to 2"),
        ({"latency": {"field": "ttfb_ms", "threshold_ms": 5000, "percentile": 50, "min_output_tokens": 16}},
         "min_output_tokens applies to time_per_output_token_ms only, not to ttfb_ms"),
        ({"latency": {"field": "complete_request_ms", "threshold_ms": 5000, "percentile": 50, "streaming": True}},
         "streaming applies to ttfb_ms (time to first token) only"),
        ({"latency": {"field": "ttfb_ms", "threshold_ms": 5000, "percentile": 50, "streaming": "sometimes"}},
         "streaming"),
    ],
)
def test_bad_specs_fail_with_a_message_that_says_why(slo: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as error:
        policy_from_document(document(**slo))
    assert message in str(error.value)


def test_the_slo_file_on_call_reads_is_valid_and_equals_the_built_in_default() -> None:
    import yaml

    from support.docs_pages import code_blocks, doc_page

    document = yaml.safe_load(code_blocks(doc_page("on-call/policy-file.md"), "yaml")[0])
    assert policy_from_document(document) == default_policy()


def test_the_deploy_slo_file_equals_the_built_in_default() -> None:
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[2] / "deploy" / "slo.yaml"
    assert policy_from_document(yaml.safe_load(path.read_text())) == default_policy()


@pytest.mark.parametrize(("slo", "refusal"), [
    ({"kind": "session_failure_rate", "error_statuses": [">=400"]}, "give neither error_statuses nor latency"),
    ({"kind": "tool_error_rate", "latency": {"threshold_ms": 100, "percentile": 50}}, "give neither error_statuses"),
    ({"kind": "tool_error_rate", "failure_reasons": ["error"]}, "belong to kind session_failure_rate only"),
    ({"kind": "error_rate", "error_statuses": [">=400"], "stuck_tool_calls_fail": False},
     "belong to kind session_failure_rate only"),
    ({"kind": "session_failure_rate", "failure_reasons": ["crashed"]}, "failure_reasons.0"),
    ({"kind": "session_failure_rate", "failure_reasons": []}, "failure_reasons"),
])
def test_session_slos_are_refused_with_the_reason_when_they_mix_kinds(slo: dict[str, Any], refusal: str) -> None:
    document = {**DEFAULT_POLICY, "slos": [{"name": "s", "title": "S", **slo}]}
    with pytest.raises(ValueError, match=refusal.replace(".", r"\.")):
        policy_from_document(document)
