"""The session event, declared once: one finished agent session, as the reference worker's `SessionMetricsParams`.

Field for field its zod schema (`services/o11y`, `session-metrics-schema.ts`): the same names, rules and defaults
(`organizationId` and `model` empty, `ingestVersion` 0), plus what every o11y event takes (`clientSecret`,
`eventId`) and the limits every number and name has here. Each stored field's `Stored` is its column in
`o11y.session_metrics`; the message, the encoder and the table are derived (`schemas.event_kinds`).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from schemas.event_kinds import EventType, Stored
from schemas.event_types import MAX_NAME, Count, EventId, Name, Omittable, Secret, Text, Wire

TERMINATION_REASONS = ("completed", "error", "interrupted", "abandoned", "unknown")
TerminationReason = Literal["completed", "error", "interrupted", "abandoned", "unknown"]
MAX_TYPES = 256
"""At most this many tool types (or error types) in one map: a session's tools are a handful, never a document."""
MAX_COST_USD = 1_000_000.0
ByType = Annotated[dict[Name, Count], Field(max_length=MAX_TYPES)]
"""Type → count: keys 1–256 characters, counts integers ≥ 0, at most `MAX_TYPES` entries."""


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Cost = Annotated[float, Field(ge=0, le=MAX_COST_USD), AfterValidator(_finite)]
COUNT_MAP = "Map(LowCardinality(String), UInt64)"


class SessionTokens(Wire):
    """Tokens of the whole session; every part required."""

    input: Annotated[Count, Stored("UInt64", column="input_tokens")] = Field(
        description="Prompt tokens sent to the model over the session.")
    output: Annotated[Count, Stored("UInt64", column="output_tokens")] = Field(
        description="Tokens the model generated over the session.")
    reasoning: Annotated[Count, Stored("UInt64", column="reasoning_tokens")] = Field(
        description="Reasoning tokens the model generated over the session.")
    cache_read: Annotated[Count, Stored("UInt64", column="cache_read_tokens")] = Field(
        description="Prompt tokens read from the provider's prompt cache.")
    cache_write: Annotated[Count, Stored("UInt64", column="cache_write_tokens")] = Field(
        description="Prompt tokens written to the provider's prompt cache.")


class SessionMetricsParams(Wire):
    """One finished agent session. `clientSecret` may instead come in a header."""

    client_secret: Omittable[Secret] = Field(default=None, description="The client's secret, unless the "
                                             "`Authorization: Bearer` or `X-O11Y-Client-Secret` header carries it.")
    event_id: Omittable[EventId] = Field(default=None, description="A UUID the sender creates once per session report "
                                         "and repeats on every retry: stored once. Without it, ingest assigns one.")
    kilo_user_id: Annotated[Name, Stored("String", "The user; `anonymous` for every anonymous user (`anon:…` ids "
                                         "carry the IP address).")] = Field(
        description="The user whose session it was; anonymous users look like `anon:…`.")
    organization_id: Annotated[Text, Stored("String", "The user's organization; empty when there is none.")] = Field(
        default="", description="The user's organization; empty when there is none.")
    session_id: Annotated[Name, Stored("String")] = Field(description="The agent session's id.")
    platform: Annotated[Name, Stored("LowCardinality(String)")] = Field(
        description="The client surface the session ran on, e.g. an editor or the CLI.")
    session_duration_ms: Annotated[Count, Stored("UInt64")] = Field(
        description="Milliseconds from the session's start to its end.")
    time_to_first_response_ms: Annotated[Omittable[Count], Stored(
        "Nullable(UInt64)", "Milliseconds to the first response; NULL when not sent.")] = Field(
        default=None, description="Milliseconds from the first prompt to the first response, when known.")
    total_turns: Annotated[Count, Stored("UInt64")] = Field(description="User turns in the session.")
    total_steps: Annotated[Count, Stored("UInt64")] = Field(description="Agent steps (model calls) in the session.")
    tool_calls_by_type: Annotated[ByType, Stored(COUNT_MAP)] = Field(
        description="Tool calls per tool type, e.g. `{\"read_file\": 12}`.")
    tool_errors_by_type: Annotated[ByType, Stored(COUNT_MAP)] = Field(
        description="Tool calls that failed, per tool type.")
    total_errors: Annotated[Count, Stored("UInt64")] = Field(description="Errors in the session, of any type.")
    errors_by_type: Annotated[ByType, Stored(COUNT_MAP)] = Field(description="Errors per error type.")
    stuck_tool_call_count: Annotated[Count, Stored("UInt64")] = Field(
        description="Tool calls that never finished.")
    total_tokens: SessionTokens = Field(description="Token usage of the session: every part required.")
    total_cost: Annotated[Cost, Stored("Float64", "What the session cost, in USD.")] = Field(
        description="What the session cost, in USD (0 to 1,000,000).")
    compaction_count: Annotated[Count, Stored("UInt64")] = Field(description="Times the context was compacted.")
    auto_compaction_count: Annotated[Count, Stored("UInt64")] = Field(
        description="Of those, compactions the agent started by itself.")
    termination_reason: Annotated[TerminationReason, Stored("LowCardinality(String)")] = Field(
        description=f"How the session ended: one of {', '.join(f'`{r}`' for r in TERMINATION_REASONS)}.")
    model: Annotated[Text, Stored("LowCardinality(String)", "The session's model; empty when not sent.")] = Field(
        default="", description="The model the session ran on; empty when not sent.")
    ingest_version: Annotated[Count, Stored("UInt64")] = Field(
        default=0, description="The sender's schema version: lets a rolling deploy tell old senders from new.")


SESSIONS = EventType("session-metrics", "session", SessionMetricsParams, ("platform", "model"))

assert MAX_NAME == 256
