"""Prometheus metrics of the loader."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from storage.events import API_METRICS


@dataclass(frozen=True)
class LoaderMetrics:
    rows_loaded: Counter
    batch_rows: Histogram
    insert_latency: Histogram
    insert_retries: Counter
    dead_letters: Counter
    consumer_lag: Gauge
    skipped_reloads: Counter
    duplicates: Counter
    assignments: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> LoaderMetrics:
        return cls(
            rows_loaded=Counter("o11y_loader_rows_loaded_total", f"Rows inserted into {API_METRICS}.", registry=registry),
            duplicates=Counter(
                "o11y_loader_duplicate_events_total",
                "Events not stored again: their client and event id were already stored within the dedup horizon.",
                registry=registry,
            ),
            assignments=Counter(
                "o11y_loader_assignments_total",
                "Partition assignments taken (a chain of steps built for each); a fast rise is a rebalance storm.",
                registry=registry,
            ),
            batch_rows=Histogram(
                "o11y_loader_batch_rows", "Rows per insert.",
                buckets=(1, 10, 100, 1000, 5000, 10000, 25000, 50000, 100000), registry=registry,
            ),
            insert_latency=Histogram(
                "o11y_loader_insert_latency_seconds", "Duration of successful inserts.",
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=registry,
            ),
            insert_retries=Counter(
                "o11y_loader_insert_retries_total", "Failed inserts that will be retried.", registry=registry
            ),
            dead_letters=Counter(
                "o11y_loader_dead_letters_total", "Messages sent to the dead-letter topic.", registry=registry
            ),
            consumer_lag=Gauge(
                "o11y_loader_consumer_lag_messages", "Messages between the committed offset and the end of the partition.",
                ["partition"], registry=registry,
            ),
            skipped_reloads=Counter(
                "o11y_loader_skipped_reloaded_messages_total",
                "Messages skipped on assignment because ClickHouse already held them (redelivery after a crash).",
                registry=registry,
            ),
        )
