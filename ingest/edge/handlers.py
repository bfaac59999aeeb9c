"""POST /ingest/<event type> and /ingest/<event type>/batch: authenticate first, then read, parse, publish.

The same handlers serve every event type (`Endpoint`: its model, topic and fast readers); only the request event has
msgspec readers and the PostHog copy.

Where a secret comes from, the same on both endpoints: `Authorization: Bearer <secret>`, else
`X-O11Y-Client-Secret`, else `X-O11Y-ADMIN-TOKEN` (where the reference worker's later contract puts it), else
the body (`clientSecret` of the event, or of a batch's first item). A header secret is checked before the body
is read, and when one is sent, secrets in the body are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import msgspec
import pydantic_core
from aiohttp import web
from pydantic import ValidationError

from ingest.edge import idempotency_keys, responses
from ingest.edge.batch_body import BatchReader, Item, fast_batch, whole_batch
from ingest.edge.metrics import IngestMetrics
from ingest.edge.posthog_forwarder import PostHogForwarder
from ingest.edge.publisher import EventPublisher, PublishFailed
from ingest.edge.request_body import BodyRejected, InflightBytes, JsonBody
from ingest.kafka.producers import Record
from runtime.client_secrets import ClientSecrets
from schemas.api_metrics import WireEvent, read_wire_event
from schemas.event_kinds import Kind
from schemas.event_message import REQUESTS, encode_wire_event, new_event_ids, partition_key, timestamp_text
from schemas.event_registry import EVENT_TYPES

SECRET_HEADER = "X-O11Y-Client-Secret"
TOKEN_HEADER = "X-O11Y-ADMIN-TOKEN"
E = TypeVar("E")
MISSING_SECRET: responses.Issue = {
    "code": "missing",
    "path": ["clientSecret"],
    "message": f"Field required (or send it as 'Authorization: Bearer <secret>' or '{SECRET_HEADER}')",
}


@dataclass(frozen=True)
class FastReaders:
    """The request event's msgspec readers: one event, a whole batch (see `ingest.edge.batch_body`)."""

    one: Callable[[bytes], WireEvent | None] = read_wire_event
    batch: Callable[[bytes, int, int], list[WireEvent] | None] = fast_batch


@dataclass(frozen=True)
class Endpoint:
    """One event type at the edge: what validates its body, where its events go."""

    kind: Kind
    topic: str
    fast: FastReaders | None = None
    forwards: bool = False
    """Accepted events are also sent to PostHog (when it is configured)."""

    def whole(self, body: bytes, max_events: int, max_item_bytes: int) -> list[Any] | None:
        return whole_batch(body, max_events, max_item_bytes, self.kind.wire)


def endpoints(topic_for: Callable[[str], str]) -> list[Endpoint]:
    """Every registered event type's endpoint (`topic_for`: the type's topic, from the settings)."""
    return [Endpoint(kind, topic_for(kind.name), FastReaders() if kind is REQUESTS else None, kind is REQUESTS)
            for kind in EVENT_TYPES.values()]


@dataclass(frozen=True)
class IngestEdge:
    """Everything the handlers need, wired once in create_app."""

    secrets: ClientSecrets
    publisher: EventPublisher
    metrics: IngestMetrics
    posthog: PostHogForwarder | None
    clock: Callable[[], datetime]
    max_body_bytes: int
    max_batch_bytes: int
    max_batch_events: int
    inflight: InflightBytes
    body_timeout_s: float = 10.0

    def records(self, kind: Kind, events: Sequence[Any], client: str, ids: list[str]) -> list[Record]:
        """The events' Kafka records; `ids` are the ids of events that carry no `eventId`, one per event."""
        received_at = timestamp_text(self.clock())
        client_json = pydantic_core.to_json(client)
        return [(kind.key(e, client), kind.encode(e, client_json, received_at, new_id))
                for e, new_id in zip(events, ids, strict=True)]

    def wire_records(self, events: list[WireEvent], client: str, ids: list[str]) -> list[Record]:
        """`records` for events read by msgspec: the same records."""
        received_at = timestamp_text(self.clock())
        return [(partition_key(client, e.provider, e.resolved_model), encode_wire_event(e, client, received_at, new_id))
                for e, new_id in zip(events, ids, strict=True)]

    def forward(self, endpoint: Endpoint, events: Sequence[Any], client: str) -> None:
        if self.posthog is not None and endpoint.forwards:
            for event in events:
                self.posthog.forward(event, client)

    def refuse(self, events: int) -> web.Response:
        self.metrics.count_events("unauthorized", events)
        return responses.authentication_failed()


