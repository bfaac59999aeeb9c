"""The wire format gateways POST: the seed worker's ApiMetricsParams, field for field."""

from __future__ import annotations

import functools
import ipaddress
import uuid
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import msgspec
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

MAX_SAFE_INTEGER = 2**53 - 1
CANONICAL_UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
"""A UUID as `str(uuid.UUID(...))` writes it."""


def _whole_number(value: Any) -> Any:
    """JSON has one number type: 45.0 is the integer 45, as it was for the seed."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def event_uuid(value: str) -> str:
    """A client-chosen event id: any UUID, stored in its canonical lowercase form."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a UUID, e.g. 0b9e6f4e-8f0a-4d8e-9c39-2f1f4c7d2a10") from None


_known_address = functools.lru_cache(maxsize=4096)(ipaddress.ip_address)
"""Gateways report the same users' addresses again and again: a valid one is parsed once."""


def _ip_address(value: str) -> str:
    try:
        _known_address(value)
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None
    return value


NonEmptyStr = Annotated[str, Field(min_length=1)]
MAX_NAME = 256
"""The longest user, organization, provider, model, client or tool name: every filter, silence and override that names
one takes names this long too."""
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
"""Users, organizations, providers, models and tools: short names, never documents."""
ShortName = Annotated[str, Field(min_length=1, max_length=64)]
Secret = Annotated[str, Field(min_length=1, max_length=512)]
ToolList = Annotated[list[Name], Field(max_length=256)]

Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER), BeforeValidator(_whole_number)]
StatusCode = Annotated[int, Field(ge=100, le=599), BeforeValidator(_whole_number)]
EventId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(event_uuid),
                    WithJsonSchema({"type": "string", "format": "uuid",
                                    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"})]
IpAddress = Annotated[
    str, AfterValidator(_ip_address), WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})
]


NULL_MESSAGE = "may be omitted but must not be null"

T = TypeVar("T")
if TYPE_CHECKING:
    Omittable = Annotated[T | None, "may be omitted (None), never null"]
else:
    class Omittable:
        """`Omittable[X]`: X or absent (None), never JSON null. Validated as X alone, in pydantic-core: no Python call."""

        def __class_getitem__(cls, item: Any) -> Any:
            return item


class _Wire(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
    )


class Tokens(_Wire):
    """Token usage of one request; every count optional."""

    input_tokens: Omittable[Count] = Field(default=None, description="Prompt tokens sent to the model, cache hits included.")
    output_tokens: Omittable[Count] = Field(default=None, description="Tokens the model generated.")
    cache_write_tokens: Omittable[Count] = Field(
        default=None, description="Prompt tokens written to the provider's prompt cache.")
    cache_hit_tokens: Omittable[Count] = Field(default=None, description="Prompt tokens read from the provider's prompt cache.")
    total_tokens: Omittable[Count] = Field(default=None, description="All tokens of the request, as the provider counted them.")


class ApiMetricsParams(_Wire):
    """One gateway request. `clientSecret` may instead come in a header.

    Each field's description (with its unit) is what `o11y schema`, /openapi.json and the docs' field table show.
    """

    client_secret: Omittable[Secret] = Field(
        default=None,
        description="The client's secret, unless the `Authorization: Bearer` or `X-O11Y-Client-Secret` header carries it.",
    )
    event_id: Omittable[EventId] = Field(
        default=None,
        description="A UUID the gateway creates once per request and repeats on every retry: an event id is "
        "stored once (see `O11Y_DEDUP_HORIZON_S`). Without it, ingest assigns one.",
    )
    kilo_user_id: Name = Field(description="The user who made the request; anonymous users look like `anon:…`.")
    organization_id: Omittable[Name] = Field(default=None, description="The user's organization, when there is one.")
    is_anonymous: bool = Field(description="True when the user is not signed in.")
    is_streaming: bool = Field(description="True when the response was streamed.")
    user_byok: bool = Field(description="True when the user brought their own provider key (BYOK).")
    mode: Omittable[ShortName] = Field(default=None, description="The client mode, e.g. `build`.")
    provider: Name = Field(description="The gateway's upstream provider id, e.g. `openrouter`.")
    requested_model: Name = Field(description="The model the request asked for, e.g. `kilo/auto`.")
    resolved_model: Name = Field(description="The model that served the request, e.g. `anthropic/claude-sonnet-4.5`.")
    inference_provider: Omittable[Annotated[str, Field(max_length=256)]] = Field(
        default=None, description="The provider that ran the inference, when the upstream says."
    )
    tools_available: ToolList = Field(description="Tools offered to the model, e.g. `function:get_weather`.")
    tools_used: ToolList = Field(description="Tools called in the request's history.")
    ttfb_ms: Count = Field(description="Milliseconds from the request to the first byte of the upstream response.")
    complete_request_ms: Count = Field(description="Milliseconds from the request until the response was complete.")
    status_code: StatusCode = Field(description="The upstream HTTP status; 400 and above count as errors.")
    ip_address: Omittable[IpAddress] = Field(
        default=None, description="The end user's IP address: forwarded to PostHog, never stored."
    )
    tokens: Omittable[Tokens] = Field(default=None, description="Token usage of the request.")


