"""The stuck-loop watcher: tells another thread when the loader's loop has stopped turning."""

from __future__ import annotations

import time
from collections.abc import Callable


class LoopWatch:
    """The loop calls `turned` at the start of every turn and `stopped` when it ends; `stalled` may be called from
    any thread."""

    def __init__(self, max_poll_interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_poll_interval_s, self._clock = max_poll_interval_s, clock
        self._turned_at: float | None = None
        """When the loop last began a turn, while it runs (None before and after)."""

    def turned(self) -> None:
        self._turned_at = self._clock()

    def stopped(self) -> None:
        self._turned_at = None  # a stop takes up to `shutdown_s` to insert and commit: not a stall

    def stalled(self) -> str | None:
        """Why the loop is stuck, when it has not begun a turn for longer than the max poll interval, or None.

        A client whose loop hangs (a call that never returns) can go on heartbeating from its own threads;
        librdkafka, waiting mid-rebalance for the loop to take its assignment, is then never dropped by the max poll
        interval, and the group keeps that member's partitions unloaded. Only the process ending frees them
        (`o11y load` exits with status 1 on this).
        """
        turned_at = self._turned_at
        if turned_at is None:
            return None
        idle_s = self._clock() - turned_at
        if idle_s <= self._max_poll_interval_s:
            return None
        return (f"loader stopped: its loop has not turned for {idle_s:.0f} s (O11Y_LOADER_MAX_POLL_INTERVAL_MS="
                f"{self._max_poll_interval_s * 1000:.0f}): a call into Kafka or ClickHouse never returned")
