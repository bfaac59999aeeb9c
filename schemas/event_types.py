"""The types the request event's fields are made of: names, counts, statuses, ids and addresses, with their limits, for
pydantic (the reference readers) and for msgspec (the fast ones). No I/O."""

from __future__ import annotations

import functools
import ipaddress
import uuid
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import msgspec
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

SCHEMA_VERSION = 1
"""The message's schema version: a loader refuses a newer one."""

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


known_address = functools.lru_cache(maxsize=4096)(ipaddress.ip_address)
"""Gateways report the same users' addresses again and again: a valid one is parsed once."""


def _ip_address(value: str) -> str:
    try:
        known_address(value)
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


FastName = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
FastShortName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
FastText = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]
FastSecret = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
FastEventId = Annotated[str, msgspec.Meta(pattern=CANONICAL_UUID)]
FastCount = Annotated[int, msgspec.Meta(ge=0, le=MAX_SAFE_INTEGER)]
FastStatusCode = Annotated[int, msgspec.Meta(ge=100, le=599)]
FastTools = Annotated[list[FastName], msgspec.Meta(max_length=256)]
"""msgspec's readers of the wire: the same limits, narrower (integers only as integers, an id only in its canonical text)."""

Text = Annotated[str, Field(max_length=MAX_NAME)]
MessageCount = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]
"""Lax, as the message model is: 45.0 is 45 (and 45.5 is refused) inside pydantic-core, with no Python call."""
MessageStatusCode = Annotated[int, Field(ge=100, le=599)]
TIMESTAMP_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
"""What `timestamp_text` writes: UTC, milliseconds, `Z`."""
FastMessageName = Annotated[str, msgspec.Meta(min_length=1)]
FastReceivedAt = Annotated[str, msgspec.Meta(pattern=TIMESTAMP_TEXT)]
FastSchemaVersion = Annotated[int, msgspec.Meta(ge=1, le=SCHEMA_VERSION)]


class Wire(BaseModel):
    """What gateways send: strict, camelCase, unknown keys ignored."""

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
    )
