"""The SLO spec: the seed's defaults, per-SLO overrides, and clear errors for what cannot work."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from schemas.slo_spec import DEFAULT_POLICY, default_policy, policy_from_document


def test_the_default_policy_reproduces_the_seed() -> None:
    policy = default_policy()
    assert [s.name for s in policy.slos] == ["error_rate", "latency_p50", "latency_p90"]
    for slo in policy.slos:
        assert slo.objective == Decimal("0.999") and slo.min_requests == 10 and slo.include_byok
        assert [(w.severity, w.long_minutes, w.short_minutes, w.burn_rate) for w in slo.windows] == [
            ("page", 5, 1, Decimal("14.4")), ("page", 30, 3, Decimal("6")), ("ticket", 360, 30, Decimal("1"))]
    error, p50, p90 = policy.slos
    assert error.status_ranges() == [(400, 599)]
    assert (p50.latency and p50.latency.threshold_ms, p90.latency and p90.latency.threshold_ms) == (5000, 15000)
    assert policy.page_clients == ("kilo-gateway",)
    assert (policy.cooldown("page"), policy.cooldown("ticket")) == (900, 14400)


def document(**slo: object) -> dict[str, object]:
    return {**DEFAULT_POLICY, "slos": [{"name": "custom", "title": "Custom", **slo}]}


def test_an_slo_overrides_objective_statuses_windows_and_byok() -> None:
    policy = policy_from_document(document(
        objective="0.99", error_statuses=["429", "500-599"], include_byok=False, min_requests=50,
        windows=[{"severity": "ticket", "long_minutes": 60, "short_minutes": 5, "burn_rate": 2}],
    ))
    [slo] = policy.slos
    assert slo.status_ranges() == [(429, 429), (500, 599)]
    assert not slo.include_byok and slo.min_requests == 50 and slo.windows[0].name == "60m/5m"


@pytest.mark.parametrize(
    "slo, message",
    [
        ({"objective": "0.9", "latency": {"threshold_ms": 5000}}, "burn rate 14.4 can never be reached"),
        ({"error_statuses": ["teapot"]}, "status rule 'teapot'"),
        ({"error_statuses": [">=400"], "latency": {"threshold_ms": 1}}, "exactly one of"),
        ({"latency": {"field": "tokens", "threshold_ms": 5}}, "complete_request_ms"),
        ({"error_statuses": [">=500"], "windows": [{"severity": "page", "long_minutes": 5, "short_minutes": 5, "burn_rate": 2}]},
         "must be shorter"),
        ({"error_statuses": [">=500"], "objective": "1"}, "less than 1"),
    ],
)
def test_bad_specs_fail_with_a_message_that_says_why(slo: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as error:
        policy_from_document(document(**slo))
    assert message in str(error.value)


def test_the_readme_slo_file_is_valid_and_equals_the_built_in_default() -> None:
    import re
    from pathlib import Path

    import yaml

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("### The SLO file"):]
    document = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, flags=re.S).group(1))  # type: ignore[union-attr]
    assert policy_from_document(document) == default_policy()
