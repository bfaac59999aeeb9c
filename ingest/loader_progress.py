"""The loader's progress in ClickHouse, traffic or not: per partition, when it last had loaded everything the broker held.

Alerting reads it to tell stale data from recovery: a frozen broker, a stuck insert or a dead loader all stop
`reached_end_at` from moving, while an idle topic keeps it fresh.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ProgressRow:
    partition: int
    reached_end_at: datetime | None
    """When the broker's end offset was asked for, if everything before it was loaded; else None."""
    lag: int
    updated_at: datetime


def progress_rows(loaded: dict[int, int], ends: dict[int, int], asked_at: datetime) -> list[ProgressRow]:
    """Compare what is loaded (next offset per partition) with the end offsets the broker gave at `asked_at`."""
    rows = []
    for partition in sorted(ends):
        if partition not in loaded:
            continue  # being positioned: its progress is not known yet
        behind = max(0, ends[partition] - loaded[partition])
        rows.append(ProgressRow(partition, asked_at if behind == 0 else None, behind, asked_at))
    return rows


def _literal(at: datetime | None) -> str:
    return f"toDateTime64('{(at or EPOCH).astimezone(timezone.utc):%Y-%m-%d %H:%M:%S.%f}', 3, 'UTC')"


def insert_statement(rows: list[ProgressRow]) -> str:
    """One INSERT … SELECT (the lag is an argMax state); topic and group are bound as parameters."""
    values = ", ".join(
        f"({r.partition}, {_literal(r.reached_end_at)}, {_literal(r.updated_at)}, {r.lag})" for r in rows
    )
    return (
        "INSERT INTO o11y.loader_progress (kafka_topic, kafka_partition, consumer_group, reached_end_at, updated_at, lag) "
        "SELECT {topic:String}, p, {group:String}, reached, updated, argMaxState(lag, updated) FROM ("
        f"SELECT tupleElement(r, 1) AS p, tupleElement(r, 2) AS reached, tupleElement(r, 3) AS updated, "
        f"toUInt64(tupleElement(r, 4)) AS lag FROM (SELECT arrayJoin([{values}]) AS r)) "
        "GROUP BY p, reached, updated"
    )


class LoaderProgress:
    """Asks the broker for end offsets every `interval_s` (on the loader's thread) and writes the rows elsewhere."""

    def __init__(self, clickhouse: Any, topic: str, group: str, interval_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clickhouse = clickhouse
        self._parameters = {"topic": topic, "group": group}
        self._interval_s = interval_s
        self._clock = clock
        self._next_at = 0.0

    def due(self) -> bool:
        return self._clock() >= self._next_at

    def measure(self, consumer: Any, loaded: Callable[[Any], int | None]) -> list[ProgressRow]:
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
        known = {tp.partition: offset for tp in assigned if (offset := loaded(tp)) is not None}
        return progress_rows(known, {tp.partition: int(end) for tp, end in ends.items()}, asked_at)

    def write(self, rows: list[ProgressRow]) -> None:
        if not rows:
            return
        try:
            self._clickhouse.command(insert_statement(rows), parameters=self._parameters)
        except Exception as err:  # noqa: BLE001 - no progress written reads as stale, which is the truth
            log.warning("could not record loader progress: %s", type(err).__name__)
