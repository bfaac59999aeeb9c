"""The wire format gateways POST: the seed worker's ApiMetricsParams, field for field (declared in
`schemas.request_event`); its fast reader and its JSON Schema."""

from __future__ import annotations

from typing import Any

import msgspec
from pydantic import BaseModel

from schemas.event_types import (
    CANONICAL_UUID,
    MAX_NAME,
    MAX_SAFE_INTEGER,
    NULL_MESSAGE,
    NonEmptyStr,
    event_uuid,
    known_address,
)
from schemas.request_event_models import ApiMetricsParams, Tokens, WireEvent, WireTokens

__all__ = ["CANONICAL_UUID", "MAX_NAME", "MAX_SAFE_INTEGER", "NULL_MESSAGE", "OMITTABLE", "ApiMetricsParams", "NonEmptyStr",
           "Tokens", "WireEvent", "WireTokens", "event_uuid", "ip_address_is_valid", "read_wire_event", "wire_json_schema"]


def ip_address_is_valid(event: WireEvent) -> bool:
    """The check `ApiMetricsParams` makes of `ipAddress`, for an event read by msgspec."""
    if isinstance(event.ip_address, msgspec.UnsetType):
        return True
    try:
        known_address(event.ip_address)
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


def wire_json_schema(wire: type[BaseModel] = ApiMetricsParams, path: str = "/ingest/api-metrics",
                     what: str = "One LLM gateway request") -> dict[str, Any]:
    """JSON Schema of one event as clients send it (camelCase): a request, or another event type's `wire` model."""
    schema = wire.model_json_schema(by_alias=True)
    for definition in [schema, *schema.get("$defs", {}).values()]:
        for prop in definition.get("properties", {}).values():
            _drop_null(prop)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        f"{what} reported to POST {path}. Unknown keys are ignored; "
        "optional keys may be omitted but not null. clientSecret may instead be sent as "
        "'Authorization: Bearer <secret>' or 'X-O11Y-Client-Secret'."
    )
    return schema
