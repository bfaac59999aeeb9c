"""A batch body read item by item: its first item's secret before the rest, at most `max_events` items, each in its limit.

`BatchReader` never parses the whole array at once: a body of millions of tiny items costs no more than the
items allowed, and an unknown secret costs no more than reading the bytes and the first item. `whole_batch`
is the fast way for a batch whose secret is already known (a header): one validation of the whole array,
taken only when the body's shape bounds what parsing it can cost, and only when every item is valid and in
its limit; otherwise the reader answers, item by item. `fast_batch` is faster still (msgspec), for a batch whose
every event is exactly as `WireEvent` takes it; whatever it refuses goes the other ways.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import msgspec
from pydantic import BaseModel, TypeAdapter, ValidationError

from ingest.edge import responses
from ingest.edge.request_body import BodyRejected
from schemas.api_metrics import ApiMetricsParams, WireEvent, ip_address_is_valid

_SPACE = re.compile(r"[ \t\n\r]*")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _malformed(message: str) -> BodyRejected:
    return BodyRejected(responses.invalid_body([{"code": "invalid_json", "path": [], "message": f"Malformed JSON: {message}"}]))


def _not_a_batch(max_events: int) -> BodyRejected:
    message = f"Expected a JSON array of 1 to {max_events} events"
    return BodyRejected(responses.invalid_body([{"code": "invalid_batch", "path": [], "message": message}]))


@dataclass(frozen=True)
class Item:
    """One element of the batch: its decoded value (to look at its secret) and its exact text (to validate)."""

    index: int
    value: Any
    text: str


class BatchReader:
    def __init__(self, body: bytes, max_events: int, max_item_bytes: int) -> None:
        try:
            self._text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("the body is not UTF-8") from None
        self._max_events = max_events
        self._max_item_bytes = max_item_bytes
        self._at = _SPACE.match(self._text).end()  # type: ignore[union-attr]
        if not self._text.startswith("[", self._at):
            raise _not_a_batch(max_events)
        self._at += 1
        self._count = 0
        self._done = False

    def next(self) -> Item | None:
        """The next item, or None after the last; BodyRejected for what cannot be a batch."""
        if self._done:
            return None
        at = _SPACE.match(self._text, self._at).end()  # type: ignore[union-attr]
        if self._text.startswith("]", at):
            self._close(at)
            return None
        if self._count and not self._text.startswith(",", at):
            raise _malformed(f"expected ',' or ']' at character {at}")
        if self._count:
            at = _SPACE.match(self._text, at + 1).end()  # type: ignore[union-attr]
        if self._count == self._max_events:
            raise _not_a_batch(self._max_events)
        try:
            value, end = _DECODER.raw_decode(self._text, at)
        except (ValueError, RecursionError) as err:
            raise _malformed(str(err)[:200] if isinstance(err, ValueError) else "nested too deeply") from None
        text = self._text[at:end]
        if len(text) * 4 > self._max_item_bytes and len(text.encode("utf-8")) > self._max_item_bytes:
            raise BodyRejected(responses.item_too_large(self._count, self._max_item_bytes))
        self._at = end
        self._count += 1
        return Item(self._count - 1, value, text)

    def _close(self, at: int) -> None:
        if _SPACE.match(self._text, at + 1).end() != len(self._text):  # type: ignore[union-attr]
            raise _malformed(f"unexpected data after the array at character {at + 1}")
        if self._count == 0:
            raise _not_a_batch(self._max_events)
        self._done = True

    def rest(self) -> list[Item]:
        items = []
        while (item := self.next()) is not None:
            items.append(item)
        return items


@functools.cache
def _adapter(wire: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[wire])  # type: ignore[valid-type]
_BETWEEN_ITEMS = re.compile(rb"}[ \t\n\r]*,[ \t\n\r]*{")
COMMAS_PER_EVENT = 64
CONTAINERS_PER_EVENT = 8
"""A real event has about 30 commas and 4 objects or arrays; more per allowed event means a shape made to cost memory."""


_WIRE_EVENTS = msgspec.json.Decoder(list[WireEvent])


def _costly_shape(body: bytes, max_events: int) -> bool:
    return (body.count(b",") > COMMAS_PER_EVENT * max_events
            or body.count(b"{") + body.count(b"[") > CONTAINERS_PER_EVENT * max_events)


def fast_batch(body: bytes, max_events: int, max_item_bytes: int) -> list[WireEvent] | None:
    """Every event of the batch read by msgspec, when each is exactly as `WireEvent` takes it; None otherwise (then
    `whole_batch` and the reader decide)."""
    if _costly_shape(body, max_events):
        return None
    try:
        events = _WIRE_EVENTS.decode(body)
    except (msgspec.DecodeError, RecursionError):  # nesting deeper than msgspec goes (in an unknown field): the reader answers
        return None
    if (not 0 < len(events) <= max_events or not all(ip_address_is_valid(event) for event in events)
            or not _items_in_limit(body, len(events), max_item_bytes)):
        return None
    return events


def whole_batch(body: bytes, max_events: int, max_item_bytes: int,
                wire: type[BaseModel] = ApiMetricsParams) -> list[Any] | None:
    """Every event of the batch (of the `wire` model), validated at once; None when the reader must answer (any
    problem, or a costly shape)."""
    if _costly_shape(body, max_events):
        return None
    try:
        events = _adapter(wire).validate_json(body)
    except ValidationError:
        return None
    if not 0 < len(events) <= max_events or not _items_in_limit(body, len(events), max_item_bytes):
        return None
    return events


def _items_in_limit(body: bytes, count: int, limit: int) -> bool:
    """Each of the `count` objects of a valid array is at most `limit` bytes (False too when the text cannot tell)."""
    if len(body) <= limit:
        return True
    between = [(m.start(), m.end()) for m in _BETWEEN_ITEMS.finditer(body)]
    if len(between) != count - 1:
        return False  # "},{" inside a string too: the items' edges are not known
    starts = [body.index(b"{"), *(end - 1 for _, end in between)]
    ends = [*(start + 1 for start, _ in between), body.rindex(b"}") + 1]
    return all(end - start <= limit for start, end in zip(starts, ends, strict=True))
