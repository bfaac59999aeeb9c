"""The Kafka message: one accepted event, snake_case, with no secret and no IP address (declared in
`schemas.request_event`; its models and the fast encoder are generated)."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from typing import Any

import pydantic_core

from schemas.event_types import SCHEMA_VERSION, TIMESTAMP_TEXT
from schemas.request_event import GROUPS, REQUEST_EVENT
from schemas.request_event_models import (
    ApiMetricsParams,
    EventMessage,
    IngestMessage,
    encode_wire_event,
    message_fields_of,
)

__all__ = ["SCHEMA_VERSION", "TIMESTAMP_TEXT", "EventMessage", "IngestMessage", "encode_event", "encode_message",
           "encode_wire_event", "message_from_event", "message_key", "new_event_ids", "partition_key", "timestamp_text"]


def new_event_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as text, from one read of the OS's random source (a batch needs one per event)."""
    digits = os.urandom(16 * count).hex()
    ids = []
    for at in range(0, 32 * count, 32):
        d = digits[at:at + 32]
        ids.append(f"{d[:8]}-{d[8:12]}-4{d[13:16]}-{'89ab'[int(d[16], 16) & 3]}{d[17:20]}-{d[20:]}")
    return ids


def timestamp_text(moment: datetime) -> str:
    """`received_at` as the message carries it: UTC, milliseconds, `Z`."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_from_event(
    event: ApiMetricsParams, client_name: str, received_at: datetime | str, event_id: uuid.UUID | str | None = None
) -> dict[str, Any]:
    """The message for an already validated event, as plain data (the hot path skips a second validation).

    `received_at` may be given as `timestamp_text` already, when many events share it. The id is the event's own,
    else `event_id`, else a new one.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": event.event_id or (str(event_id) if event_id else new_event_ids(1)[0]),
        "received_at": received_at if isinstance(received_at, str) else timestamp_text(received_at),
        "client_name": client_name,
        **message_fields_of(event),
    }


def message_key(message: dict[str, Any]) -> bytes:
    """Partition key: same client, provider and model land on one partition, in order."""
    return partition_key(message["client_name"], message["provider"], message["resolved_model"])


def partition_key(client_name: str, provider: str, resolved_model: str) -> bytes:
    return f"{client_name}\x1f{provider}\x1f{resolved_model}".encode()


_NOT_IN_MESSAGE = {f.name for f in REQUEST_EVENT if f.group is None and f.column is None} | set(GROUPS)
"""The secret and the IP address never leave ingest; the id is the envelope's; the tokens are spliced in flat."""
_TOKENS = [f.name for f in REQUEST_EVENT if f.group == "tokens"]
_NO_TOKENS = ",".join(f'"{name}":null' for name in _TOKENS).encode()
assert list(GROUPS) == ["tokens"] and [f.name for f in REQUEST_EVENT if f.column][-len(_TOKENS):] == _TOKENS, (
    "encode_event splices the tokens in last: a group elsewhere needs the encoder generated")
_WIRE = ApiMetricsParams.__pydantic_serializer__


def encode_event(event: ApiMetricsParams, client_json: bytes, received_text: str, event_id: str) -> bytes:
    """`encode_message(message_from_event(...))`, byte for byte, serialized by pydantic-core (the hot path's way).

    The wire model's fields, by name, are the message's in the same order; the tokens are spliced in flat.
    `client_json` is the client's name as JSON, `received_text` a `timestamp_text`: one per request.
    """
    fields = _WIRE.to_json(event, exclude=_NOT_IN_MESSAGE)
    tokens = _NO_TOKENS if event.tokens is None else event.tokens.__pydantic_serializer__.to_json(event.tokens)[1:-1]
    return b'{"schema_version":%d,"event_id":"%s","received_at":"%s","client_name":%s,%s,%s}' % (
        SCHEMA_VERSION, (event.event_id or event_id).encode(), received_text.encode(), client_json, fields[1:-1], tokens)


def encode_message(message: dict[str, Any]) -> bytes:
    return pydantic_core.to_json(message)


class RequestKind:
    """The request event as a pipeline `Kind` (`schemas.event_kinds`): its generated models and fast encoder."""

    name = "api-metrics"
    noun = "LLM gateway request"
    wire = ApiMetricsParams
    message = EventMessage

    def event_id(self, event: ApiMetricsParams) -> str | None:
        return event.event_id

    def encode(self, event: ApiMetricsParams, client_json: bytes, received_text: str, event_id: str) -> bytes:
        return encode_event(event, client_json, received_text, event_id)

    def key(self, event: ApiMetricsParams, client: str) -> bytes:
        return partition_key(client, event.provider, event.resolved_model)


REQUESTS = RequestKind()
