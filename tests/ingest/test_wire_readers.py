"""The ingest endpoints' two readers of an event agree: what msgspec takes becomes the very message the model makes.

`fast_batch` reads a batch through `WireEvent` and leaves anything it refuses to `whole_batch` and the item reader
(the model, `ApiMetricsParams`, which decides and answers); `read_wire_event` does the same for one event's body.
Generated events, valid and hostile (fields dropped, retyped, repeated), must never be taken by msgspec and refused
by the model, and must make the same Kafka message; with an Idempotency-Key too, or be refused alike.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import to_json

from ingest.edge import idempotency_keys
from ingest.edge.batch_body import fast_batch, whole_batch
from ingest.edge.request_body import BodyRejected
from schemas.api_metrics import ApiMetricsParams, Tokens, WireEvent, WireTokens, read_wire_event
from schemas.event_message import encode_event, encode_wire_event
from support.events import seed_event
from support.mangled_json import json_values, mangled

RECEIVED = "2026-03-01T12:30:05.123Z"
NEW_ID = "0b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10"
LIMIT = 64 * 1024


def messages(body: bytes) -> tuple[list[bytes] | None, list[bytes] | None]:
    """The Kafka messages each reader makes of a batch body (None: that reader does not take the batch whole)."""
    fast = fast_batch(body, 1000, LIMIT)
    model = whole_batch(body, 1000, LIMIT)
    return (None if fast is None else [encode_wire_event(e, "gateway-eu", RECEIVED, NEW_ID) for e in fast],
            None if model is None else [encode_event(e, to_json("gateway-eu"), RECEIVED, NEW_ID) for e in model])


def assert_agree(body: bytes) -> list[bytes] | None:
    fast, model = messages(body)
    if fast is not None:
        assert fast == model
    return fast


def assert_one_agrees(body: bytes) -> bytes | None:
    """The same for the body of the single-event endpoint."""
    fast = read_wire_event(body)
    if fast is None:
        return None
    try:
        model = ApiMetricsParams.model_validate_json(body)
    except ValidationError as refused:
        raise AssertionError(f"msgspec took an event the model refuses: {refused}") from None
    message = encode_wire_event(fast, "gateway-eu", RECEIVED, NEW_ID)
    assert message == encode_event(model, to_json("gateway-eu"), RECEIVED, NEW_ID)
    return message


def batch(*events: dict[str, Any]) -> bytes:
    return json.dumps(list(events)).encode()


def test_the_fast_reader_has_the_models_wire_names_in_its_order() -> None:
    for fast, model in ((WireEvent, ApiMetricsParams), (WireTokens, Tokens)):
        names = [field.encode_name for field in msgspec.structs.fields(fast)]
        assert names == [field.alias for field in model.model_fields.values()]


def test_a_batch_as_gateways_send_it_is_read_by_msgspec_into_the_models_messages() -> None:
    body = batch(seed_event(), seed_event(tokens={"inputTokens": 7}, eventId="1b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10"),
                 seed_event(organizationId=..., mode=..., tokens=..., ipAddress=...))
    found = assert_agree(body)
    assert found is not None and len(found) == 3
    assert json.loads(found[1])["event_id"] == "1b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10"
    assert json.loads(found[1])["input_tokens"] == 7 and json.loads(found[1])["output_tokens"] is None
    assert json.loads(found[2])["event_id"] == NEW_ID and json.loads(found[2])["organization_id"] is None


@pytest.mark.parametrize("overrides", [
    {"ttfbMs": 45.0},  # the model takes a whole float; msgspec leaves it to the model
    {"ttfbMs": 45.5}, {"ttfbMs": "45"}, {"ttfbMs": True}, {"ttfbMs": -1}, {"ttfbMs": 2**53}, {"ttfbMs": 2**64},
    {"statusCode": 99}, {"statusCode": 600},
    {"eventId": "0B9E6F4E-8F0A-4D8E-9C39-2F1F4C7D2A10"}, {"eventId": "0b9e6f4e8f0a4d8e9c392f1f4c7d2a10"},
    {"eventId": "not-an-id"}, {"eventId": None},
    {"ipAddress": "999.1.1.1"}, {"ipAddress": "2001:db8::1"}, {"ipAddress": None}, {"ipAddress": 5},
    {"clientSecret": ""}, {"clientSecret": "s" * 513}, {"clientSecret": None},
    {"kiloUserId": ""}, {"kiloUserId": "é" * 256}, {"kiloUserId": "é" * 257}, {"kiloUserId": ...},
    {"organizationId": None}, {"mode": "m" * 65}, {"mode": ""}, {"inferenceProvider": ""},
    {"toolsUsed": [""]}, {"toolsUsed": ["t"] * 257}, {"toolsUsed": ["t"] * 256}, {"toolsUsed": ["a", 1]},
    {"isAnonymous": 0}, {"isAnonymous": "false"},
    {"tokens": {"inputTokens": None}}, {"tokens": {"inputTokens": 5, "unknown": 1}}, {"tokens": None}, {"tokens": []},
    {"extraField": {"anything": [1, 2]}}, {"kilo_user_id": "snake_case names are not the wire's"},
    {"resolvedModel": "gäteway \u2028 \"eu\" \u0000 \ud83d\ude00"},
], ids=lambda o: json.dumps(o, default=str)[:60])
def test_both_readers_take_the_same_events_and_make_the_same_messages(overrides: dict[str, Any]) -> None:
    assert_agree(batch(seed_event(), seed_event(**overrides)))
    assert_one_agrees(json.dumps(seed_event(**overrides)).encode())


def test_one_event_as_gateways_send_it_is_read_by_msgspec_into_the_models_message() -> None:
    taken = assert_one_agrees(json.dumps(seed_event(tokens={"outputTokens": 3})).encode())
    assert taken is not None and json.loads(taken)["output_tokens"] == 3
    assert assert_one_agrees(json.dumps(seed_event(ttfbMs=45.0)).encode()) is None  # the model's, not msgspec's


@pytest.mark.parametrize("body", [
    b"[]", b"{}", b"null", b"[1]", b"[[]]", b"[{}]", b"not json",
    batch(seed_event()) + b" trailing",
    batch(seed_event())[:-2] + b',"ttfbMs":-5}]',  # a key twice: each reader keeps the last
    batch(seed_event())[:-2] + b',"ttfbMs":7}]',
    batch(seed_event()).replace(b'"openai"', b'"open\\ud800"'),  # a lone surrogate
    batch(seed_event()).replace(b'"openai"', b'"open\xff"'),  # not UTF-8
    batch(*[seed_event()] * 1001),
    batch(seed_event())[:-2] + b',"extra":' + b"[" * 5000 + b"]" * 5000 + b"}]",  # deeper than either reader goes
], ids=lambda b: repr(b[:60]))
def test_odd_bodies_are_read_alike(body: bytes) -> None:
    assert_agree(body)


ONE = json.dumps(seed_event()).encode()


@pytest.mark.parametrize("body", [
    b"{}", b"null", b"[]", b"", b"not json", batch(seed_event()), ONE + b" trailing", b" \n" + ONE + b"\n",
    ONE[:-1] + b',"ttfbMs":-5}', ONE[:-1] + b',"ttfbMs":7}', ONE[:-1] + b',"clientSecret":"other-secret-0123"}',
    ONE.replace(b'"openai"', b'"open\\ud800"'), ONE.replace(b'"openai"', b'"open\xff"'),
    ONE[:-1] + b',"extra":' + b"[" * 5000 + b"]" * 5000 + b"}",
], ids=lambda b: repr(b[:60]))
def test_odd_single_bodies_are_read_alike(body: bytes) -> None:
    assert_one_agrees(body)


VALUES = json_values(NEW_ID, "10.0.0.1", "::1")


@st.composite
def events(draw: st.DrawFn) -> str:
    """A gateway's event, then some of its fields dropped, retyped or repeated, as JSON text."""
    return mangled(draw, seed_event(ttfbMs=draw(st.integers(0, 2**53 + 1)), statusCode=draw(st.integers(90, 610)),
                                    kiloUserId=draw(st.text(max_size=6)), mode=draw(st.text(max_size=6))), VALUES)


