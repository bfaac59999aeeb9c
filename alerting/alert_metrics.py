"""Prometheus metrics of the alerting scheduler."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True)
class AlertMetrics:
    evaluation_duration: Histogram
    decisions: Counter
    redis_degraded: Counter
    ticks_skipped: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> "AlertMetrics":
        return cls(
            evaluation_duration=Histogram(
                "o11y_alert_evaluation_duration_seconds", "Duration of one evaluation tick.",
                buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=registry,
            ),
            decisions=Counter(
                "o11y_alert_decisions_total", "Alerting decisions by severity and outcome.",
                ["severity", "decision"], registry=registry,
            ),
            redis_degraded=Counter(
                "o11y_alert_redis_degraded_total", "Times alerting went on without Redis (pages sent without dedup).",
                registry=registry,
            ),
            ticks_skipped=Counter(
                "o11y_alert_ticks_skipped_total", "Ticks another replica evaluated (it held the lease).",
                registry=registry,
            ),
        )
