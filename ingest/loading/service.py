"""Wiring the loader to real Kafka and ClickHouse, and running it beside its HTTP endpoints."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from functools import partial
from typing import Any

from aiohttp import web
from kafka import KafkaConsumer, KafkaProducer
from prometheus_client import CollectorRegistry

from ingest.kafka.dead_letters import DeadLetters
from ingest.kafka.kafka_python_consumer import KafkaPythonConsumer
from ingest.kafka.ports import Consumer, Producer
from ingest.loading import tasks
from ingest.loading.clickhouse_sink import ClickHouseSink
from ingest.loading.dead_lettering import DeadLettering
from ingest.loading.loader import Loader
from ingest.loading.metrics import LoaderMetrics
from ingest.loading.poison_guard import PoisonGuard
from ingest.loading.policy import LoaderPolicy
from ingest.loading.positioning import Positioning
from ingest.loading.progress import LoaderProgress
from ingest.loading.rows import LARGEST_ROW_BYTES, row_decoder
from ingest.loading.steps.backoff import Backoff
from ingest.loading.steps.batching import BatchLimits
from ingest.loading.strategy_factory import LoadingFunctions, StrategyFactory
from runtime.clickhouse import ClickHouseClient
from runtime.client_secrets import ClientSecrets
from runtime.health import READINESS, add_health_routes, tcp_reachable
from runtime.settings import Settings
from schemas.event_kinds import Kind
from schemas.event_message import REQUESTS
from schemas.event_registry import EVENT_TYPES
from storage.catalog import RAW_TABLES

log = logging.getLogger(__name__)

LOADER_STOPPED = web.AppKey("loader_stopped", list[str])
"""Why the loader stopped by itself; `o11y load` then exits with status 1."""


def consumer_config(settings: Settings) -> dict[str, Any]:
    """The loader's group member: manual commits, from the earliest offset when the group has none."""
    return dict(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="o11y-loader",
        group_id=settings.loader_group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.loader_session_timeout_ms,
        heartbeat_interval_ms=settings.loader_session_timeout_ms // 3,
        max_poll_interval_ms=settings.loader_max_poll_interval_ms,
        fetch_max_wait_ms=100,
        # A fetch the broker never answers (seen after a freeze) holds every partition of that broker until it
        # times out: 20 s, not kafka-python's 305 s default.
        request_timeout_ms=20_000,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )


def group_member(settings: Settings) -> Consumer:
    """The loader's group member on the client `O11Y_KAFKA_CLIENT` names."""
    if settings.kafka_client == "confluent-kafka":
        from ingest.kafka.confluent_consumer import ConfluentConsumer

        return ConfluentConsumer(settings)
    return KafkaPythonConsumer(KafkaConsumer(**consumer_config(settings)))


def dead_letter_producer(settings: Settings) -> Producer:
    """The dead-letter producer on the client `O11Y_KAFKA_CLIENT` names."""
    if settings.kafka_client == "confluent-kafka":
        from ingest.kafka.producers import ConfluentLetterProducer

        return ConfluentLetterProducer(settings)
    return KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, client_id="o11y-loader-dlq",  # type: ignore[no-any-return]
                         acks="all", linger_ms=5)


def build_loader(settings: Settings, clickhouse: ClickHouseClient, registry: CollectorRegistry,
                 consumer: Consumer | None = None, kind: Kind = REQUESTS) -> Loader:
    """The loader of `settings` for one event type (its topic, consumer group and raw table); `consumer` replaces the
    group member made from `consumer_config`."""
    settings = for_type(settings, kind)
    topic = settings.topic_for(kind.name)
    letters = DeadLetters(dead_letter_producer(settings), settings.topic_dlq(kind.name))
    member = consumer or group_member(settings)
    policy = LoaderPolicy(batch_rows=settings.loader_batch_rows, batch_age_s=settings.loader_batch_ms / 1000,
                          batch_bytes=settings.loader_batch_bytes,
                          max_skew=timedelta(seconds=settings.loader_max_clock_skew_s),
                          session_timeout_s=settings.loader_session_timeout_ms / 1000,
                          max_poll_interval_s=settings.loader_max_poll_interval_ms / 1000)
    sink = ClickHouseSink(clickhouse, settings.dedup_horizon_s, RAW_TABLES[kind.name])
    metrics = LoaderMetrics.create(registry, kind.name)
    clickhouse_backoff = Backoff("ClickHouse", policy.backoff_initial_s, policy.backoff_max_s)
    factory = StrategyFactory(
        loading_functions(settings, member, sink, letters, metrics, policy, kind),
        BatchLimits(policy.batch_rows, policy.batch_age_s, policy.batch_bytes),
        clickhouse_backoff, Backoff("offset commit", policy.backoff_initial_s, policy.backoff_max_s), metrics,
    )
    positioning = Positioning(topic, sink.loaded_offsets, clickhouse_backoff, metrics)
    progress = LoaderProgress(clickhouse, topic, settings.loader_group_id)
    return Loader(member, topic, factory, positioning, policy, progress=progress)


