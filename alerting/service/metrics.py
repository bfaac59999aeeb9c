"""Prometheus metrics of the alerting scheduler."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class AlertMetrics:
    evaluation_duration: Histogram
    decisions: Counter
    deliveries: Counter
    redis_degraded: Counter
    ticks_skipped: Counter
    heartbeat_failures: Counter
    data_lag: Gauge
    open_incidents: Gauge
    overrides_left_out: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> AlertMetrics:
        return cls(
            evaluation_duration=Histogram(
                "o11y_alert_evaluation_duration_seconds", "Duration of one evaluation tick.",
                buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=registry,
            ),
            decisions=Counter(
                "o11y_alert_decisions_total", "Alerting decisions by severity and outcome.",
                ["severity", "decision"], registry=registry,
            ),
            deliveries=Counter(
                "o11y_alert_deliveries_total", "What each receiver answered: delivered, failed (sent again next tick), "
                "rejected (refused for good), unconfirmed (no answer: never sent again), dry_run.",
                ["receiver", "outcome"], registry=registry,
            ),
            redis_degraded=Counter(
                "o11y_alert_redis_degraded_total", "Times alerting went on without Redis (messages sent without a claim).",
                registry=registry,
            ),
            ticks_skipped=Counter(
                "o11y_alert_ticks_skipped_total",
                "Ticks not run here: another replica held the lease, the previous tick was still running, or it was missed.",
                ["reason"], registry=registry,
            ),
            heartbeat_failures=Counter(
                "o11y_alert_heartbeat_failures_total", "Calls of O11Y_ALERT_HEARTBEAT_URL that failed.", registry=registry,
            ),
            data_lag=Gauge(
                "o11y_alert_data_lag_seconds", "How far behind the tick's time the loaded data was (0 without loader progress).",
                registry=registry,
            ),
            open_incidents=Gauge(
                "o11y_alert_open_incidents", "Open incidents after the last tick, by severity.", ["severity"], registry=registry,
            ),
            overrides_left_out=Gauge(
                "o11y_alert_overrides_left_out", "Runtime overrides the last tick left out (unreadable, no longer fitting "
                "the policy, beyond the cap or the time budget); the log says why.", registry=registry,
            ),
        )
