"""The request event, declared once: each field's name, kind, meaning and column.

Everything else is derived from `REQUEST_EVENT`: the wire models gateways send (pydantic `ApiMetricsParams` and
msgspec `WireEvent`), the Kafka message (`EventMessage`, `IngestMessage`) and its encoders, generated into
`schemas/request_event_models.py` by `python -m schemas.event_codegen` (a test keeps that file current); the raw
table's columns (`storage/events.py`); the JSON Schema, /openapi.json and the docs' field table (from the wire
model). A new field is one line here and a migration that adds its column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["secret", "event_id", "name", "short_name", "text", "bool", "tools", "count", "status", "ip_address"]
"""What a field holds, which decides its type and limits in every reader (see `schemas.event_codegen.TYPES`)."""


@dataclass(frozen=True)
class EventField:
    name: str
    """snake_case, as the message and the column name it; gateways send it in camelCase."""
    kind: Kind
    description: str
    """What gateways read (`o11y schema`, /openapi.json, the docs' field table)."""
    required: bool = True
    group: str | None = None
    """Nested under this key on the wire (`tokens`), flat in the message and the table."""
    column: str | None = None
    """Its ClickHouse type in the raw table; None: it never leaves ingest (not in the message, not stored)."""
    comment: str | None = None
    """The column's comment, when it says more than the description (what is stored differs from what is sent)."""


@dataclass(frozen=True)
class Group:
    name: str
    model: str
    """The wire model's class name (`Tokens`)."""
    description: str
    about: str
    """The nested model's docstring."""


TOKENS = Group("tokens", "Tokens", "Token usage of the request.", "Token usage of one request; every count optional.")

REQUEST_EVENT: tuple[EventField, ...] = (
    EventField("client_secret", "secret", "The client's secret, unless the `Authorization: Bearer` or "
               "`X-O11Y-Client-Secret` header carries it.", required=False),
    EventField("event_id", "event_id", "A UUID the gateway creates once per request and repeats on every retry: an event "
               "id is stored once (see `O11Y_DEDUP_HORIZON_S`). Without it, ingest assigns one.", required=False),
    EventField("kilo_user_id", "name", "The user who made the request; anonymous users look like `anon:…`.",
               column="String",
               comment="The user; `anonymous` for every anonymous user (their ids carry the IP address)."),
    EventField("organization_id", "name", "The user's organization, when there is one.", required=False,
               column="Nullable(String)", comment="The user's organization; NULL when the event had none."),
    EventField("is_anonymous", "bool", "True when the user is not signed in.", column="Bool",
               comment="True when the user was not signed in."),
    EventField("is_streaming", "bool", "True when the response was streamed.", column="Bool"),
    EventField("user_byok", "bool", "True when the user brought their own provider key (BYOK).", column="Bool",
               comment="True when the user brought their own provider key."),
    EventField("mode", "short_name", "The client mode, e.g. `build`.", required=False,
               column="LowCardinality(Nullable(String))", comment="The client mode (e.g. `build`); NULL when not sent."),
    EventField("provider", "name", "The gateway's upstream provider id, e.g. `openrouter`.",
               column="LowCardinality(String)", comment="The gateway's upstream provider id (e.g. `openrouter`)."),
    EventField("requested_model", "name", "The model the request asked for, e.g. `kilo/auto`.",
               column="LowCardinality(String)", comment="The model the request asked for."),
    EventField("resolved_model", "name", "The model that served the request, e.g. `anthropic/claude-sonnet-4.5`.",
               column="LowCardinality(String)", comment="The model that served the request."),
    EventField("inference_provider", "text", "The provider that ran the inference, when the upstream says.",
               required=False, column="LowCardinality(Nullable(String))",
               comment="The provider that ran the inference; NULL when unknown."),
    EventField("tools_available", "tools", "Tools offered to the model, e.g. `function:get_weather`.",
               column="Array(LowCardinality(String))", comment="Tools offered in the request (`function:<name>`, …)."),
    EventField("tools_used", "tools", "Tools called in the request's history.", column="Array(LowCardinality(String))",
               comment="Tool calls made in the request's history."),
    EventField("ttfb_ms", "count", "Milliseconds from the request to the first byte of the upstream response.",
               column="UInt64", comment="Milliseconds to the first byte of the upstream response."),
    EventField("complete_request_ms", "count", "Milliseconds from the request until the response was complete.",
               column="UInt64", comment="Milliseconds until the response was complete."),
    EventField("status_code", "status", "The upstream HTTP status; 400 and above count as errors.", column="UInt16",
               comment="Upstream HTTP status."),
    EventField("ip_address", "ip_address", "The end user's IP address: forwarded to PostHog, never stored.",
               required=False),
    EventField("input_tokens", "count", "Prompt tokens sent to the model, cache hits included.", required=False,
               group="tokens", column="Nullable(UInt64)", comment="Prompt tokens; NULL when not reported."),
    EventField("output_tokens", "count", "Tokens the model generated.", required=False, group="tokens",
               column="Nullable(UInt64)", comment="Generated tokens; NULL when not reported."),
    EventField("cache_write_tokens", "count", "Prompt tokens written to the provider's prompt cache.", required=False,
               group="tokens", column="Nullable(UInt64)", comment="Prompt tokens written to the cache; NULL when not reported."),
    EventField("cache_hit_tokens", "count", "Prompt tokens read from the provider's prompt cache.", required=False,
               group="tokens", column="Nullable(UInt64)", comment="Prompt tokens read from the cache; NULL when not reported."),
    EventField("total_tokens", "count", "All tokens of the request, as the provider counted them.", required=False,
               group="tokens", column="Nullable(UInt64)", comment="All tokens of the request; NULL when not reported."),
)
GROUPS = {TOKENS.name: TOKENS}


def message_fields() -> tuple[EventField, ...]:
    """The fields the message carries and the raw table stores, in their order (the envelope goes first)."""
    return tuple(field for field in REQUEST_EVENT if field.column is not None)
