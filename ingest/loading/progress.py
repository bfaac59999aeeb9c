"""The loader's progress in ClickHouse, traffic or not: per partition, when it last had loaded everything the broker held.

Alerting reads it to tell stale data from recovery: a frozen broker, a stuck insert or a dead loader all stop
`reached_end_at` from moving, while an idle topic keeps it fresh.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial

from ingest.kafka.ports import Consumer, Partition
from runtime.clickhouse import ClickHouseClient
from storage.loading import LOADER_PROGRESS

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ProgressRow:
    partition: int
    reached_end_at: datetime | None
    """The latest time at which the broker's end offset was asked for and everything before it is now loaded."""
    lag: int
    updated_at: datetime


class EndOffsets:
    """Per partition, the end offsets the broker gave and when: an observation is reached once loading passes it.

    Under steady traffic the loader is rarely exactly at the end when it asks, so "caught up" is judged
    against what the broker held at an earlier moment, not only against the present one.
    """

    def __init__(self, keep: int = 64) -> None:
        self._seen: dict[int, deque[tuple[datetime, int]]] = {}
        self._keep = keep

    def observe(self, partition: int, asked_at: datetime, end: int) -> None:
        self._seen.setdefault(partition, deque(maxlen=self._keep)).append((asked_at, end))

    def reached(self, partition: int, loaded: int) -> datetime | None:
        """The newest observation whose end offset is loaded (older ones are forgotten), or None."""
        seen = self._seen.get(partition)
        found = None
        while seen and seen[0][1] <= loaded:
            found = seen.popleft()[0]
        return found

    def keep_only(self, partitions: set[int]) -> None:
        """Forget partitions this loader no longer owns (their next owner observes them itself)."""
        for partition in set(self._seen) - partitions:
            del self._seen[partition]


def progress_rows(loaded: dict[int, int], ends: dict[int, int], asked_at: datetime,
                  seen: EndOffsets | None = None) -> list[ProgressRow]:
    """Compare what is loaded (next offset per partition) with the end offsets the broker gave, now and before."""
    seen = seen or EndOffsets()
    rows = []
    for partition in sorted(ends):
        seen.observe(partition, asked_at, ends[partition])
        if partition not in loaded:
            continue  # being positioned: its progress is not known yet
        behind = max(0, ends[partition] - loaded[partition])
        rows.append(ProgressRow(partition, seen.reached(partition, loaded[partition]), behind, asked_at))
    return rows


def _literal(at: datetime | None) -> str:
    return f"toDateTime64('{(at or EPOCH).astimezone(timezone.utc):%Y-%m-%d %H:%M:%S.%f}', 3, 'UTC')"


def insert_statement(rows: list[ProgressRow]) -> str:
    """One INSERT … SELECT (the lag is an argMax state); topic and group are bound as parameters."""
    values = ", ".join(
        f"({r.partition}, {_literal(r.reached_end_at)}, {_literal(r.updated_at)}, {r.lag})" for r in rows
    )
    return (
        f"INSERT INTO {LOADER_PROGRESS} (kafka_topic, kafka_partition, consumer_group, reached_end_at, updated_at, lag) "
        "SELECT {topic:String}, p, {group:String}, reached, updated, argMaxState(lag, updated) FROM ("
        f"SELECT tupleElement(r, 1) AS p, tupleElement(r, 2) AS reached, tupleElement(r, 3) AS updated, "
        f"toUInt64(tupleElement(r, 4)) AS lag FROM (SELECT arrayJoin([{values}]) AS r)) "
        "GROUP BY p, reached, updated"
    )


class LoaderProgress:
    """Asks the broker for end offsets every `interval_s` (on the loader's thread) and writes the rows elsewhere."""

    def __init__(self, clickhouse: ClickHouseClient, topic: str, group: str, interval_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clickhouse = clickhouse
        self._parameters = {"topic": topic, "group": group}
        self._interval_s = interval_s
        self._clock = clock
        self._next_at = 0.0
        self._seen = EndOffsets()

    def due(self) -> bool:
        return self._clock() >= self._next_at

    def record(self, consumer: Consumer, loaded: Callable[[Partition], int | None],
               run: Callable[[Callable[[], None]], None]) -> None:
        """When due, measure (on the loader's thread) and have `run` write the rows (off it)."""
        if self.due() and (rows := self.measure(consumer, loaded)):
            run(partial(self.write, rows))

    def measure(self, consumer: Consumer, loaded: Callable[[Partition], int | None]) -> list[ProgressRow]:
        """End offsets of the assigned partitions against what is loaded; nothing when the broker does not answer."""
        self._next_at = self._clock() + self._interval_s
        assigned = list(consumer.assignment())
        if not assigned:
            return []
        asked_at = datetime.now(timezone.utc)
        try:
            ends = consumer.end_offsets(assigned, timeout_ms=2000)
        except Exception as err:  # noqa: BLE001 - a broker that does not answer is exactly what staleness means
            log.debug("end offsets unavailable: %s", type(err).__name__)
            return []
        known = {p.number: offset for p in assigned if (offset := loaded(p)) is not None}
        self._seen.keep_only({p.number for p in assigned})
        return progress_rows(known, {p.number: int(end) for p, end in ends.items()}, asked_at, self._seen)

    def write(self, rows: list[ProgressRow]) -> None:
        if not rows:
            return
        try:
            self._clickhouse.command(insert_statement(rows), parameters=self._parameters)
        except Exception as err:  # noqa: BLE001 - no progress written reads as stale, which is the truth
            log.warning("could not record loader progress: %s", type(err).__name__)