@hsettings(max_examples=400, deadline=None)
@given(items=st.lists(events(), min_size=1, max_size=3))
def test_generated_batches_are_read_alike(items: list[str]) -> None:
    assert_agree(("[" + ",".join(items) + "]").encode())


@hsettings(max_examples=400, deadline=None)
@given(item=events())
def test_generated_single_events_are_read_alike(item: str) -> None:
    assert_one_agrees(item.encode())


def keyed(body_id: str | None, key: str, encode: Callable[[str], bytes]) -> bytes:
    """What the single-event endpoint makes of an event with the Idempotency-Key `key`: its message, or the refusal."""
    try:
        return encode(idempotency_keys.event_id("gateway-eu", key, body_id))
    except BodyRejected as refused:
        assert isinstance(refused.response.body, bytes)
        return refused.response.body


def assert_keyed_agree(body: bytes, key: str) -> bytes | None:
    """`assert_one_agrees` for an event sent with an Idempotency-Key."""
    fast = read_wire_event(body)
    if fast is None:
        return None
    model = ApiMetricsParams.model_validate_json(body)
    fast_id = None if isinstance(fast.event_id, msgspec.UnsetType) else fast.event_id
    made = keyed(fast_id, key, lambda new_id: encode_wire_event(fast, "gateway-eu", RECEIVED, new_id))
    assert made == keyed(model.event_id, key, lambda new_id: encode_event(model, to_json("gateway-eu"), RECEIVED, new_id))
    return made