def header_secret(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            return value
    return request.headers.get(SECRET_HEADER, request.headers.get(TOKEN_HEADER))


def _body_secret(value: Any) -> str | None:
    secret = value.get("clientSecret") if isinstance(value, dict) else None
    return secret if isinstance(secret, str) else None


async def ingest_one(request: web.Request, edge: IngestEdge, endpoint: Endpoint) -> web.Response:
    from_header = header_secret(request)
    if from_header is not None and edge.secrets.client_for(from_header) is None:
        return edge.refuse(1)
    try:
        async with JsonBody(request, edge.max_body_bytes, edge.body_timeout_s, edge.inflight) as body:
            return await _one(body, from_header, request.headers.get(idempotency_keys.HEADER), edge, endpoint)
    except BodyRejected as rejected:
        return rejected.response


def _event_ids(key: str | None, client: str, body_id: str | msgspec.UnsetType | None, edge: IngestEdge) -> list[str]:
    """The id of a single event without an `eventId`: a new one, or the one its Idempotency-Key names."""
    if key is None:
        return new_event_ids(1)
    try:
        return [idempotency_keys.event_id(client, key, None if isinstance(body_id, msgspec.UnsetType) else body_id)]
    except BodyRejected:
        edge.metrics.count_events("invalid")
        raise


def _item_ids(key: str | None, client: str, indexes: Sequence[int], edge: IngestEdge) -> list[str]:
    try:
        return idempotency_keys.item_ids(client, key, indexes)
    except BodyRejected:
        edge.metrics.count_events("invalid", len(indexes))
        raise


async def _one(body: bytes, from_header: str | None, key: str | None, edge: IngestEdge,
               endpoint: Endpoint) -> web.Response:
    fast = endpoint.fast
    if fast is not None and edge.posthog is None and (read := fast.one(body)) is not None:
        secret = from_header or (None if isinstance(read.client_secret, msgspec.UnsetType) else read.client_secret)
        if secret is not None:  # else the model's reading answers: the secret is missing
            client = edge.secrets.client_for(secret)
            if client is None:
                return edge.refuse(1)
            records = edge.wire_records([read], client, _event_ids(key, client, read.event_id, edge))
            return await _send(records, endpoint, edge, _no_content)
    try:
        event: Any = endpoint.kind.wire.model_validate_json(body)
    except ValidationError as err:
        if from_header is None and _unknown(_secret_of(body), edge):
            return edge.refuse(1)
        edge.metrics.count_events("invalid")
        return responses.invalid_body(responses.issues_from(err))
    secret = from_header or event.client_secret
    if secret is None:
        edge.metrics.count_events("invalid")
        return responses.invalid_body([MISSING_SECRET])
    client = edge.secrets.client_for(secret)
    if client is None:
        return edge.refuse(1)
    ids = _event_ids(key, client, event.event_id, edge)
    if key is not None:  # the id PostHog sees too
        event = event.model_copy(update={"event_id": ids[0]})
    return await _publish([event], client, edge, endpoint, _no_content, ids)


def _no_content() -> web.Response:
    return web.Response(status=204)


def _secret_of(body: bytes) -> str | None:
    """The body's clientSecret, looked up only when the body is not a valid event (to answer 403 before 400)."""
    try:
        return _body_secret(pydantic_core.from_json(body, allow_inf_nan=False))
    except ValueError:
        return None


def _unknown(secret: str | None, edge: IngestEdge) -> bool:
    return secret is not None and edge.secrets.client_for(secret) is None


async def _publish(events: Sequence[Any], client: str, edge: IngestEdge, endpoint: Endpoint,
                   answer: Callable[[], web.Response], ids: list[str]) -> web.Response:
    return await _send(edge.records(endpoint.kind, events, client, ids), endpoint, edge, answer,
                       lambda: edge.forward(endpoint, events, client))


async def _send(records: list[Record], endpoint: Endpoint, edge: IngestEdge, answer: Callable[[], web.Response],
                accepted: Callable[[], None] = lambda: None) -> web.Response:
    try:
        await edge.publisher.publish(records, endpoint.topic)
    except PublishFailed as failed:
        edge.metrics.count_events("unavailable", len(records))
        return responses.unavailable(failed.reason)
    edge.metrics.count_events("accepted", len(records))
    accepted()
    return answer()


async def ingest_batch(request: web.Request, edge: IngestEdge, endpoint: Endpoint) -> web.Response:
    from_header = header_secret(request)
    client = None if from_header is None else edge.secrets.client_for(from_header)
    if from_header is not None and client is None:
        return edge.refuse(1)
    key = request.headers.get(idempotency_keys.HEADER)
    try:
        async with JsonBody(request, edge.max_batch_bytes, edge.body_timeout_s, edge.inflight) as body:
            fast = endpoint.fast
            if (client is not None and fast is not None and edge.posthog is None
                    and (read := _whole(fast.batch, body, edge)) is not None):
                answer = {"success": True, "accepted": len(read), "rejected": []}
                ids = _item_ids(key, client, range(len(read)), edge)
                return await _send(edge.wire_records(read, client, ids), endpoint, edge, lambda: web.json_response(answer))
            if client is not None and (events := _whole(endpoint.whole, body, edge)) is not None:
                answer = {"success": True, "accepted": len(events), "rejected": []}
                ids = _item_ids(key, client, range(len(events)), edge)
                return await _publish(events, client, edge, endpoint, lambda: web.json_response(answer), ids)
            reader = BatchReader(body, edge.max_batch_events, edge.max_body_bytes)
            return await _batch(reader, from_header, key, edge, endpoint)
    except BodyRejected as rejected:
        return rejected.response


def _whole(read: Callable[[bytes, int, int], list[E] | None], body: bytes, edge: IngestEdge) -> list[E] | None:
    """The batch read in one pass by `read` (`fast_batch`, else `whole_batch`), when the budget holds a whole parse
    too (up to twice a body's usual cost). With PostHog on, only `whole_batch`: its forwarder takes the model's events."""
    if not edge.inflight.take(len(body)):
        return None
    try:
        return read(body, edge.max_batch_events, edge.max_body_bytes)
    finally:
        edge.inflight.give_back(len(body))


def _batch_client(first: Item, from_header: str | None, edge: IngestEdge) -> str | None:
    """The batch's client from the header, or from its first item; BodyRejected when there is no usable secret."""
    secret = from_header if from_header is not None else _body_secret(first.value)
    if secret is None:
        raw = first.value.get("clientSecret") if isinstance(first.value, dict) else None
        issue = MISSING_SECRET if raw is None else {"code": "string_type", "path": [0, "clientSecret"],
                                                   "message": "Input should be a valid string"}
        raise BodyRejected(responses.invalid_body([issue]))
    return edge.secrets.client_for(secret)


def _same_client(items: list[Item], secret: str | None) -> None:
    """Without a header, every item that carries a secret must carry the first item's."""
    for item in items:
        raw = item.value.get("clientSecret") if isinstance(item.value, dict) else None
        if raw is not None and raw != secret:
            issue = {"code": "mixed_clients", "path": [item.index],
                     "message": "All events of a batch must carry the same client secret"}
            raise BodyRejected(responses.invalid_body([issue]))


async def _batch(reader: BatchReader, from_header: str | None, key: str | None, edge: IngestEdge,
                 endpoint: Endpoint) -> web.Response:
    first = reader.next()
    assert first is not None  # an empty array is refused by the reader
    client = _batch_client(first, from_header, edge)
    if client is None:
        return edge.refuse(1)
    items = [first, *reader.rest()]
    if from_header is None:
        _same_client(items, _body_secret(first.value))
    accepted: list[Any] = []
    accepted_at: list[int] = []
    rejected: list[dict[str, Any]] = []
    for item in items:
        try:
            accepted.append(endpoint.kind.wire.model_validate_json(item.text))
            accepted_at.append(item.index)
        except ValidationError as err:
            rejected.append({"index": item.index, "issues": responses.issues_from(err)})
    edge.metrics.count_events("invalid", len(rejected))
    body: dict[str, Any] = {"success": not rejected, "accepted": len(accepted), "rejected": rejected}
    if not accepted:
        body["error"] = "Invalid request body"
        return web.json_response(body, status=400)
    return await _publish(accepted, client, edge, endpoint, lambda: web.json_response(body),
                          _item_ids(key, client, accepted_at, edge))
