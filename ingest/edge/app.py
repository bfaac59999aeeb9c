"""The ingest application factory: routes, resources as cleanup contexts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone

from aiohttp import web
from prometheus_client import CollectorRegistry

from ingest.edge import handlers
from ingest.edge.metrics import IngestMetrics
from ingest.edge.openapi import openapi_document
from ingest.edge.posthog_forwarder import PostHogForwarder, build_posthog_client
from ingest.edge.publisher import EventPublisher
from ingest.edge.request_body import InflightBytes
from ingest.kafka.producers import build_producer
from ingest.kafka.topics import ensure_topics
from runtime.client_secrets import ClientSecrets
from runtime.health import READINESS, CachedCheck, add_health_routes
from runtime.http_server import harden, quiet_malformed_requests
from runtime.settings import Settings

log = logging.getLogger(__name__)

EDGE = web.AppKey("ingest_edge", handlers.IngestEdge)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _route_handler(fn: Callable[[web.Request, handlers.IngestEdge, handlers.Endpoint], Awaitable[web.Response]],
                   endpoint: handlers.Endpoint) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await fn(request, request.app[EDGE], endpoint)

    return handle


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    metrics: IngestMetrics = request.app[METRICS]
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        metrics.count_request(_route(request), exc.status)
        raise
    except Exception:
        log.exception("unhandled error on %s", _route(request))
        metrics.count_request(_route(request), 500)
        return web.json_response({"success": False, "error": "Internal server error"}, status=500)
    metrics.count_request(_route(request), response.status)
    return response


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource else "unmatched"


METRICS = web.AppKey("ingest_metrics", IngestMetrics)


async def _ensure_topics(settings: Settings) -> None:
    try:
        await asyncio.wait_for(asyncio.to_thread(ensure_topics, settings), timeout=15)
    except Exception as err:  # noqa: BLE001 - the broker may come later; produce answers 503 meanwhile
        log.warning("could not ensure Kafka topics: %s", type(err).__name__)


BROKER_ANSWER_S = 0.5
"""How long /readyz waits for the broker's metadata: an idle broker answers in about a millisecond, and /readyz must
answer within a Kubernetes probe's default timeout (1 s)."""
BROKER_ANSWER_FRESH_S = 1.0
"""How long one answer of the broker serves /readyz: at most about one metadata request a second, however many ask."""
PUBLISHER = web.AppKey("publisher", EventPublisher)
POSTHOG = web.AppKey("posthog", PostHogForwarder)
"""Set only when PostHog is configured."""
"""The PostHog copy, if configured: an empty list when it is off."""


def _publisher_context(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The Kafka producer for the life of the app (topics ensured first); closed after the last request."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        metrics = app[METRICS]
        await _ensure_topics(settings)

        publisher = EventPublisher(
            lambda: build_producer(settings),
            settings.kafka_topic,
            ack_timeout_s=settings.kafka_ack_timeout_ms / 1000,
            max_in_flight=settings.kafka_max_in_flight_events,
            on_outcome=metrics.produced,
        )
        publisher.start()
        app[PUBLISHER] = publisher
        app[READINESS]["kafka"] = CachedCheck(lambda: publisher.ask_broker(BROKER_ANSWER_S), BROKER_ANSWER_S,
                                              fresh_s=BROKER_ANSWER_FRESH_S)

        async def sample() -> None:  # a gauge set now and then works the same with several worker processes
            while True:
                metrics.producer_in_flight.set(publisher.in_flight)
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        try:
            yield
        finally:
            sampler.cancel()
            await asyncio.to_thread(publisher.close)

    return context


def _posthog_context(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The optional PostHog copy, a resource of its own: its failure to start stops nothing else half-way."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        if settings.posthog_api_key is None:
            yield
            return
        metrics = app[METRICS]
        client = build_posthog_client(settings.posthog_api_key.get_secret_value(), settings.posthog_host,
                                      metrics.posthog_failures.inc)
        app[POSTHOG] = PostHogForwarder(client, metrics.posthog_failures.inc)
        try:
            yield
        finally:
            await asyncio.to_thread(client.shutdown)

    return context


def _edge_context(settings: Settings, secrets: ClientSecrets,
                  clock: Callable[[], datetime]) -> Callable[[web.Application], AsyncIterator[None]]:
    """What the handlers need, once the publisher and PostHog are up."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        app[EDGE] = handlers.IngestEdge(
            secrets=secrets,
            publisher=app[PUBLISHER],
            metrics=app[METRICS],
            posthog=app.get(POSTHOG),
            clock=clock,
            max_body_bytes=settings.http_max_body_bytes,
            max_batch_bytes=settings.http_max_batch_bytes,
            max_batch_events=settings.http_max_batch_events,
            body_timeout_s=settings.http_body_timeout_s,
            inflight=InflightBytes(settings.http_max_inflight_bytes, settings.http_max_body_bytes),
        )
        yield

    return context


def check_settings(settings: Settings) -> ClientSecrets:
    """The gateways' secrets, or ValueError saying what makes ingest impossible to run."""
    if not settings.kafka_bootstrap_servers:
        raise ValueError("O11Y_KAFKA_BOOTSTRAP_SERVERS is not set")
    secrets = ClientSecrets(settings.client_secrets)
    if len(secrets) == 0:
        raise ValueError("O11Y_CLIENT_SECRETS holds no client: no gateway could authenticate")
    return secrets


def create_app(
    settings: Settings,
    registry: CollectorRegistry | None = None,
    clock: Callable[[], datetime] = utc_now,
    admin: web.Application | None = None,
) -> web.Application:
    """The ingest application; with `admin`, /readyz and /metrics are served by that one instead (another port)."""
    secrets = check_settings(settings)
    registry = registry or CollectorRegistry()
    app = web.Application(client_max_size=settings.http_max_batch_bytes, middlewares=[count_requests])
    metrics = app[METRICS] = IngestMetrics.create(registry)
    add_health_routes(app, registry, admin, ClientSecrets(settings.admin_tokens))
    quiet_malformed_requests(metrics.requests.labels("malformed", "400").inc)
    app.cleanup_ctx.extend([_publisher_context(settings), _posthog_context(settings), _edge_context(settings, secrets, clock)])
    for endpoint in handlers.endpoints(settings.topic_for):
        app.router.add_post(f"/ingest/{endpoint.kind.name}", _route_handler(handlers.ingest_one, endpoint))
        app.router.add_post(f"/ingest/{endpoint.kind.name}/batch", _route_handler(handlers.ingest_batch, endpoint))
    document = openapi_document()

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/openapi.json", openapi)
    return harden(app)
