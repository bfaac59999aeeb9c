"""Each event is stored once: which rows of a batch are copies of an event already stored, or of one before them.

An event is known by its client and `event_id`; where a row came from is its (topic, partition, offset). A row is
a copy when the same event is stored at another place, or an earlier row of the batch is the same event. A row
stored at its own place is not a copy: a batch read again after a crash between insert and commit is left
exactly as it was first inserted, so ClickHouse drops it by its dedup token and fills in a lost view part.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ingest.loading.rows import Row

EventKey = tuple[str, str]
"""(client_name, event_id)."""
Place = tuple[str, int, int]
"""(kafka_topic, kafka_partition, kafka_offset)."""


def copies(topic: str, rows: Sequence[Row], stored: Iterable[tuple[str, str, Place]]) -> frozenset[tuple[int, int]]:
    """(partition, offset) of every row to leave out; `stored` are (client, event_id, place) already in the table."""
    places: dict[EventKey, set[Place]] = {}
    for client, event_id, place in stored:
        places.setdefault((client, event_id), set()).add(place)
    if not places and len({row.event_id for row in rows}) == len(rows):
        return frozenset()  # nothing stored and no event twice in the batch: the usual case, decided without sorting
    seen: set[EventKey] = set()
    out: set[tuple[int, int]] = set()
    for row in sorted(rows, key=lambda r: (r.partition, r.offset)):
        key = (row.client, row.event_id)
        elsewhere = places.get(key, set()) - {(topic, row.partition, row.offset)}
        if elsewhere or key in seen:
            out.add((row.partition, row.offset))
        seen.add(key)
    return frozenset(out)