_FastName = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
_FastCount = Annotated[int, msgspec.Meta(ge=0, le=MAX_SAFE_INTEGER)]
_FastTools = Annotated[list[_FastName], msgspec.Meta(max_length=256)]


class WireTokens(msgspec.Struct, rename="camel", frozen=True):
    """`Tokens`, read by msgspec (see `WireEvent`)."""

    input_tokens: _FastCount | msgspec.UnsetType = msgspec.UNSET
    output_tokens: _FastCount | msgspec.UnsetType = msgspec.UNSET
    cache_write_tokens: _FastCount | msgspec.UnsetType = msgspec.UNSET
    cache_hit_tokens: _FastCount | msgspec.UnsetType = msgspec.UNSET
    total_tokens: _FastCount | msgspec.UnsetType = msgspec.UNSET


class WireEvent(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """`ApiMetricsParams` read by msgspec: the ingest endpoints' fast way in.

    The same fields, names and limits, but narrower: an `eventId` only in its canonical lowercase text, numbers
    only as integers; an omitted field is `UNSET` and a null is refused, as `Omittable` refuses it. The IP address
    is checked after the parse (`ip_address_is_valid`). Whatever it refuses is read by `ApiMetricsParams`, which
    decides and answers; what it takes becomes the very message `ApiMetricsParams` would have made
    (tests/ingest/test_wire_readers.py holds the two to that).
    """

    client_secret: Annotated[str, msgspec.Meta(min_length=1, max_length=512)] | msgspec.UnsetType = msgspec.UNSET
    event_id: Annotated[str, msgspec.Meta(pattern=CANONICAL_UUID)] | msgspec.UnsetType = msgspec.UNSET
    kilo_user_id: _FastName
    organization_id: _FastName | msgspec.UnsetType = msgspec.UNSET
    is_anonymous: bool
    is_streaming: bool
    user_byok: bool
    mode: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | msgspec.UnsetType = msgspec.UNSET
    provider: _FastName
    requested_model: _FastName
    resolved_model: _FastName
    inference_provider: Annotated[str, msgspec.Meta(max_length=256)] | msgspec.UnsetType = msgspec.UNSET
    tools_available: _FastTools
    tools_used: _FastTools
    ttfb_ms: _FastCount
    complete_request_ms: _FastCount
    status_code: Annotated[int, msgspec.Meta(ge=100, le=599)]
    ip_address: str | msgspec.UnsetType = msgspec.UNSET
    tokens: WireTokens | msgspec.UnsetType = msgspec.UNSET


def ip_address_is_valid(event: WireEvent) -> bool:
    """The check `ApiMetricsParams` makes of `ipAddress`, for an event read by msgspec."""
    if isinstance(event.ip_address, msgspec.UnsetType):
        return True
    try:
        _known_address(event.ip_address)
    except ValueError:
        return False
    return True


_WIRE_EVENT = msgspec.json.Decoder(WireEvent)


def read_wire_event(body: bytes) -> WireEvent | None:
    """One event's body read by msgspec, when it is exactly as `WireEvent` takes it (its IP address too); None
    otherwise, and for nesting deeper than msgspec goes: then `ApiMetricsParams` reads it, decides and answers."""
    try:
        event = _WIRE_EVENT.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    return event if ip_address_is_valid(event) else None


OMITTABLE = frozenset(
    field.alias or name for model in (ApiMetricsParams, Tokens) for name, field in model.model_fields.items()
    if not field.is_required()
)
"""Wire names of the fields that may be omitted: a null there is answered with NULL_MESSAGE."""


def _drop_null(prop: dict[str, Any]) -> None:
    """Optional fields may be omitted, never null: say so in the schema. Titles made from names ("Kilouserid") go."""
    prop.pop("title", None)
    variants = [v for v in prop.pop("anyOf", []) if v.get("type") != "null"]
    if len(variants) == 1:
        prop.update(variants[0])
    elif variants:
        prop["anyOf"] = variants
    if prop.get("default", 0) is None:
        del prop["default"]


def wire_json_schema() -> dict[str, Any]:
    """JSON Schema of one event as gateways send it (camelCase)."""
    schema = ApiMetricsParams.model_json_schema(by_alias=True)
    for definition in [schema, *schema.get("$defs", {}).values()]:
        for prop in definition.get("properties", {}).values():
            _drop_null(prop)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "One LLM gateway request reported to POST /ingest/api-metrics. Unknown keys are ignored; "
        "optional keys may be omitted but not null. clientSecret may instead be sent as "
        "'Authorization: Bearer <secret>' or 'X-O11Y-Client-Secret'."
    )
    return schema
