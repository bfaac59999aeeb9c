"""The wire schema: the seed's rules, and the JSON Schema gateway teams validate against."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.api_metrics import ApiMetricsParams, wire_json_schema
from support.events import seed_event


def errors(event: dict[str, Any]) -> list[tuple[Any, ...]]:
    try:
        ApiMetricsParams.model_validate(event)
    except ValidationError as err:
        return [e["loc"] for e in err.errors()]
    return []


@pytest.mark.parametrize(
    "overrides, valid",
    [
        ({}, True),
        ({"organizationId": ..., "mode": ..., "tokens": ..., "ipAddress": ...}, True),
        ({"toolsAvailable": [], "toolsUsed": []}, True),
        ({"statusCode": 100}, True),
        ({"statusCode": 599}, True),
        ({"statusCode": 99}, False),
        ({"statusCode": 600}, False),
        ({"ttfbMs": 0, "completeRequestMs": 0}, True),
        ({"ttfbMs": 45.0}, True),
        ({"ttfbMs": 45.5}, False),
        ({"ttfbMs": "45"}, False),
        ({"isAnonymous": "false"}, False),
        ({"isAnonymous": 0}, False),
        ({"kiloUserId": ""}, False),
        ({"organizationId": ""}, False),
        ({"toolsUsed": [""]}, False),
        ({"ipAddress": "192.168.0.1"}, True),
        ({"ipAddress": "2001:db8::1"}, True),
        ({"ipAddress": "999.1.1.1"}, False),
        ({"tokens": {"inputTokens": 5, "unknown": 1}}, True),
        ({"tokens": {"inputTokens": None}}, False),
        ({"inferenceProvider": ""}, True),
        ({"extraField": {"anything": [1, 2]}}, True),
    ],
    ids=lambda v: json.dumps(v, default=str) if isinstance(v, dict) else str(v),
)
def test_seed_rules(overrides: dict[str, Any], valid: bool) -> None:
    assert (errors(seed_event(**overrides)) == []) is valid


def test_o11y_schema_prints_the_wire_json_schema() -> None:
    output = subprocess.run([sys.executable, "-m", "o11y.cli", "schema"], check=True, capture_output=True, text=True).stdout
    schema = json.loads(output)
    assert schema == json.loads(json.dumps(wire_json_schema()))
    assert set(schema["required"]) == {
        "kiloUserId", "isAnonymous", "isStreaming", "userByok", "provider", "requestedModel",
        "resolvedModel", "toolsAvailable", "toolsUsed", "ttfbMs", "completeRequestMs", "statusCode",
    }
    assert schema["properties"]["statusCode"]["minimum"] == 100 and schema["properties"]["statusCode"]["maximum"] == 599
    assert schema["properties"]["mode"] == {"description": "The client mode, e.g. `build`.", "type": "string", "minLength": 1,
                                            "maxLength": 64}
    assert schema["properties"]["toolsUsed"]["maxItems"] == 256 and schema["properties"]["kiloUserId"]["maxLength"] == 256


def test_ids_ingest_assigns_are_distinct_random_uuids_and_times_are_utc_milliseconds() -> None:
    from datetime import datetime, timedelta, timezone
    from uuid import RFC_4122, UUID

    from schemas.event_message import message_from_event

    event = ApiMetricsParams.model_validate(seed_event())
    ids = [UUID(message_from_event(event, "c", datetime.now(timezone.utc))["event_id"]) for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(u.version == 4 and u.variant == RFC_4122 for u in ids)
    bits = [int(u) for u in ids]
    assert 0.4 < sum(bin(b).count("1") for b in bits) / (122 * len(bits)) < 0.6  # random, not a counter
    moment = datetime(2026, 1, 2, 3, 4, 5, 6789, tzinfo=timezone(timedelta(hours=2)))
    assert message_from_event(event, "c", moment)["received_at"] == "2026-01-02T01:04:05.006Z"
