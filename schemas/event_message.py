"""The Kafka message: one accepted event, snake_case, with no secret and no IP address."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, TypeVar

import msgspec
import pydantic_core
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.api_metrics import CANONICAL_UUID, MAX_SAFE_INTEGER, ApiMetricsParams, NonEmptyStr, WireEvent

SCHEMA_VERSION = 1
T = TypeVar("T")

Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]
"""Lax, as the message model is: 45.0 is 45 (and 45.5 is refused) inside pydantic-core, with no Python call."""
StatusCode = Annotated[int, Field(ge=100, le=599)]


class EventMessage(BaseModel):
    """Value of a message on the api-metrics topic (also what the loader validates)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: int = Field(ge=1)
    event_id: uuid.UUID
    received_at: AwareDatetime
    """A time without a zone is refused: it names no moment, and would be read in whatever zone a reader is in."""
    client_name: NonEmptyStr
    kilo_user_id: NonEmptyStr
    organization_id: str | None = None
    is_anonymous: bool
    is_streaming: bool
    user_byok: bool
    mode: str | None = None
    provider: NonEmptyStr
    requested_model: NonEmptyStr
    resolved_model: NonEmptyStr
    inference_provider: str | None = None
    tools_available: list[str]
    tools_used: list[str]
    ttfb_ms: Count
    complete_request_ms: Count
    status_code: StatusCode
    input_tokens: Count | None = None
    output_tokens: Count | None = None
    cache_write_tokens: Count | None = None
    cache_hit_tokens: Count | None = None
    total_tokens: Count | None = None


TIMESTAMP_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
"""What `timestamp_text` writes: UTC, milliseconds, `Z`."""
_FastCount = Annotated[int, msgspec.Meta(ge=0, le=MAX_SAFE_INTEGER)]
_FastName = Annotated[str, msgspec.Meta(min_length=1)]


class IngestMessage(msgspec.Struct, kw_only=True, frozen=True):
    """`EventMessage` as ingest writes it, read by msgspec: the loader's fast way in.

    The same fields in the same order, but narrower: the id only in its canonical text, `received_at` only as
    `timestamp_text` writes it, integers only as integers, and only this loader's schema version. Whatever it
    refuses is read by `EventMessage`, which decides what is valid; what it takes, `EventMessage` takes as the same
    row (tests/ingest/test_loader_rows.py holds the two to that).
    """

    schema_version: Annotated[int, msgspec.Meta(ge=1, le=SCHEMA_VERSION)]
    event_id: Annotated[str, msgspec.Meta(pattern=CANONICAL_UUID)]
    received_at: Annotated[str, msgspec.Meta(pattern=TIMESTAMP_TEXT)]
    client_name: _FastName
    kilo_user_id: _FastName
    organization_id: str | None = None
    is_anonymous: bool
    is_streaming: bool
    user_byok: bool
    mode: str | None = None
    provider: _FastName
    requested_model: _FastName
    resolved_model: _FastName
    inference_provider: str | None = None
    tools_available: list[str]
    tools_used: list[str]
    ttfb_ms: _FastCount
    complete_request_ms: _FastCount
    status_code: Annotated[int, msgspec.Meta(ge=100, le=599)]
    input_tokens: _FastCount | None = None
    output_tokens: _FastCount | None = None
    cache_write_tokens: _FastCount | None = None
    cache_hit_tokens: _FastCount | None = None
    total_tokens: _FastCount | None = None


_MESSAGE = msgspec.json.Encoder()


def _unset_none(value: T | msgspec.UnsetType) -> T | None:
    return None if isinstance(value, msgspec.UnsetType) else value


_WireMessage: Any = msgspec.defstruct("_WireMessage", [(f.name, f.type) for f in msgspec.structs.fields(IngestMessage)],
                                          frozen=True)
"""`IngestMessage`'s fields in its order, built positionally: what `encode_wire_event` encodes (in a third of the time
keyword construction takes)."""


def encode_wire_event(event: WireEvent, client_name: str, received_text: str, event_id: str) -> bytes:
    """`encode_event` for an event read by msgspec: the same message, byte for byte, encoded by msgspec."""
    tokens = event.tokens
    counts = (None,) * 5 if isinstance(tokens, msgspec.UnsetType) else (
        _unset_none(tokens.input_tokens), _unset_none(tokens.output_tokens), _unset_none(tokens.cache_write_tokens),
        _unset_none(tokens.cache_hit_tokens), _unset_none(tokens.total_tokens))
    return _MESSAGE.encode(_WireMessage(
        SCHEMA_VERSION, event_id if isinstance(event.event_id, msgspec.UnsetType) else event.event_id, received_text,
        client_name, event.kilo_user_id, _unset_none(event.organization_id), event.is_anonymous, event.is_streaming,
        event.user_byok, _unset_none(event.mode), event.provider, event.requested_model, event.resolved_model,
        _unset_none(event.inference_provider), event.tools_available, event.tools_used, event.ttfb_ms,
        event.complete_request_ms, event.status_code, *counts))


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
    tokens = event.tokens
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": event.event_id or (str(event_id) if event_id else new_event_ids(1)[0]),
        "received_at": received_at if isinstance(received_at, str) else timestamp_text(received_at),
        "client_name": client_name,
        "kilo_user_id": event.kilo_user_id,
        "organization_id": event.organization_id,
        "is_anonymous": event.is_anonymous,
        "is_streaming": event.is_streaming,
        "user_byok": event.user_byok,
        "mode": event.mode,
        "provider": event.provider,
        "requested_model": event.requested_model,
        "resolved_model": event.resolved_model,
        "inference_provider": event.inference_provider,
        "tools_available": event.tools_available,
        "tools_used": event.tools_used,
        "ttfb_ms": event.ttfb_ms,
        "complete_request_ms": event.complete_request_ms,
        "status_code": event.status_code,
        "input_tokens": tokens.input_tokens if tokens else None,
        "output_tokens": tokens.output_tokens if tokens else None,
        "cache_write_tokens": tokens.cache_write_tokens if tokens else None,
        "cache_hit_tokens": tokens.cache_hit_tokens if tokens else None,
        "total_tokens": tokens.total_tokens if tokens else None,
    }


def message_key(message: dict[str, Any]) -> bytes:
    """Partition key: same client, provider and model land on one partition, in order."""
    return partition_key(message["client_name"], message["provider"], message["resolved_model"])


def partition_key(client_name: str, provider: str, resolved_model: str) -> bytes:
    return f"{client_name}\x1f{provider}\x1f{resolved_model}".encode()


_NOT_IN_MESSAGE = {"client_secret", "ip_address", "tokens", "event_id"}
_NO_TOKENS = b'"input_tokens":null,"output_tokens":null,"cache_write_tokens":null,"cache_hit_tokens":null,"total_tokens":null'
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
