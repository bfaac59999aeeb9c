"""How the loader batches, polls, backs off and waits: its settings in one place, with what each is for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ingest.loading.rows import DEFAULT_MAX_SKEW


@dataclass(frozen=True)
class LoaderPolicy:
    batch_rows: int = 50_000
    batch_age_s: float = 1.0
    poll_timeout_ms: int = 100
    max_poll_records: int = 10_000
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    batch_bytes: int = 16 * 1024 * 1024
    max_skew: timedelta = DEFAULT_MAX_SKEW
    session_timeout_s: float = 10.0
    keepalive_s: float = 1.0
    """While nothing new is fetched (backpressure, positioning), the consumer is still polled this often, well
    within max_poll_interval_ms, so the group keeps this member; what such a poll returns is read again later."""
    shutdown_s: float = 20.0
    """How long a stop may take to insert and commit what is held."""
    max_poll_interval_s: float = 300.0
    """A loop that has not turned for this long is stuck (`LoopWatch.stalled`): the consumer's own threads may still
    heartbeat, so the group would keep its partitions without anyone loading them."""

    @property
    def revoke_wait_s(self) -> float:
        """How long a revocation waits for the insert in flight: a third of the session timeout, so the rebalance
        callback, on the thread that also heartbeats, never holds the group past it."""
        return self.session_timeout_s / 3
