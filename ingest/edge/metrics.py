"""Prometheus metrics of the ingest edge."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class IngestMetrics:
    """The edge's metrics; the hot path counts through the cached children (`count_request`, `count_events`, `produced`)."""

    requests: Counter
    events: Counter
    produce_latency: Histogram
    producer_in_flight: Gauge
    posthog_failures: Counter
    _request: Callable[..., Any] = field(init=False, repr=False, compare=False)
    _event: Callable[..., Any] = field(init=False, repr=False, compare=False)
    _produce: Callable[..., Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One child per label set, looked up once: `labels()` costs microseconds on every call.
        object.__setattr__(self, "_request", functools.cache(self.requests.labels))
        object.__setattr__(self, "_event", functools.cache(self.events.labels))
        object.__setattr__(self, "_produce", functools.cache(self.produce_latency.labels))

    def count_request(self, route: str, status: int) -> None:
        self._request(route, status).inc()

    def count_events(self, outcome: str, n: int = 1) -> None:
        self._event(outcome).inc(n)

    def produced(self, outcome: str, seconds: float) -> None:
        self._produce(outcome).observe(seconds)

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IngestMetrics:
        return cls(
            requests=Counter(
                "o11y_ingest_requests_total",
                "HTTP requests to the ingest API by route and response status.",
                ["route", "status"],
                registry=registry,
            ),
            events=Counter(
                "o11y_ingest_events_total",
                "Events received, by outcome (accepted, invalid, unauthorized, unavailable).",
                ["outcome"],
                registry=registry,
            ),
            produce_latency=Histogram(
                "o11y_kafka_produce_latency_seconds",
                "Time from handing events to the producer until the broker acknowledged (or not).",
                ["outcome"],
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                registry=registry,
            ),
            producer_in_flight=Gauge(
                "o11y_kafka_producer_in_flight_events",
                "Events handed to the producer and not yet acknowledged (the producer buffer), sampled every second.",
                registry=registry,
                multiprocess_mode="livesum",
            ),
            posthog_failures=Counter(
                "o11y_posthog_failures_total",
                "Events that could not be forwarded to PostHog.",
                registry=registry,
            ),
        )
