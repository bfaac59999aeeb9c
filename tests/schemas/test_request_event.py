"""The request event is declared once (`schemas.request_event`): every reader, the message and the table follow it."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from schemas import event_codegen, request_event
from schemas.api_metrics import ApiMetricsParams, Tokens, WireEvent
from schemas.event_message import EventMessage, IngestMessage
from schemas.request_event import GROUPS, REQUEST_EVENT, EventField, message_fields
from storage.events import API_METRICS

ENVELOPE = ["schema_version", "event_id", "received_at", "client_name"]


def test_the_generated_models_are_what_the_declaration_says() -> None:
    assert event_codegen.TARGET.read_text() == event_codegen.render(), "regenerate: python -m schemas.event_codegen"


def test_every_declared_field_is_read_carried_and_stored_in_its_order() -> None:
    top = [f.name for f in REQUEST_EVENT if f.group is None]
    assert list(ApiMetricsParams.model_fields) == [*top, *GROUPS]
    assert [f.name for f in msgspec.structs.fields(WireEvent)] == [*top, *GROUPS]
    assert list(Tokens.model_fields) == [f.name for f in REQUEST_EVENT if f.group == "tokens"]
    carried = [f.name for f in message_fields()]
    assert list(EventMessage.model_fields) == [*ENVELOPE, *carried]
    assert list(IngestMessage.__struct_fields__) == [*ENVELOPE, *carried]
    stored = [c.name for c in API_METRICS.columns]
    assert [name for name in stored if name in carried] == carried
    assert {f.name for f in REQUEST_EVENT if f.column is None} == {"client_secret", "event_id", "ip_address"}


def test_what_a_gateway_reads_of_a_field_is_its_declared_meaning() -> None:
    schema = ApiMetricsParams.model_json_schema(by_alias=True)
    assert schema["properties"]["ttfbMs"]["description"] == next(f.description for f in REQUEST_EVENT if f.name == "ttfb_ms")


def test_a_new_field_is_one_declaration_every_reader_and_the_table_follow(monkeypatch: pytest.MonkeyPatch) -> None:
    """What adding `finishReason` takes: one `EventField` (and the migration adding its column)."""
    added = EventField("example_added_field", "short_name", "An example.", required=False,
                       column="LowCardinality(Nullable(String))")
    at = next(i for i, f in enumerate(REQUEST_EVENT) if f.name == "ip_address")
    monkeypatch.setattr(request_event, "REQUEST_EVENT", (*REQUEST_EVENT[:at], added, *REQUEST_EVENT[at:]))
    monkeypatch.setattr(event_codegen, "REQUEST_EVENT", request_event.REQUEST_EVENT)
    source = event_codegen.render()
    assert source.count("example_added_field:") == 4  # the wire model, its fast reader, the message, its fast reader
    assert "_unset_none(event.example_added_field)," in source
    assert '"example_added_field": event.example_added_field,' in source
    assert [f.name for f in request_event.message_fields()][-6] == "example_added_field"
    assert dataclasses.replace(added, column=None) not in request_event.message_fields()
