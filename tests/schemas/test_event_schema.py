"""The wire schema: the seed's rules, and the JSON Schema gateway teams validate against."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
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


_names = st.text(min_size=1, max_size=12)  # any unicode: quotes, backslashes, control characters, astral planes
_counts = st.integers(min_value=0, max_value=2**53 - 1)
_tokens = st.fixed_dictionaries({}, optional={k: _counts for k in ("inputTokens", "cacheHitTokens", "totalTokens")})


@given(event=st.fixed_dictionaries(
    {"kiloUserId": _names, "isAnonymous": st.booleans(), "isStreaming": st.booleans(), "userByok": st.booleans(),
     "provider": _names, "requestedModel": _names, "resolvedModel": _names, "toolsAvailable": st.lists(_names, max_size=3),
     "toolsUsed": st.lists(_names, max_size=3), "ttfbMs": _counts, "completeRequestMs": _counts,
     "statusCode": st.integers(min_value=100, max_value=599)},
    optional={"organizationId": _names, "mode": _names, "inferenceProvider": st.text(max_size=8), "clientSecret": _names,
              "eventId": st.uuids().map(str), "ipAddress": st.just("203.0.113.9"),
              "tokens": _tokens}),
    client=_names)
@hsettings(max_examples=200, deadline=None)
def test_the_message_ingest_encodes_is_the_message_model_byte_for_byte(event: dict[str, Any], client: str) -> None:
    from datetime import datetime, timezone

    from pydantic_core import to_json

    from schemas.event_message import EventMessage, encode_event, encode_message, message_from_event, timestamp_text

    parsed = ApiMetricsParams.model_validate_json(json.dumps(event))
    now = datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=timezone.utc)
    fresh = "0b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10"
    encoded = encode_event(parsed, to_json(client), timestamp_text(now), fresh)
    assert encoded == encode_message(message_from_event(parsed, client, now, fresh))
    message = EventMessage.model_validate_json(encoded)
    assert str(message.event_id) == event.get("eventId", fresh) and message.client_name == client
    assert b"203.0.113.9" not in encoded and (event.get("clientSecret") is None or "client_secret" not in json.loads(encoded))
