"""The wire format gateways POST: the seed worker's ApiMetricsParams, field for field."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator
from pydantic.alias_generators import to_camel

MAX_SAFE_INTEGER = 2**53 - 1


def _whole_number(value: Any) -> Any:
    """JSON has one number type: 45.0 is the integer 45, as it was for the seed."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _ip_address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None
    return value


NonEmptyStr = Annotated[str, Field(min_length=1)]
Name = Annotated[str, Field(min_length=1, max_length=256)]
"""Users, organizations, providers, models and tools: short names, never documents."""
ShortName = Annotated[str, Field(min_length=1, max_length=64)]
Secret = Annotated[str, Field(min_length=1, max_length=512)]
ToolList = Annotated[list[Name], Field(max_length=256)]

Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER), BeforeValidator(_whole_number)]
StatusCode = Annotated[int, Field(ge=100, le=599), BeforeValidator(_whole_number)]
IpAddress = Annotated[
    str, AfterValidator(_ip_address), WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})
]


def _reject_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may be omitted but must not be null")
    return value


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

    input_tokens: Count | None = None
    output_tokens: Count | None = None
    cache_write_tokens: Count | None = None
    cache_hit_tokens: Count | None = None
    total_tokens: Count | None = None

    _no_null = field_validator("*", mode="before")(_reject_null)


class ApiMetricsParams(_Wire):
    """One gateway request. `clientSecret` may instead come in a header."""

    client_secret: Secret | None = None
    kilo_user_id: Name
    organization_id: Name | None = None
    is_anonymous: bool
    is_streaming: bool
    user_byok: bool
    mode: ShortName | None = None
    provider: Name
    requested_model: Name
    resolved_model: Name
    inference_provider: Annotated[str, Field(max_length=256)] | None = None
    tools_available: ToolList
    tools_used: ToolList
    ttfb_ms: Count
    complete_request_ms: Count
    status_code: StatusCode
    ip_address: IpAddress | None = None
    tokens: Tokens | None = None

    _no_null = field_validator(
        "client_secret",
        "organization_id",
        "mode",
        "inference_provider",
        "ip_address",
        "tokens",
        mode="before",
    )(_reject_null)


def _drop_null(prop: dict[str, Any]) -> None:
    """Optional fields may be omitted, never null: say so in the schema."""
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
