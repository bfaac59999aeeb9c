"""The Idempotency-Key header at the ingest edge: the ids it gives an event or a batch's items, or the 400 refusing it."""

from __future__ import annotations

from collections.abc import Sequence

from ingest.edge import responses
from ingest.edge.request_body import BodyRejected
from schemas.event_message import new_event_ids
from schemas.idempotency_key import event_id_for_key, item_ids_for_key, key_text

HEADER = "Idempotency-Key"


def _key(header: str) -> str:
    try:
        return key_text(header)
    except ValueError as err:
        raise BodyRejected(responses.invalid_body(
            [{"code": "invalid_idempotency_key", "path": [HEADER], "message": str(err)}])) from None


def event_id(client: str, header: str, body_id: str | None) -> str:
    """The id of the single event `client` sends with the header; BodyRejected (400) for a key against the rules, or
    for one that names another event than the body's `eventId` (both name the one event: they must agree)."""
    named = event_id_for_key(client, _key(header))
    if body_id is not None and body_id != named:
        raise BodyRejected(responses.invalid_body([{
            "code": "conflicting_event_id", "path": ["eventId"],
            "message": f"eventId and the {HEADER} header name different events: send one, or the same"}]))
    return named


def item_ids(client: str, header: str | None, indexes: Sequence[int]) -> list[str]:
    """The ids of a batch's items at `indexes` (in the array), for those that carry no `eventId`: new ones without the
    header, else the ones its key names, the same on every retry of the batch; BodyRejected (400) for a key against
    the rules. The header names the request, not an item, so an item's own `eventId` is never compared with it."""
    if header is None:
        return new_event_ids(len(indexes))
    return item_ids_for_key(client, _key(header), indexes)
