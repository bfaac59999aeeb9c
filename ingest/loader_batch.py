"""A batch of decoded rows and the offsets it covers, cut by size or age."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.loader_rows import Row


@dataclass
class Batch:
    topic: str
    max_rows: int
    max_age_s: float
    max_bytes: int = 16 * 1024 * 1024
    started_at: float | None = None
    size: int = 0
    rows: list[Row] = field(default_factory=list)
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    """partition -> (first offset, last offset) of every message taken, loaded or dead-lettered."""
    abandoned: bool = False
    """Set when its partitions were revoked during its insert: the blocks not yet sent are not sent (the partitions'
    next owner reads them again)."""

    def take(self, partition: int, offset: int, row: Row | None, now: float) -> None:
        if self.started_at is None:
            self.started_at = now
        if row is not None:
            self.rows.append(row)
            self.size += len(row.line)
        first, _ = self.ranges.get(partition, (offset, offset))
        self.ranges[partition] = (first, offset)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def full(self) -> bool:
        """Cut by rows and by bytes: memory stays bounded whatever the size of the events."""
        return len(self.rows) >= self.max_rows or self.size >= self.max_bytes

    def due(self, now: float) -> bool:
        return bool(self) and (self.full() or now - (self.started_at or now) >= self.max_age_s)

    def blocks(self, leave_out: frozenset[tuple[int, int]] = frozenset()) -> list[tuple[str, bytes]]:
        """One insert per partition: (dedup token, JSONEachRow payload).

        A partition's block covers exactly the offsets since its last commit, so after a crash the same range
        can be read again and inserted with the same token: ClickHouse drops what landed and fills in what did not
        (a materialized view's part included). The token names the block's first and last stored rows (offsets and
        event ids), not the range read: a range that ends in dead letters or copies is replayed up to its last
        stored row (all ClickHouse knows) and still gets the same token; the event ids tell apart equal offsets of
        a log that was recreated. `leave_out` holds the (partition, offset) of events already stored (see
        `event_dedup`); what it leaves out is decided the same way on a replay.
        """
        by_partition: dict[int, list[Row]] = {p: [] for p in self.ranges}
        for row in self.rows:
            if (row.partition, row.offset) not in leave_out:
                by_partition[row.partition].append(row)
        blocks = []
        for partition, rows in sorted(by_partition.items()):
            if rows:
                first, last = rows[0], rows[-1]
                token = f"{self.topic}/{partition}:{first.offset}-{last.offset}/{first.event_id}..{last.event_id}"
                blocks.append((token, b"\n".join(row.line for row in rows)))
        return blocks

    def next_offsets(self) -> dict[int, int]:
        return {p: last + 1 for p, (_, last) in self.ranges.items()}
