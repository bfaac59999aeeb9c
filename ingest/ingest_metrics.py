"""Prometheus metrics of the ingest edge."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class IngestMetrics:
    requests: Counter
    events: Counter
    produce_latency: Histogram
    producer_in_flight: Gauge
    posthog_failures: Counter

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
