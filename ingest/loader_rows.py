"""Decoding a Kafka message into a raw-table row: the loader's only per-message logic."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from schemas.event_message import SCHEMA_VERSION, EventMessage

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "UUID"),
    ("received_at", "DateTime64(3, 'UTC')"),
    ("client_name", "LowCardinality(String)"),
    ("kilo_user_id", "String"),
    ("organization_id", "Nullable(String)"),
    ("is_anonymous", "Bool"),
    ("is_streaming", "Bool"),
    ("user_byok", "Bool"),
    ("mode", "LowCardinality(Nullable(String))"),
    ("provider", "LowCardinality(String)"),
    ("requested_model", "LowCardinality(String)"),
    ("resolved_model", "LowCardinality(String)"),
    ("inference_provider", "LowCardinality(Nullable(String))"),
    ("tools_available", "Array(LowCardinality(String))"),
    ("tools_used", "Array(LowCardinality(String))"),
    ("ttfb_ms", "UInt64"),
    ("complete_request_ms", "UInt64"),
    ("status_code", "UInt16"),
    ("input_tokens", "Nullable(UInt64)"),
    ("output_tokens", "Nullable(UInt64)"),
    ("cache_write_tokens", "Nullable(UInt64)"),
    ("cache_hit_tokens", "Nullable(UInt64)"),
    ("total_tokens", "Nullable(UInt64)"),
)
SOURCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("kafka_topic", "LowCardinality(String)"),
    ("kafka_partition", "UInt32"),
    ("kafka_offset", "UInt64"),
)
COLUMNS = EVENT_COLUMNS + SOURCE_COLUMNS
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
COLUMN_TYPES = tuple(kind for _, kind in COLUMNS)
_FIELDS = tuple(name for name, _ in EVENT_COLUMNS)


class InvalidMessage(Exception):
    """The message can never be loaded; it belongs in the dead-letter topic with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_row(value: bytes | None, topic: str, partition: int, offset: int) -> tuple[Any, ...]:
    if value is None:
        raise InvalidMessage("empty message (tombstone)")
    try:
        message = EventMessage.model_validate_json(value)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise InvalidMessage(f"{err.error_count()} problem(s), first at {where}: {first['msg']}") from None
    if message.schema_version > SCHEMA_VERSION:
        raise InvalidMessage(f"schema_version {message.schema_version} is newer than this loader ({SCHEMA_VERSION})")
    return tuple(getattr(message, name) for name in _FIELDS) + (topic, partition, offset)
