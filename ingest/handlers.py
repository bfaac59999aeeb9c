"""POST /ingest/api-metrics and /ingest/api-metrics/batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic_core
from aiohttp import web
from pydantic import ValidationError

from ingest import responses
from ingest.client_secrets import ClientSecrets
from ingest.ingest_metrics import IngestMetrics
from ingest.posthog_forwarder import PostHogForwarder
from ingest.publisher import EventPublisher, PublishFailed, Record
from ingest.request_body import BodyRejected, read_json_body
from schemas.api_metrics import ApiMetricsParams
from schemas.event_message import encode_message, message_from_event, message_key

SECRET_HEADER = "X-O11Y-Client-Secret"
MISSING_SECRET: responses.Issue = {
    "code": "missing",
    "path": ["clientSecret"],
    "message": f"Field required (or send it as 'Authorization: Bearer <secret>' or '{SECRET_HEADER}')",
}


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
    body_timeout_s: float = 10.0

    def record(self, event: ApiMetricsParams, client: str, received_at: datetime) -> Record:
        message = message_from_event(event, client, received_at)
        return message_key(message), encode_message(message)

    def forward(self, events: list[ApiMetricsParams], client: str) -> None:
        if self.posthog is not None:
            for event in events:
                self.posthog.forward(event, client)


def header_secret(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            return value
    return request.headers.get(SECRET_HEADER)


async def ingest_one(request: web.Request, edge: IngestEdge) -> web.Response:
    try:
        body = await read_json_body(request, edge.max_body_bytes, edge.body_timeout_s)
        event = ApiMetricsParams.model_validate_json(body)
    except BodyRejected as rejected:
        return rejected.response
    except ValidationError as err:
        edge.metrics.events.labels("invalid").inc()
        return responses.invalid_body(responses.issues_from(err))
    secret = header_secret(request) or event.client_secret
    if secret is None:
        edge.metrics.events.labels("invalid").inc()
        return responses.invalid_body([MISSING_SECRET])
    client = edge.secrets.client_for(secret)
    if client is None:
        edge.metrics.events.labels("unauthorized").inc()
        return responses.authentication_failed()
    try:
        await edge.publisher.publish([edge.record(event, client, edge.clock())])
    except PublishFailed as failed:
        edge.metrics.events.labels("unavailable").inc()
        return responses.unavailable(failed.reason)
    edge.metrics.events.labels("accepted").inc()
    edge.forward([event], client)
    return web.Response(status=204)


def _parse_batch(body: bytes, limit: int) -> list[Any]:
    try:
        items = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as err:
        raise BodyRejected(
            responses.invalid_body([{"code": "invalid_json", "path": [], "message": f"Malformed JSON: {err}"}])
        ) from None
    if not isinstance(items, list) or not items or len(items) > limit:
        message = f"Expected a JSON array of 1 to {limit} events"
        raise BodyRejected(responses.invalid_body([{"code": "invalid_batch", "path": [], "message": message}]))
    return items


def _batch_secret(request: web.Request, items: list[Any]) -> str | None:
    """The one secret of the batch; BodyRejected when items carry different ones."""
    found = {item.get("clientSecret") for item in items if isinstance(item, dict)} - {None}
    from_header = header_secret(request)
    if from_header is not None:
        found.add(from_header)
    if len(found) > 1:
        issue = {"code": "mixed_clients", "path": [], "message": "All events of a batch must carry the same client secret"}
        raise BodyRejected(responses.invalid_body([issue]))
    if not found:
        raise BodyRejected(responses.invalid_body([MISSING_SECRET]))
    secret = found.pop()
    return secret if isinstance(secret, str) else None


async def ingest_batch(request: web.Request, edge: IngestEdge) -> web.Response:
    try:
        items = _parse_batch(await read_json_body(request, edge.max_batch_bytes, edge.body_timeout_s), edge.max_batch_events)
        secret = _batch_secret(request, items)
    except BodyRejected as refused:
        return refused.response
    client = edge.secrets.client_for(secret)
    if client is None:
        edge.metrics.events.labels("unauthorized").inc(len(items))
        return responses.authentication_failed()
    accepted: list[ApiMetricsParams] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            accepted.append(ApiMetricsParams.model_validate(item))
        except ValidationError as err:
            rejected.append({"index": index, "issues": responses.issues_from(err)})
    edge.metrics.events.labels("invalid").inc(len(rejected))
    if accepted:
        received_at = edge.clock()
        try:
            await edge.publisher.publish([edge.record(e, client, received_at) for e in accepted])
        except PublishFailed as failed:
            edge.metrics.events.labels("unavailable").inc(len(accepted))
            return responses.unavailable(failed.reason)
        edge.metrics.events.labels("accepted").inc(len(accepted))
        edge.forward(accepted, client)
    body: dict[str, Any] = {"success": not rejected, "accepted": len(accepted), "rejected": rejected}
    if not accepted:
        body["error"] = "Invalid request body"
    return web.json_response(body, status=200 if accepted else 400)
