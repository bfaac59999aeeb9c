"""The Idempotency-Key rules: which keys are taken, and which event id each client's key names, for good."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.idempotency_key import MAX_LENGTH, event_id_for_key, item_ids_for_key, key_text

A_UUID = "0b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10"


@pytest.mark.parametrize("header, key", [
    ("req_01J9ZK3V8Q2T", "req_01J9ZK3V8Q2T"),
    ("gen-1733578512-AbCdEf", "gen-1733578512-AbCdEf"),
    ("  padded\t", "padded"),
    ("with inner spaces ~!@#", "with inner spaces ~!@#"),
    ('"req_quoted"', "req_quoted"),
    (r'"a \"quote\" and a \\ backslash"', 'a "quote" and a \\ backslash'),
    ('"half-quoted', '"half-quoted'),
    ("k" * MAX_LENGTH, "k" * MAX_LENGTH),
], ids=["a gateway's request id", "an OpenRouter-style generation id", "spaces around it are not part of it",
        "spaces inside it are", "the draft's quoted form is its content", "escapes of the quoted form are read",
        "a lone quote is part of the key", "255 characters are taken"])
def test_a_header_carries_its_key(header: str, key: str) -> None:
    assert key_text(header) == key


@pytest.mark.parametrize("header, problem", [
    ("", "this one is empty"), ("   ", "this one is empty"), ('""', "this one is empty"),
    ("k" * (MAX_LENGTH + 1), "this one has 256 characters"), (f'"{"k" * 256}"', "this one has 256 characters"),
    ("tab\there", "U+0009 at position 3"), ("caf\u00e9", "U+00E9 at position 3"), ("bad\udce9byte", "U+DCE9 at position 3"),
    ("nul\x00", "U+0000 at position 3"), ("del\x7f", "U+007F at position 3"),
], ids=["empty", "blank", "empty in quotes", "256 characters", "256 characters in quotes", "a tab", "not ASCII",
        "a byte that is not UTF-8", "a NUL", "a DEL"])
def test_a_key_against_the_rule_is_refused_naming_the_rule(header: str, problem: str) -> None:
    with pytest.raises(ValueError) as refused:
        key_text(header)
    assert str(refused.value).startswith("An Idempotency-Key is 1 to 255 printable ASCII characters")
    assert problem in str(refused.value)


def test_the_ids_keys_name_never_change() -> None:
    """Stored ids derive from these: a change would store every retry across a deploy twice."""
    assert event_id_for_key("kilo-gateway", "req_abc") == "36a10033-f390-5ace-b99d-0f44fa0aef4d"
    assert item_ids_for_key("kilo-gateway", "req_abc", [0, 1]) == [
        "58adf817-f9fc-5f8f-8676-faceea6ddfb1", "c9b1dc20-7ebc-519a-b395-6d33973accc1"]


@pytest.mark.parametrize("key", [A_UUID, A_UUID.upper(), A_UUID.replace("-", ""), f"{{{A_UUID}}}", f"urn:uuid:{A_UUID}"],
                         ids=["canonical", "upper case", "without hyphens", "in braces", "as a URN"])
def test_a_uuid_key_is_the_event_id_for_every_client_as_it_always_was(key: str) -> None:
    assert event_id_for_key("kilo-gateway", key) == event_id_for_key("other-client", key) == A_UUID


def test_a_batchs_uuid_key_names_the_same_items_in_any_spelling() -> None:
    assert item_ids_for_key("c", A_UUID.upper(), range(3)) == item_ids_for_key("c", A_UUID, range(3))


def _is_uuid(key: str) -> bool:
    try:
        uuid.UUID(key)
    except ValueError:
        return False
    return True


KEYS_AS_SENT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=MAX_LENGTH).filter(
    lambda key: key == key.strip(" ") and not key.startswith('"'))
"""Keys as a gateway sends them (spaces around a value and the draft's quotes are covered above)."""


@given(key=KEYS_AS_SENT | st.uuids().map(str), clients=st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=2,
                                                                 unique=True))
def test_one_key_names_another_event_for_each_client_and_for_each_place_in_a_batch(key: str, clients: list[str]) -> None:
    assert key_text(key) == key
    single = [event_id_for_key(client, key) for client in clients]
    items = [item_ids_for_key(client, key, range(3)) for client in clients]
    ids = [*single, *items[0], *items[1]]
    if _is_uuid(key):  # a UUID key is the event's id whoever sends it, as it always was (storage is per client)
        assert single == [str(uuid.UUID(key))] * 2 and len(set(ids)) == len(ids) - 1
    else:
        assert len(set(ids)) == len(ids)
    assert single == [event_id_for_key(client, key) for client in clients]
