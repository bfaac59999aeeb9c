"""The request event's readers, message models and encoders: GENERATED from `schemas.request_event.REQUEST_EVENT` by
`python -m schemas.event_codegen`. Do not edit: change the declaration and regenerate (a test keeps this file current).
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.event_types import (
    SCHEMA_VERSION,
    Count,
    EventId,
    FastCount,
    FastEventId,
    FastMessageName,
    FastName,
    FastReceivedAt,
    FastSchemaVersion,
    FastSecret,
    FastShortName,
    FastStatusCode,
    FastText,
    FastTools,
    IpAddress,
    MessageCount,
    MessageStatusCode,
    Name,
    NonEmptyStr,
    Omittable,
    Secret,
    ShortName,
    StatusCode,
    Text,
    ToolList,
    Wire,
)
from schemas.request_event import GROUPS, REQUEST_EVENT

T = TypeVar("T")
_SAYS = {field.name: field.description for field in REQUEST_EVENT}
"""What each field means, as gateways read it: from the declaration."""


class Tokens(Wire):
    """Token usage of one request; every count optional."""

    input_tokens: Omittable[Count] = Field(default=None, description=_SAYS["input_tokens"])
    output_tokens: Omittable[Count] = Field(default=None, description=_SAYS["output_tokens"])
    cache_write_tokens: Omittable[Count] = Field(default=None, description=_SAYS["cache_write_tokens"])
    cache_hit_tokens: Omittable[Count] = Field(default=None, description=_SAYS["cache_hit_tokens"])
    total_tokens: Omittable[Count] = Field(default=None, description=_SAYS["total_tokens"])


class ApiMetricsParams(Wire):
    """One gateway request. `clientSecret` may instead come in a header.

    Each field's description (with its unit) is what `o11y schema`, /openapi.json and the docs' field table show.
    """

    client_secret: Omittable[Secret] = Field(default=None, description=_SAYS["client_secret"])
    event_id: Omittable[EventId] = Field(default=None, description=_SAYS["event_id"])
    kilo_user_id: Name = Field(description=_SAYS["kilo_user_id"])
    organization_id: Omittable[Name] = Field(default=None, description=_SAYS["organization_id"])
    is_anonymous: bool = Field(description=_SAYS["is_anonymous"])
    is_streaming: bool = Field(description=_SAYS["is_streaming"])
    user_byok: bool = Field(description=_SAYS["user_byok"])
    mode: Omittable[ShortName] = Field(default=None, description=_SAYS["mode"])
    provider: Name = Field(description=_SAYS["provider"])
    requested_model: Name = Field(description=_SAYS["requested_model"])
    resolved_model: Name = Field(description=_SAYS["resolved_model"])
    inference_provider: Omittable[Text] = Field(default=None, description=_SAYS["inference_provider"])
    tools_available: ToolList = Field(description=_SAYS["tools_available"])
    tools_used: ToolList = Field(description=_SAYS["tools_used"])
    ttfb_ms: Count = Field(description=_SAYS["ttfb_ms"])
    complete_request_ms: Count = Field(description=_SAYS["complete_request_ms"])
    status_code: StatusCode = Field(description=_SAYS["status_code"])
    ip_address: Omittable[IpAddress] = Field(default=None, description=_SAYS["ip_address"])
    tokens: Omittable[Tokens] = Field(default=None, description=GROUPS["tokens"].description)

class WireTokens(msgspec.Struct, rename="camel", frozen=True):
    """`Tokens`, read by msgspec (see `WireEvent`)."""

    input_tokens: FastCount | msgspec.UnsetType = msgspec.UNSET
    output_tokens: FastCount | msgspec.UnsetType = msgspec.UNSET
    cache_write_tokens: FastCount | msgspec.UnsetType = msgspec.UNSET
    cache_hit_tokens: FastCount | msgspec.UnsetType = msgspec.UNSET
    total_tokens: FastCount | msgspec.UnsetType = msgspec.UNSET


class WireEvent(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """`ApiMetricsParams` read by msgspec: the ingest endpoints' fast way in.

    The same fields, names and limits, but narrower: an `eventId` only in its canonical lowercase text, numbers
    only as integers; an omitted field is `UNSET` and a null is refused, as `Omittable` refuses it. The IP address
    is checked after the parse (`ip_address_is_valid`). Whatever it refuses is read by `ApiMetricsParams`, which
    decides and answers; what it takes becomes the very message `ApiMetricsParams` would have made
    (tests/ingest/test_wire_readers.py holds the two to that).
    """

    client_secret: FastSecret | msgspec.UnsetType = msgspec.UNSET
    event_id: FastEventId | msgspec.UnsetType = msgspec.UNSET
    kilo_user_id: FastName
    organization_id: FastName | msgspec.UnsetType = msgspec.UNSET
    is_anonymous: bool
    is_streaming: bool
    user_byok: bool
    mode: FastShortName | msgspec.UnsetType = msgspec.UNSET
    provider: FastName
    requested_model: FastName
    resolved_model: FastName
    inference_provider: FastText | msgspec.UnsetType = msgspec.UNSET
    tools_available: FastTools
    tools_used: FastTools
    ttfb_ms: FastCount
    complete_request_ms: FastCount
    status_code: FastStatusCode
    ip_address: str | msgspec.UnsetType = msgspec.UNSET
    tokens: WireTokens | msgspec.UnsetType = msgspec.UNSET

class EventMessage(BaseModel):
    """Value of a message on the api-metrics topic (also what the loader validates)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: int = Field(ge=1)
    event_id: uuid.UUID
    received_at: AwareDatetime
    """A time without a zone is refused: it names no moment, and would be read in whatever zone a reader is in."""
    client_name: NonEmptyStr
    kilo_user_id: NonEmptyStr
    organization_id: NonEmptyStr | None = None
    is_anonymous: bool
    is_streaming: bool
    user_byok: bool
    mode: NonEmptyStr | None = None
    provider: NonEmptyStr
    requested_model: NonEmptyStr
    resolved_model: NonEmptyStr
    inference_provider: str | None = None
    tools_available: list[str]
    tools_used: list[str]
    ttfb_ms: MessageCount
    complete_request_ms: MessageCount
    status_code: MessageStatusCode
    input_tokens: MessageCount | None = None
    output_tokens: MessageCount | None = None
    cache_write_tokens: MessageCount | None = None
    cache_hit_tokens: MessageCount | None = None
    total_tokens: MessageCount | None = None


