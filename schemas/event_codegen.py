"""`python -m schemas.event_codegen`: write `schemas/request_event_models.py` from `REQUEST_EVENT` (pure rendering).

The models are generated, not built at import, so that every reader and encoder is a plain class the type checker
reads and the hot path runs without a loop over field names.
"""

from __future__ import annotations

from pathlib import Path

from schemas.request_event import GROUPS, REQUEST_EVENT, EventField, Kind, message_fields

TARGET = Path(__file__).with_name("request_event_models.py")
TYPES: dict[Kind, tuple[str, str, str, str]] = {
    "secret": ("Secret", "FastSecret", "", ""),
    "event_id": ("EventId", "FastEventId", "", ""),
    "name": ("Name", "FastName", "NonEmptyStr", "FastMessageName"),
    "short_name": ("ShortName", "FastShortName", "NonEmptyStr", "FastMessageName"),
    "text": ("Text", "FastText", "str", "str"),
    "bool": ("bool", "bool", "bool", "bool"),
    "tools": ("ToolList", "FastTools", "list[str]", "list[str]"),
    "count": ("Count", "FastCount", "MessageCount", "FastCount"),
    "status": ("StatusCode", "FastStatusCode", "MessageStatusCode", "FastStatusCode"),
    "ip_address": ("IpAddress", "str", "", ""),
}
"""Kind → its type in the wire model, the fast wire reader, the message model and the fast message reader."""
WIRE, FAST_WIRE, MESSAGE, FAST_MESSAGE = range(4)
HEADER = '''"""The request event's readers, message models and encoders: GENERATED from `schemas.request_event.REQUEST_EVENT` by
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
'''


def _q(text: str) -> str:
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


def _pydantic_field(field: EventField) -> str:
    kind = TYPES[field.kind][WIRE]
    described = f"description=_SAYS[{_q(field.name)}]"
    if field.required:
        return f"    {field.name}: {kind} = Field({described})"
    return f"    {field.name}: Omittable[{kind}] = Field(default=None, {described})"


def _msgspec_field(field: EventField) -> str:
    kind = TYPES[field.kind][FAST_WIRE]
    return f"    {field.name}: {kind}" if field.required else f"    {field.name}: {kind} | msgspec.UnsetType = msgspec.UNSET"


def _wire_members() -> list[EventField | str]:
    """The wire model's members in order: a field, or a group's name where its first member stands."""
    members: list[EventField | str] = []
    for field in REQUEST_EVENT:
        if field.group is None:
            members.append(field)
        elif field.group not in members:
            members.append(field.group)
    return members


def _group_fields(group: str) -> list[EventField]:
    return [field for field in REQUEST_EVENT if field.group == group]


def wire_models() -> str:
    out: list[str] = []
    for name, group in GROUPS.items():
        out += ["", "", f"class {group.model}(Wire):", f'    """{group.about}"""', ""]
        out += [_pydantic_field(field) for field in _group_fields(name)]
    out += ["", "", "class ApiMetricsParams(Wire):",
            '    """One gateway request. `clientSecret` may instead come in a header.', "",
            "    Each field's description (with its unit) is what `o11y schema`, /openapi.json and the docs' field table show.",
            '    """', ""]
    for member in _wire_members():
        if isinstance(member, str):
            group = GROUPS[member]
            said = f"description=GROUPS[{_q(member)}].description"
            out.append(f"    {member}: Omittable[{group.model}] = Field(default=None, {said})")
        else:
            out.append(_pydantic_field(member))
    return "\n".join(out)


def fast_wire_models() -> str:
    out: list[str] = []
    for name, group in GROUPS.items():
        out += ["", "", f"class Wire{group.model}(msgspec.Struct, rename=\"camel\", frozen=True):",
                f'    """`{group.model}`, read by msgspec (see `WireEvent`)."""', ""]
        out += [f"    {field.name}: {TYPES[field.kind][FAST_WIRE]} | msgspec.UnsetType = msgspec.UNSET"
                for field in _group_fields(name)]
    out += ["", "", 'class WireEvent(msgspec.Struct, rename="camel", kw_only=True, frozen=True):',
            '    """`ApiMetricsParams` read by msgspec: the ingest endpoints\' fast way in.', "",
            "    The same fields, names and limits, but narrower: an `eventId` only in its canonical lowercase text, numbers",
            "    only as integers; an omitted field is `UNSET` and a null is refused, as `Omittable` refuses it. The IP address",
            "    is checked after the parse (`ip_address_is_valid`). Whatever it refuses is read by `ApiMetricsParams`, which",
            "    decides and answers; what it takes becomes the very message `ApiMetricsParams` would have made",
            "    (tests/ingest/test_wire_readers.py holds the two to that).", '    """', ""]
    for member in _wire_members():
        if isinstance(member, str):
            out.append(f"    {member}: Wire{GROUPS[member].model} | msgspec.UnsetType = msgspec.UNSET")
        else:
            out.append(_msgspec_field(member))
    return "\n".join(out)


