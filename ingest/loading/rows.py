"""Decoding a Kafka message into a raw-table row: the loader's only per-message logic."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple, Protocol

import msgspec
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from ingest.loading.steps.step import InvalidMessage
from schemas.event_kinds import Kind
from schemas.event_message import SCHEMA_VERSION, EventMessage, IngestMessage
from schemas.usage_columns import stored_user

INSERT_FORMAT = "JSONEachRow"
INSERT_SETTINGS = {"input_format_skip_unknown_fields": 1, "date_time_input_format": "best_effort",
                   "insert_distributed_sync": 1}
"""`insert_distributed_sync`: through a cluster's Distributed table, an insert returns once every shard has its rows."""
DEFAULT_MAX_SKEW = timedelta(minutes=5)
LARGEST_ROW_BYTES = 96 * 1024
"""An event is at most 64 KiB on the wire (O11Y_HTTP_MAX_BODY_BYTES); its row adds the message's own fields."""
_MS = timedelta(milliseconds=1)


class Row(NamedTuple):
    """One validated event as a JSONEachRow line, with where it came from and what identifies it."""

    partition: int
    event_id: str
    line: bytes
    offset: int
    client: str
    received_ms: int


def _within_skew(received_ms: int, timestamp_ms: int | None, max_skew: timedelta) -> bool:
    """Compared in whole milliseconds: the times are built only to say what is wrong."""
    return timestamp_ms is None or timestamp_ms < 0 or abs(received_ms - timestamp_ms) < max_skew // _MS


def _check_clock(received_at: datetime, received_ms: int, timestamp_ms: int | None, max_skew: timedelta) -> None:
    """`received_at` must agree with the broker's timestamp of the message: a time from elsewhere is never half-loaded."""
    if timestamp_ms is None or _within_skew(received_ms, timestamp_ms, max_skew):
        return
    logged = datetime.fromtimestamp(timestamp_ms / 1000, timezone.utc)
    if abs(received_at - logged) > max_skew:
        raise InvalidMessage(
            f"received_at {received_at.isoformat()} is {abs(received_at - logged)} away from the message's Kafka "
            f"timestamp {logged.isoformat()} (allowed: {max_skew})"
        )


_EVENT_ID = b'"event_id":"'
_ID_LENGTH = 36


@functools.lru_cache(maxsize=64)
def _json_text(topic: str) -> bytes:
    """A topic's name as JSON: a loader reads one topic, so it is encoded once."""
    return to_json(topic)


_FAST = msgspec.json.Decoder(IngestMessage)
_ENCODE = msgspec.json.Encoder()
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def decode_row(value: bytes | None, topic: str, partition: int, offset: int, timestamp_ms: int | None = None,
               max_skew: timedelta = DEFAULT_MAX_SKEW) -> Row:
    """Validate the message and re-serialize it normalized, so ClickHouse parses exactly what was validated (an
    anonymous user's id, which carries the IP address, as `anonymous`).

    A message as ingest writes it is read by msgspec (`IngestMessage`), at a third of the model's cost; anything
    else, and anything wrong, is read by `decode_row_by_model`, which decides: the row is the same either way.
    """
    if value is not None:
        try:
            message = _FAST.decode(value)
            received_ms = _text_epoch_ms(message.received_at)
        except (msgspec.DecodeError, ValueError, RecursionError):  # nesting deeper than msgspec goes: the model decides
            pass
        else:
            if _within_skew(received_ms, timestamp_ms, max_skew):
                if (user := stored_user(message.kilo_user_id, message.is_anonymous)) is not None:
                    message = msgspec.structs.replace(message, kilo_user_id=user)
                line = _ENCODE.encode(message)[:-1] + _source(topic, partition, offset)
                return Row(partition, message.event_id, line, offset, message.client_name, received_ms)
    return decode_row_by_model(value, topic, partition, offset, timestamp_ms, max_skew)


def decode_row_by_model(value: bytes | None, topic: str, partition: int, offset: int, timestamp_ms: int | None = None,
                        max_skew: timedelta = DEFAULT_MAX_SKEW, model: type[BaseModel] = EventMessage) -> Row:
    """`decode_row` through the message model alone (`EventMessage`, or another event type's `model`): the reference
    for every message, the only way for an invalid one, and the way of every event type without a fast reader."""
    if value is None:
        raise InvalidMessage("empty message (tombstone)")
    try:
        message: Any = model.model_validate_json(value)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise InvalidMessage(f"{err.error_count()} problem(s), first at {where}: {first['msg']}") from None
    if message.schema_version > SCHEMA_VERSION:
        raise InvalidMessage(f"schema_version {message.schema_version} is newer than this loader ({SCHEMA_VERSION})")
    received_ms = _epoch_ms(message.received_at)
    _check_clock(message.received_at, received_ms, timestamp_ms, max_skew)
    user_id = getattr(message, "kilo_user_id", None)  # every type with users keeps anonymous ones' addresses out
    if user_id is not None and (user := stored_user(user_id, getattr(message, "is_anonymous", False))) is not None:
        message = message.model_copy(update={"kilo_user_id": user})
    line = message.__pydantic_serializer__.to_json(message)
    # The serializer writes the fields in their declared order: the id, in its canonical text, is right after the
    # schema version (the envelope comes first in every message model). Read there, it costs a slice instead of a
    # UUID's formatting.
    at = line.index(_EVENT_ID) + len(_EVENT_ID)
    return Row(partition, line[at:at + _ID_LENGTH].decode(), line[:-1] + _source(topic, partition, offset), offset,
               message.client_name, received_ms)


def _source(topic: str, partition: int, offset: int) -> bytes:
    return b',"kafka_topic":%s,"kafka_partition":%d,"kafka_offset":%d}' % (_json_text(topic), partition, offset)


def _epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since the epoch of a time with a zone, exactly (a float's product may fall one short)."""
    return (moment - _EPOCH) // _MS


@functools.lru_cache(maxsize=4096)
def _second_ms(text: str) -> int:
    """`YYYY-MM-DDTHH:MM:SS` in UTC as epoch milliseconds: the events of a batch share a few seconds."""
    return _epoch_ms(datetime.fromisoformat(text).replace(tzinfo=timezone.utc))


def _text_epoch_ms(text: str) -> int:
    """A `timestamp_text` as epoch milliseconds; ValueError when it names no time (a 13th month)."""
    return _second_ms(text[:19]) + int(text[20:23])


class RowDecoder(Protocol):
    def __call__(self, value: bytes | None, topic: str, partition: int, offset: int, timestamp_ms: int | None = None,
                 max_skew: timedelta = DEFAULT_MAX_SKEW) -> Row: ...


def row_decoder(kind: Kind) -> RowDecoder:
    """How the loader of an event type reads its messages: the request event's fast reader, else its message model."""
    if kind.message is EventMessage:
        return decode_row
    return functools.partial(decode_row_by_model, model=kind.message)