KEYS_NAMESPACE = uuid.UUID("eea7266d-7693-4501-a195-da2c1075d646")
NAMED = str(uuid.uuid5(KEYS_NAMESPACE, "gateway-eu\nreq_abc"))
"""The id the key `req_abc` names for the client `gateway-eu`."""
LONGEST = "gen-" + "k" * 251
NAMES = {"req_abc": NAMED, '"req_abc"': NAMED, NEW_ID: NEW_ID, NEW_ID.upper(): NEW_ID,
         LONGEST: str(uuid.uuid5(KEYS_NAMESPACE, f"gateway-eu\n{LONGEST}"))}
"""Keys that are taken, and the id each names."""


@pytest.mark.parametrize("key", [*NAMES, "", "k" * 256, "tab\there", "caf\u00e9"], ids=lambda k: repr(k[:20]))
@pytest.mark.parametrize("event_id", [..., NAMED, NEW_ID, "1b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10"],
                         ids=["no eventId", "the key's eventId", "the UUID key's eventId", "another eventId"])
def test_both_readers_give_an_event_the_id_its_key_names_or_refuse_it_alike(key: str, event_id: Any) -> None:
    made = assert_keyed_agree(json.dumps(seed_event(eventId=event_id)).encode(), key)
    assert made is not None
    answer = json.loads(made)
    if key in NAMES and event_id in (..., NAMES[key]):
        assert answer["event_id"] == NAMES[key]
    else:
        assert answer["issues"][0]["code"] == ("conflicting_event_id" if key in NAMES else "invalid_idempotency_key")


KEYS = st.text(max_size=8) | st.uuids().map(str) | st.sampled_from(["req_abc", '"req_abc"', NEW_ID.upper(), "k" * 256])


@hsettings(max_examples=400, deadline=None)
@given(item=events(), key=KEYS)
def test_generated_single_events_with_a_key_are_read_alike(item: str, key: str) -> None:
    assert_keyed_agree(item.encode(), key)


@hsettings(max_examples=200, deadline=None)
@given(items=st.lists(events(), min_size=1, max_size=3), key=KEYS)
def test_generated_batches_with_a_key_are_read_alike(items: list[str], key: str) -> None:
    body = ("[" + ",".join(items) + "]").encode()
    fast, model = fast_batch(body, 1000, LIMIT), whole_batch(body, 1000, LIMIT)
    if fast is None or model is None:
        return
    try:
        ids = idempotency_keys.item_ids("gateway-eu", key, range(len(fast)))
    except BodyRejected:
        return  # refused before either reader's events are used
    assert [encode_wire_event(e, "gateway-eu", RECEIVED, i) for e, i in zip(fast, ids, strict=True)] == [
        encode_event(e, to_json("gateway-eu"), RECEIVED, i) for e, i in zip(model, ids, strict=True)]
