"""Is the data fresh enough to judge? The loader's per-partition progress decides, and which minutes may be judged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alerting.rules.window_query import window_end

SETTLE = timedelta(seconds=2)
"""An event received just before a minute ends reaches the broker a moment later: wait this much past the end."""


@dataclass(frozen=True)
class PartitionProgress:
    """What the loader last recorded for one partition: when it had loaded everything the broker held, and its lag."""

    partition: int
    reached_end_at: datetime | None
    lag: int
    updated_at: datetime
    topic: str = ""
    """Its topic, when the guard watches several (each event type's)."""

    @property
    def name(self) -> str:
        return f"{self.topic}/{self.partition}" if self.topic else str(self.partition)


@dataclass(frozen=True)
class Freshness:
    """The loader's watermark: every event the broker held at this time is in ClickHouse."""

    partitions: tuple[PartitionProgress, ...]
    now: datetime
    stale_after: timedelta

    @property
    def active(self) -> bool:
        """With no progress recorded (a fresh install, a backfill), there is nothing to judge freshness by."""
        return bool(self.partitions)

    @property
    def watermark(self) -> datetime | None:
        if not self.active:
            return None
        reached = [p.reached_end_at for p in self.partitions]
        return None if any(r is None for r in reached) else min(r for r in reached if r is not None)

    @property
    def stale(self) -> bool:
        if not self.active:
            return False
        watermark = self.watermark
        return watermark is None or self.now - watermark > self.stale_after

    def lagging(self) -> list[PartitionProgress]:
        """The partitions behind the bound, oldest first."""
        behind = [p for p in self.partitions if p.reached_end_at is None or self.now - p.reached_end_at > self.stale_after]
        return sorted(behind, key=lambda p: (p.reached_end_at is not None, p.reached_end_at or p.updated_at, p.topic,
                                             p.partition))

    def stale_since(self) -> datetime | None:
        return self.watermark

    def ready_end(self) -> datetime:
        """The latest window end whose minutes are completely loaded."""
        end = window_end(self.now)
        watermark = self.watermark
        if not self.active or watermark is None:
            return end
        return min(end, window_end(watermark - SETTLE))

    def describe(self) -> str:
        if not self.active:
            return "inactive: no loader progress recorded (fresh install or rows written straight into ClickHouse)"
        if self.stale:
            return f"stale: partitions {', '.join(p.name for p in self.lagging())} behind"
        return f"fresh: loaded up to {self.watermark:%Y-%m-%d %H:%M:%S} UTC"


def ends_to_judge(last_judged: datetime | None, ready: datetime, catch_up: int) -> list[datetime]:
    """Every minute end after the last judged one up to `ready`, oldest first, at most `catch_up` of them."""
    if last_judged is None:
        return [ready]
    count = min(catch_up, int((ready - last_judged) / timedelta(minutes=1)))
    return [ready - timedelta(minutes=i) for i in range(count - 1, -1, -1)]