def _message_field(field: EventField, which: int) -> str:
    kind = TYPES[field.kind][which]
    return f"    {field.name}: {kind}" if field.required else f"    {field.name}: {kind} | None = None"


def message_models() -> str:
    fields = message_fields()
    out = ["", "", "class EventMessage(BaseModel):",
           '    """Value of a message on the api-metrics topic (also what the loader validates)."""', "",
           '    model_config = ConfigDict(extra="ignore", frozen=True)', "",
           "    schema_version: int = Field(ge=1)", "    event_id: uuid.UUID", "    received_at: AwareDatetime",
           '    """A time without a zone is refused: it names no moment, and would be read in whatever zone a reader is in."""',
           "    client_name: NonEmptyStr"]
    out += [_message_field(field, MESSAGE) for field in fields]
    out += ["", "", "class IngestMessage(msgspec.Struct, kw_only=True, frozen=True):",
            '    """`EventMessage` as ingest writes it, read by msgspec: the loader\'s fast way in.', "",
            "    The same fields in the same order, but narrower: the id only in its canonical text, `received_at` only as",
            "    `timestamp_text` writes it, integers only as integers, and only this loader's schema version. Whatever it",
            "    refuses is read by `EventMessage`, which decides what is valid; what it takes, `EventMessage` takes as the same",
            "    row (tests/ingest/test_loader_rows.py holds the two to that).", '    """', "",
            "    schema_version: FastSchemaVersion", "    event_id: FastEventId", "    received_at: FastReceivedAt",
            "    client_name: FastMessageName"]
    out += [_message_field(field, FAST_MESSAGE) for field in fields]
    return "\n".join(out)


def _wire_value(field: EventField, source: str) -> str:
    value = f"{source}.{field.name}"
    return value if field.required else f"_unset_none({value})"


def encoders() -> str:
    fields = message_fields()
    out = ["", "", "_MESSAGE = msgspec.json.Encoder()", "", "", "def _unset_none(value: T | msgspec.UnsetType) -> T | None:",
           "    return None if isinstance(value, msgspec.UnsetType) else value", "", "",
           "_WireMessage: Any = msgspec.defstruct(",
           '    "_WireMessage", [(f.name, f.type) for f in msgspec.structs.fields(IngestMessage)], frozen=True)',
           '"""`IngestMessage`\'s fields in its order, built positionally: what `encode_wire_event` encodes (in a third of the',
           'time keyword construction takes)."""', "", "",
           "def encode_wire_event(event: WireEvent, client_name: str, received_text: str, event_id: str) -> bytes:",
           '    """`encode_event` for an event read by msgspec: the same message, byte for byte, encoded by msgspec."""']
    values = ["SCHEMA_VERSION", "event_id if isinstance(event.event_id, msgspec.UnsetType) else event.event_id",
              "received_text", "client_name"]
    for name in GROUPS:
        members = _group_fields(name)
        out.append(f"    {name} = event.{name}")
        out.append(f"    {name}_values = (None,) * {len(members)} if isinstance({name}, msgspec.UnsetType) else (")
        out += [f"        {_wire_value(field, name)}," for field in members]
        out.append("    )")
    seen: set[str] = set()
    for field in fields:
        if field.group is None:
            values.append(_wire_value(field, "event"))
        elif field.group not in seen:
            seen.add(field.group)
            values.append(f"*{field.group}_values")
    out.append("    return _MESSAGE.encode(_WireMessage(")
    out += [f"        {value}," for value in values]
    out.append("    ))")
    out += ["", "", "def message_fields_of(event: ApiMetricsParams) -> dict[str, Any]:",
            '    """The message\'s fields of a validated event, in their order, the envelope aside."""']
    for name in GROUPS:
        out.append(f"    {name} = event.{name}")
    out.append("    return {")
    for field in fields:
        source = f"{field.group}.{field.name} if {field.group} else None" if field.group else f"event.{field.name}"
        out.append(f"        {_q(field.name)}: {source},")
    out.append("    }")
    return "\n".join(out)


def render() -> str:
    return HEADER + wire_models() + fast_wire_models() + message_models() + encoders() + "\n"


def _check_groups_are_contiguous() -> None:
    order = [field.group for field in message_fields()]
    for group in GROUPS:
        at = [i for i, g in enumerate(order) if g == group]
        assert at == list(range(at[0], at[-1] + 1)), f"the fields of {group} must stand together"


if __name__ == "__main__":
    _check_groups_are_contiguous()
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