def for_type(settings: Settings, kind: Kind) -> Settings:
    """The settings an event type's loader runs with: its own consumer group."""
    group = settings.loader_group_for(kind.name)
    return settings if group == settings.loader_group_id else settings.model_copy(update={"loader_group_id": group})


def loading_functions(settings: Settings, member: Consumer, sink: ClickHouseSink, letters: DeadLetters,
                      metrics: LoaderMetrics, policy: LoaderPolicy, kind: Kind = REQUESTS) -> LoadingFunctions:
    """The functions the generic steps are given, their dependencies bound."""
    topic = settings.topic_for(kind.name)

    def dead_lettering() -> DeadLettering:
        guard = PoisonGuard(settings.loader_dlq_max_run, settings.loader_dlq_max_share)
        return DeadLettering(topic, guard, partial(tasks.dead_letter, letters, topic, metrics))

    return LoadingFunctions(
        decode=partial(tasks.decode, row_decoder(kind), topic, policy.max_skew),
        dead_letters=dead_lettering,
        row_bytes=tasks.row_bytes,
        largest_row=LARGEST_ROW_BYTES,
        insert=partial(tasks.insert, sink, topic),
        count=partial(tasks.count, metrics),
        commit=partial(tasks.commit, member, letters, topic, metrics),
        close=letters.close,
    )


def create_loader_app(settings: Settings, clickhouse: ClickHouseClient, registry: CollectorRegistry,
                      app: web.Application | None = None, admin: web.Application | None = None) -> web.Application:
    """The loader process: its health endpoints and the loader thread. With `app`, the loader joins that application."""
    if app is None:
        app = web.Application()
        add_health_routes(app, registry, admin, ClientSecrets(settings.admin_tokens))
    app[LOADER_STOPPED] = []
    app.cleanup_ctx.append(loader_context(settings, clickhouse, registry))
    return app


def loader_context(settings: Settings, clickhouse: ClickHouseClient,
                   registry: CollectorRegistry) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running one loader per event type, each on its own thread, for the life of the application.

    Readiness names each (`loader` for requests, `loader:<type>` for the others); any of them stopping by itself stops
    the process."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        stop = threading.Event()
        running: list[tuple[Loader, threading.Thread]] = []
        watchers = []
        for kind in EVENT_TYPES.values():
            loader = await asyncio.to_thread(build_loader, settings, clickhouse, registry, None, kind)
            thread = threading.Thread(target=loader.run, args=(stop,), name=f"loader:{kind.name}", daemon=True)
            thread.start()
            running.append((loader, thread))
            check = "loader" if kind is REQUESTS else f"loader:{kind.name}"
            app[READINESS][check] = partial(_loader_ready, settings, loader, thread)
            watchers.append(asyncio.create_task(_stop_process_if_loader_stops(app, loader, thread, stop)))
        yield
        stop.set()
        for watcher in watchers:
            watcher.cancel()
        for loader, thread in running:
            if loader.watch.stalled() is None:  # a stuck loop never ends: the process exits without it
                await asyncio.to_thread(thread.join, 30)

    return context


async def _stop_process_if_loader_stops(app: web.Application, loader: Loader, thread: threading.Thread,
                                        stop: threading.Event, check_every_s: float = 1.0) -> None:
    """A loader that stopped by itself (the dead-letter limit) or whose loop is stuck (`LoopWatch.stalled`) stops its
    process, which then exits with status 1: only the process ending frees a stuck member's partitions."""
    stalled = None
    while thread.is_alive() and stalled is None:
        await asyncio.sleep(check_every_s)
        stalled = loader.watch.stalled()
    why = stalled or loader.fatal
    if why is None or stop.is_set() or app[LOADER_STOPPED]:  # another type's loader stopped the process already
        return
    if stalled is not None:
        log.error("%s", stalled)  # the loader logged its own fatal line
    app[LOADER_STOPPED].append(why)
    os.kill(os.getpid(), signal.SIGTERM)


async def _loader_ready(settings: Settings, loader: Loader, thread: threading.Thread) -> str | None:
    if not thread.is_alive():
        return loader.fatal or "the loader thread stopped"
    stalled = loader.watch.stalled()
    if stalled is not None:
        return stalled
    if loader.failing:
        return f"{loader.failing} failing: loading is paused and retried"
    return await tcp_reachable(settings.kafka_bootstrap_servers or "")
