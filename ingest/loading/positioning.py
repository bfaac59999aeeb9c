"""Where each newly assigned partition starts, from the group's commit and what ClickHouse already holds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from ingest.kafka.ports import Consumer, Partition
from ingest.loading.metrics import LoaderMetrics
from ingest.loading.steps.backoff import Backoff

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Start:
    """Where a newly assigned partition starts."""

    offset: int | None
    """The offset to read from; None: the beginning (the group never committed, nothing loaded)."""
    replay_until: int | None = None
    """The last offset of a range that landed in ClickHouse but was not committed: inserted again, cut exactly there."""
    skipped: int = 0
    """Messages skipped because another lineage (a new group) already loaded them."""


def start_of(committed: int | None, last_loaded: int | None) -> Start:
    """Position a partition from the group's commit and the highest offset ClickHouse holds.

    A partition whose range ClickHouse holds past the group's commit (a crash between insert and commit) has exactly
    that range inserted again, with the same dedup tokens; a group with no commit starts after what ClickHouse holds.
    """
    if last_loaded is None:
        return Start(committed)
    if committed is None:
        return Start(last_loaded + 1, skipped=last_loaded + 1)
    if last_loaded >= committed:
        return Start(committed, replay_until=last_loaded)
    return Start(committed)


class Positioned(NamedTuple):
    replay_until: dict[int, int]
    """partition -> the last offset of its replay range, for the partitions that have one."""
    next_offsets: dict[Partition, int]
    """Where each assigned partition starts: everything before it is in ClickHouse."""


class Positioning:
    """Seeks every assigned partition to its start; waits (`backoff`) while ClickHouse cannot say what it holds."""

    def __init__(self, topic: str, loaded_offsets: Callable[[str], dict[int, int]], backoff: Backoff,
                 metrics: LoaderMetrics) -> None:
        self._topic, self._loaded_offsets, self._backoff, self._metrics = topic, loaded_offsets, backoff, metrics

    def position(self, consumer: Consumer) -> Positioned | None:
        """Position every assigned partition (a rebalance revokes them all: eager); None: not now, ask again later."""
        if not self._backoff.due():
            return None
        partitions = set(consumer.assignment())
        try:
            loaded = self._loaded_offsets(self._topic)
            starts = {p: start_of(consumer.committed(p), loaded.get(p.number)) for p in partitions}
            fresh = [p for p, start in starts.items() if start.offset is None]
            beginnings = consumer.beginning_offsets(fresh, timeout_ms=5000) if fresh else {}
        except Exception as err:  # noqa: BLE001 - cannot tell what is loaded: wait rather than load twice
            self._backoff.failed(RuntimeError(f"cannot position the assigned partitions: {type(err).__name__}: {err}"))
            return None
        positioned = Positioned({}, {})
        for partition in sorted(partitions):
            start = starts[partition]
            if start.offset is not None:
                consumer.seek(partition, start.offset)
            else:
                # Explicitly: a partition this member owned before the rebalance keeps the position it had reached.
                consumer.seek_to_beginning(partition)
            positioned.next_offsets[partition] = start.offset if start.offset is not None else int(beginnings[partition])
            if start.replay_until is not None:
                positioned.replay_until[partition.number] = start.replay_until
            self._metrics.skipped_reloads.inc(start.skipped)
        log.info("assigned %s, replaying %s", sorted(p.number for p in partitions), positioned.replay_until or "nothing")
        return positioned
