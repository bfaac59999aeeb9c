"""What makes an event type, whatever it describes: its wire model, its Kafka message, its partition key (no I/O).

The pipeline (the ingest edge, the message, the loader, dedup, dead letters, progress, the stale-data guard) is written
once and takes an `EventType`. A type is declared by one pydantic wire model whose stored fields carry `Stored`
metadata (their column); everything else is derived here: the message a loader validates (`message_model`), the
encoder (`encode`), the key (`key`), the raw table's columns (`stored_fields`, read by `storage/`).

The request event (`api-metrics`) predates this and keeps its generated fast readers and encoders
(`schemas.event_codegen`); it is registered here with them. A new type is a schema module declaring its wire model
and an `EventType`, added to `EVENT_TYPES` (see the README's "Adding an event type").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Protocol, TypeVar, get_args

import pydantic_core
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from schemas.event_types import SCHEMA_VERSION, NonEmptyStr

W = TypeVar("W", bound=BaseModel)
ENVELOPE_ONLY = ("client_secret", "event_id")
"""Wire fields that never reach the message as fields: the secret never leaves ingest, the id is the envelope's."""


@dataclass(frozen=True)
class Stored:
    """`Annotated` metadata of a wire field that is stored: its ClickHouse type, and what the column says (when it
    says more than the field's description). `column` names a nested field's column (flat in the message and table)."""

    type: str
    comment: str = ""
    column: str | None = None


@dataclass(frozen=True)
class StoredField:
    name: str
    """The column, and the field's name in the message."""
    type: str
    comment: str
    path: tuple[str, ...]
    """Where the value is in the wire model: (field,) or (group, field)."""
    annotation: Any
    required: bool
    default: Any = None


def _stored(info: Any) -> Stored | None:
    return next((m for m in info.metadata if isinstance(m, Stored)), None)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The nested model a field holds (`X`, or `X | None`)."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _limited(info: Any) -> Any:
    """The field's type with its limits and validators (what pydantic moved to `metadata`), `Stored` left out."""
    rest = [m for m in info.metadata if not isinstance(m, Stored)]
    return Annotated[info.annotation, *rest] if rest else info.annotation


def stored_fields(wire: type[BaseModel]) -> tuple[StoredField, ...]:
    """Every stored field of the wire model, nested groups flattened in their place, in declaration order."""
    out: list[StoredField] = []
    for name, info in wire.model_fields.items():
        nested = _model_of(info.annotation)
        if nested is not None:
            for inner, inner_info in nested.model_fields.items():
                stored = _stored(inner_info)
                if stored is not None:
                    out.append(StoredField(stored.column or f"{name}_{inner}", stored.type,
                                           stored.comment or inner_info.description or "", (name, inner),
                                           _limited(inner_info), info.is_required() and inner_info.is_required(),
                                           inner_info.default))
            continue
        stored = _stored(info)
        if stored is not None:
            out.append(StoredField(name, stored.type, stored.comment or info.description or "", (name,),
                                   _limited(info), info.is_required(), info.default))
    return tuple(out)


class Envelope(BaseModel):
    """What every message carries before its event's fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: int = Field(ge=1)
    event_id: uuid.UUID
    received_at: AwareDatetime
    """A time without a zone is refused: it names no moment."""
    client_name: NonEmptyStr


def message_model(wire: type[BaseModel], name: str) -> type[BaseModel]:
    """The message model of a wire model: the envelope, then every stored field flat by its column name, validated
    laxly (as read back from Kafka) but within the wire's limits."""
    fields: dict[str, Any] = {}
    for stored in stored_fields(wire):
        if stored.required:
            fields[stored.name] = (stored.annotation, ...)
        else:  # absent on the wire: its default, or null (`Omittable`)
            fields[stored.name] = (stored.annotation | None, stored.default)
    model: type[BaseModel] = create_model(name, __base__=Envelope, **fields)
    return model


def _value(event: BaseModel, path: tuple[str, ...]) -> Any:
    value: Any = event
    for step in path:
        value = getattr(value, step, None)
        if value is None:
            return None
    return value


@dataclass(frozen=True)
class EventType(Generic[W]):
    """One kind of event the pipeline carries."""

    name: str
    """`session-metrics`: the endpoint is `/ingest/<name>`, the default topic `<name>`, the docs name it so."""
    noun: str
    """What one event is, in words (`session`)."""
    wire: type[W]
    """What clients send: camelCase, strict, unknown keys ignored."""
    key_fields: tuple[str, ...]
    """Message fields that, after the client's name, make the partition key: one route's events stay in order."""
    message: type[BaseModel] = field(init=False)
    fields: tuple[StoredField, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", stored_fields(self.wire))
        title = "".join(part.title() for part in self.name.split("-"))
        object.__setattr__(self, "message", message_model(self.wire, f"{title}Message"))
        known = {f.name for f in self.fields}
        assert set(self.key_fields) <= known, f"{self.name}: key fields {self.key_fields} are not stored fields"

    def message_fields(self, event: W) -> dict[str, Any]:
        """The event's stored fields, flat, by column name."""
        return {f.name: _value(event, f.path) for f in self.fields}

    def event_id(self, event: W) -> str | None:
        value = getattr(event, "event_id", None)
        return value if isinstance(value, str) else None

    def encode(self, event: W, client_json: bytes, received_text: str, event_id: str) -> bytes:
        """The Kafka message of an accepted event (`client_json`: the client's name as JSON)."""
        body = pydantic_core.to_json(self.message_fields(event))
        return b'{"schema_version":%d,"event_id":"%s","received_at":"%s","client_name":%s,%s' % (
            SCHEMA_VERSION, (self.event_id(event) or event_id).encode(), received_text.encode(), client_json, body[1:])

    def key(self, event: W, client: str) -> bytes:
        values = {f.name: _value(event, f.path) for f in self.fields if f.name in self.key_fields}
        return "\x1f".join([client, *(str(values[name]) for name in self.key_fields)]).encode()


class Kind(Protocol):
    """What the pipeline asks of an event type: `EventType`, or the request event's own (`schemas.request_kind`)."""

    @property
    def name(self) -> str: ...
    @property
    def noun(self) -> str: ...
    @property
    def wire(self) -> type[BaseModel]: ...
    @property
    def message(self) -> type[BaseModel]: ...
    def event_id(self, event: Any) -> str | None: ...
    def encode(self, event: Any, client_json: bytes, received_text: str, event_id: str) -> bytes: ...
    def key(self, event: Any, client: str) -> bytes: ...
