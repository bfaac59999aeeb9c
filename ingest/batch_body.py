"""A batch body read item by item: its first item's secret before the rest, at most `max_events` items, each in its limit.

The whole array is never parsed at once: a body of millions of tiny items costs no more than the
items allowed, and an unknown secret costs no more than reading the bytes and the first item.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ingest import responses
from ingest.request_body import BodyRejected

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
