"""Prometheus metrics of the loader, one series per event type (`event_type` label) in every family."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.event_message import REQUESTS

TYPE = "event_type"
_FAMILIES: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, Any]] = weakref.WeakKeyDictionary()


def _families(registry: CollectorRegistry) -> dict[str, Any]:
    """The metric families of a registry, made once: every loader of the process (one per event type) shares them."""
    if registry in _FAMILIES:
        return _FAMILIES[registry]
    families = _FAMILIES[registry] = dict(
        rows_loaded=Counter("o11y_loader_rows_loaded_total", "Rows inserted into the event type's raw table.", [TYPE],
                            registry=registry),
        duplicates=Counter(
            "o11y_loader_duplicate_events_total",
            "Events not stored again: their client and event id were already stored within the dedup horizon.",
            [TYPE], registry=registry,
        ),
        assignments=Counter(
            "o11y_loader_assignments_total",
            "Partition assignments taken (a chain of steps built for each); a fast rise is a rebalance storm.",
            [TYPE], registry=registry,
        ),
        batch_rows=Histogram(
            "o11y_loader_batch_rows", "Rows per insert.", [TYPE],
            buckets=(1, 10, 100, 1000, 5000, 10000, 25000, 50000, 100000), registry=registry,
        ),
        insert_latency=Histogram(
            "o11y_loader_insert_latency_seconds", "Duration of successful inserts.", [TYPE],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=registry,
        ),
        insert_retries=Counter(
            "o11y_loader_insert_retries_total", "Failed inserts that will be retried.", [TYPE], registry=registry
        ),
        dead_letters=Counter(
            "o11y_loader_dead_letters_total", "Messages sent to the dead-letter topic.", [TYPE], registry=registry
        ),
        consumer_lag=Gauge(
            "o11y_loader_consumer_lag_messages", "Messages between the committed offset and the end of the partition.",
            [TYPE, "partition"], registry=registry,
        ),
        skipped_reloads=Counter(
            "o11y_loader_skipped_reloaded_messages_total",
            "Messages skipped on assignment because ClickHouse already held them (redelivery after a crash).",
            [TYPE], registry=registry,
        ),
    )
    return families


@dataclass(frozen=True)
class LoaderMetrics:
    """One event type's series."""

    event_type: str
    rows_loaded: Counter
    batch_rows: Histogram
    insert_latency: Histogram
    insert_retries: Counter
    dead_letters: Counter
    consumer_lag: Gauge
    """Labelled by partition: `lag(partition)`."""
    skipped_reloads: Counter
    duplicates: Counter
    assignments: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry, event_type: str = REQUESTS.name) -> LoaderMetrics:
        families = _families(registry)
        bound = {name: family.labels(event_type) for name, family in families.items() if name != "consumer_lag"}
        return cls(event_type=event_type, consumer_lag=families["consumer_lag"], **bound)

    def lag(self, partition: int) -> Gauge:
        return self.consumer_lag.labels(self.event_type, str(partition))