class IngestMessage(msgspec.Struct, kw_only=True, frozen=True):
    """`EventMessage` as ingest writes it, read by msgspec: the loader's fast way in.

    The same fields in the same order, but narrower: the id only in its canonical text, `received_at` only as
    `timestamp_text` writes it, integers only as integers, and only this loader's schema version. Whatever it
    refuses is read by `EventMessage`, which decides what is valid; what it takes, `EventMessage` takes as the same
    row (tests/ingest/test_loader_rows.py holds the two to that).
    """

    schema_version: FastSchemaVersion
    event_id: FastEventId
    received_at: FastReceivedAt
    client_name: FastMessageName
    kilo_user_id: FastMessageName
    organization_id: FastMessageName | None = None
    is_anonymous: bool
    is_streaming: bool
    user_byok: bool
    mode: FastMessageName | None = None
    provider: FastMessageName
    requested_model: FastMessageName
    resolved_model: FastMessageName
    inference_provider: str | None = None
    tools_available: list[str]
    tools_used: list[str]
    ttfb_ms: FastCount
    complete_request_ms: FastCount
    status_code: FastStatusCode
    input_tokens: FastCount | None = None
    output_tokens: FastCount | None = None
    cache_write_tokens: FastCount | None = None
    cache_hit_tokens: FastCount | None = None
    total_tokens: FastCount | None = None

_MESSAGE = msgspec.json.Encoder()


def _unset_none(value: T | msgspec.UnsetType) -> T | None:
    return None if isinstance(value, msgspec.UnsetType) else value


_WireMessage: Any = msgspec.defstruct(
    "_WireMessage", [(f.name, f.type) for f in msgspec.structs.fields(IngestMessage)], frozen=True)
"""`IngestMessage`'s fields in its order, built positionally: what `encode_wire_event` encodes (in a third of the
time keyword construction takes)."""


def encode_wire_event(event: WireEvent, client_name: str, received_text: str, event_id: str) -> bytes:
    """`encode_event` for an event read by msgspec: the same message, byte for byte, encoded by msgspec."""
    tokens = event.tokens
    tokens_values = (None,) * 5 if isinstance(tokens, msgspec.UnsetType) else (
        _unset_none(tokens.input_tokens),
        _unset_none(tokens.output_tokens),
        _unset_none(tokens.cache_write_tokens),
        _unset_none(tokens.cache_hit_tokens),
        _unset_none(tokens.total_tokens),
    )
    return _MESSAGE.encode(_WireMessage(
        SCHEMA_VERSION,
        event_id if isinstance(event.event_id, msgspec.UnsetType) else event.event_id,
        received_text,
        client_name,
        event.kilo_user_id,
        _unset_none(event.organization_id),
        event.is_anonymous,
        event.is_streaming,
        event.user_byok,
        _unset_none(event.mode),
        event.provider,
        event.requested_model,
        event.resolved_model,
        _unset_none(event.inference_provider),
        event.tools_available,
        event.tools_used,
        event.ttfb_ms,
        event.complete_request_ms,
        event.status_code,
        *tokens_values,
    ))


def message_fields_of(event: ApiMetricsParams) -> dict[str, Any]:
    """The message's fields of a validated event, in their order, the envelope aside."""
    tokens = event.tokens
    return {
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
