"""The loader's two readers of a message agree: what the fast one (msgspec) takes is the row the model makes of it.

`decode_row` reads a message as ingest writes it through `IngestMessage` and hands anything else to
`decode_row_by_model`, which decides. Generated messages, valid and hostile (fields dropped, retyped, repeated),
must come out of both as the same row or the same dead-letter reason.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ingest.loading.rows import decode_row, decode_row_by_model
from ingest.loading.steps.step import InvalidMessage
from schemas.api_metrics import ApiMetricsParams
from schemas.event_message import EventMessage, IngestMessage, encode_event, encode_message, message_from_event
from support.events import seed_event
from support.mangled_json import json_values, mangled

RECEIVED = datetime(2026, 3, 1, 12, 30, 5, 123000, tzinfo=timezone.utc)
KAFKA_MS = int(RECEIVED.timestamp() * 1000) + 40


def outcome(decode: Any, value: bytes | None, timestamp_ms: int | None = KAFKA_MS) -> tuple[Any, ...]:
    """What the loader does with the message: the row it inserts (its line as ClickHouse reads it), or why it refuses."""
    try:
        row = decode(value, "api-metrics", 3, 17, timestamp_ms, timedelta(minutes=5))
    except InvalidMessage as invalid:
        return ("dead letter", invalid.reason)
    line = json.loads(row.line)
    line["received_at"] = datetime.fromisoformat(line["received_at"])
    return ("row", row.partition, row.offset, row.event_id, row.client, row.received_ms, line)


def assert_same(value: bytes | None, timestamp_ms: int | None = KAFKA_MS) -> tuple[Any, ...]:
    fast, model = outcome(decode_row, value, timestamp_ms), outcome(decode_row_by_model, value, timestamp_ms)
    assert fast == model
    return fast


def message(**overrides: Any) -> dict[str, Any]:
    event = ApiMetricsParams.model_validate(seed_event())
    body = message_from_event(event, "gateway-eu", RECEIVED, "0b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10")
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def test_the_fast_reader_has_the_message_models_fields_in_its_order() -> None:
    assert IngestMessage.__struct_fields__ == tuple(EventMessage.model_fields)


def test_what_ingest_writes_is_read_by_the_fast_reader_into_the_models_row() -> None:
    event = ApiMetricsParams.model_validate(seed_event(tokens={"inputTokens": 7}))
    value = encode_event(event, b'"gateway-eu"', "2026-03-01T12:30:05.123Z", "0b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10")
    read = msgspec.json.decode(value, type=IngestMessage)
    assert (read.client_name, read.input_tokens, read.output_tokens) == ("gateway-eu", 7, None)
    found = assert_same(value)
    assert found[0] == "row" and found[5] == KAFKA_MS - 40 and found[6]["kafka_offset"] == 17


@pytest.mark.parametrize("overrides", [
    {},
    {"ttfb_ms": 45.0},  # a whole number written as a float: the model takes it, the fast reader leaves it
    {"ttfb_ms": 45.5},
    {"ttfb_ms": "45"},
    {"ttfb_ms": True},
    {"ttfb_ms": -1},
    {"ttfb_ms": 2**53},
    {"ttfb_ms": 2**64},
    {"status_code": 99},
    {"schema_version": 2},
    {"schema_version": 0},
    {"event_id": "0B9E6F4E-8F0A-4D8E-9C39-2F1F4C7D2A10"},
    {"event_id": "0b9e6f4e8f0a4d8e9c392f1f4c7d2a10"},
    {"event_id": "not-an-id"},
    {"received_at": "2026-03-01T12:30:05.123+00:00"},
    {"received_at": "2026-03-01T13:30:05.123+01:00"},
    {"received_at": "2026-03-01T12:30:05.123456Z"},
    {"received_at": "2026-03-01T12:30:05Z"},
    {"received_at": "2026-13-01T12:30:05.123Z"},
    {"received_at": "2026-02-30T12:30:05.123Z"},
    {"received_at": "2026-03-01T12:40:05.123Z"},  # ten minutes from the broker's time
    {"received_at": 1772368205},
    {"received_at": "2026-03-01T12:30:05.123"},  # no zone: no moment
    {"received_at": "2026-03-01T12:50:05.123"},
    {"client_name": ""},
    {"client_name": None},
    {"client_name": "gäteway \u2028 \"eu\""},
    {"kilo_user_id": ...},
    {"organization_id": ...},
    {"tools_used": ["a", 1]},
    {"is_anonymous": 0},
    {"is_anonymous": "false"},
    {"total_tokens": ...},
    {"extra": {"nested": [1, 2, {"deep": None}]}},
], ids=lambda o: json.dumps(o, default=str))
def test_both_readers_make_the_same_row_or_refuse_for_the_same_reason(overrides: dict[str, Any]) -> None:
    assert_same(encode_message(message(**overrides)))


@pytest.mark.parametrize("value", [
    None, b"", b"null", b"[]", b"{}", b'"text"', b"{not json",
    encode_message(message()) + b" trailing",
    encode_message(message()) + b"\n",
    encode_message(message())[:-1] + b',"ttfb_ms":-5}',  # a key twice: each reader keeps the last
    encode_message(message())[:-1] + b',"ttfb_ms":7}',
    encode_message(message())[:-1] + b',"event_id":"1b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10"}',
    encode_message(message()).replace(b'"gateway-eu"', b'"gateway-\\ud800"'),  # a lone surrogate
    encode_message(message()).replace(b'"gateway-eu"', b'"gateway-\\u00e9\\n"'),
    encode_message(message()).replace(b'"gateway-eu"', b'"gateway-\xff"'),  # not UTF-8
    encode_message(message())[:-1] + b',"extra":' + b"[" * 5000 + b"]" * 5000 + b"}",  # deeper than either reader goes
], ids=lambda value: repr(value if value is None or len(value) < 1000 else value[:40] + b"..."))
def test_odd_bytes_are_read_alike(value: bytes | None) -> None:
    assert_same(value)


VALUES = json_values("2026-03-01T12:30:05.999Z", "0b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10")


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A message ingest wrote, then some of its fields dropped, retyped or repeated, in text a client could send."""
    good = message(
        ttfb_ms=draw(st.integers(0, 2**53 + 1)), status_code=draw(st.integers(90, 610)),
        client_name=draw(st.text(max_size=6)), mode=draw(st.none() | st.text(max_size=6)),
        received_at=RECEIVED.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )
    return mangled(draw, good, VALUES).encode()


@hsettings(max_examples=400, deadline=None)
@given(value=messages(), skew_s=st.sampled_from([None, 0, 299, 301, -301]))
def test_generated_messages_are_read_alike(value: bytes, skew_s: int | None) -> None:
    assert_same(value, None if skew_s is None else KAFKA_MS + skew_s * 1000)


@pytest.mark.parametrize(("user", "anonymous", "stored"), [
    ("anon:203.0.113.77", True, "anonymous"),
    ("anon:2001:db8::1", False, "anonymous"),
    ("visitor-9", True, "anonymous"),
    ("user_123", False, "user_123"),
])
def test_an_anonymous_users_id_is_stored_without_the_ip_address_it_carries(user: str, anonymous: bool, stored: str) -> None:
    value = json.dumps(message(kilo_user_id=user, is_anonymous=anonymous)).encode()
    row = assert_same(value)
    assert row[0] == "row" and row[-1]["kilo_user_id"] == stored
    assert b"203.0.113.77" not in decode_row(value, "api-metrics", 3, 17, KAFKA_MS).line
