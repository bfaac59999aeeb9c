"""Where the loader writes: the raw table, with a dedup token, and what it has already loaded."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ingest.loading.event_dedup import Place, copies
from ingest.loading.rows import INSERT_FORMAT, INSERT_SETTINGS, Row
from runtime.clickhouse import ClickHouseClient
from storage.events import API_METRICS
from storage.loading import EVENT_IDS, LOADED_OFFSETS
from storage.table import Table, quoted


class Inserted(NamedTuple):
    seconds: float
    left_out: int
    """Rows left out: their event was already stored (or came earlier in the batch)."""


class InsertFailed(Exception):
    """ClickHouse did not take the batch; retry the same batch later."""


def blocks(topic: str, rows: Sequence[Row], leave_out: frozenset[tuple[int, int]] = frozenset()) -> list[tuple[str, bytes]]:
    """One insert per partition: (dedup token, JSONEachRow payload).

    A partition's block covers exactly the offsets since its last commit, so after a crash the same range can be read
    again and inserted with the same token: ClickHouse drops what landed and fills in what did not (a materialized
    view's part included). The token names the block's first and last stored rows (offsets and event ids), not the
    range read: a range that ends in dead letters or copies is replayed up to its last stored row (all ClickHouse
    knows) and still gets the same token; the event ids tell apart equal offsets of a log that was recreated.
    `leave_out` holds the (partition, offset) of events already stored (see `event_dedup`); what it leaves out is
    decided the same way on a replay.
    """
    by_partition: dict[int, list[Row]] = {}
    for row in rows:
        if (row.partition, row.offset) not in leave_out:
            by_partition.setdefault(row.partition, []).append(row)
    out = []
    for partition, kept in sorted(by_partition.items()):
        first, last = kept[0], kept[-1]
        token = f"{topic}/{partition}:{first.offset}-{last.offset}/{first.event_id}..{last.event_id}"
        out.append((token, b"\n".join(row.line for row in kept)))
    return out


class ClickHouseSink:
    def __init__(self, client: ClickHouseClient, dedup_horizon_s: int = 86_400, table: Table = API_METRICS) -> None:
        self._client = client
        self._horizon_ms = dedup_horizon_s * 1000
        self._table = str(table)

    def insert(self, topic: str, rows: Sequence[Row], abandoned: Callable[[], bool] = lambda: False) -> Inserted:
        """Insert the rows read from `topic` (parsed by ClickHouse itself), each event once; what it took and left out.
        Once `abandoned` says so (the partitions were revoked), the blocks not yet sent are not sent."""
        started = time.monotonic()
        try:
            leave_out: frozenset[tuple[int, int]] = frozenset()
            if self._horizon_ms > 0:
                leave_out = copies(topic, rows, self._stored(topic, rows))
        except Exception as err:
            raise InsertFailed(f"event id lookup: {type(err).__name__}: {str(err)[:300]}") from err
        for token, payload in blocks(topic, rows, leave_out):
            if abandoned():
                break
            try:
                self._client.raw_insert(
                    self._table,
                    insert_block=payload,
                    fmt=INSERT_FORMAT,
                    settings={
                        **INSERT_SETTINGS,
                        "insert_deduplication_token": token,
                        "deduplicate_blocks_in_dependent_materialized_views": 1,
                    },
                )
            except Exception as err:
                raise InsertFailed(f"{type(err).__name__}: {str(err)[:300]}") from err
        return Inserted(time.monotonic() - started, len(leave_out))

    def _stored(self, topic: str, rows: Sequence[Row]) -> list[tuple[str, str, Place]]:
        """(client, event_id, place) of the rows' events already stored from `topic` within the horizon of the rows:
        ids are unique per client and event type (each type has its topic), so a session and a request may share one.

        The ids travel as one string literal that ClickHouse splits itself, through `raw_query`: a literal per id
        (or a bound array) costs ClickHouse's parser, and the driver's escaping and comment stripping, about 15 µs of
        the loader's Python per event; one literal costs about 2. Validated UUIDs hold nothing to escape.
        """
        if not rows:
            return []
        ids = ",".join({row.event_id for row in rows})
        low = min(row.received_ms for row in rows) - self._horizon_ms
        high = max(row.received_ms for row in rows) + self._horizon_ms
        sql = (f"SELECT client_name, toString(event_id), kafka_topic, kafka_partition, kafka_offset FROM {EVENT_IDS} "
               f"WHERE event_id IN (SELECT arrayJoin(splitByChar(',', '{ids}'))::UUID) "
               f"AND kafka_topic = {quoted(topic)} "
               f"AND received_at BETWEEN fromUnixTimestamp64Milli(toInt64({low})) "
               f"AND fromUnixTimestamp64Milli(toInt64({high}))")
        answer = self._client.raw_query(sql, settings={"max_query_size": len(sql) + 4096}, fmt="JSONCompactEachRow")
        stored = (json.loads(line) for line in answer.splitlines() if line)
        return [(str(c), str(e), (str(t), int(p), int(o))) for c, e, t, p, o in stored]

    def loaded_offsets(self, topic: str) -> dict[int, int]:
        """partition -> highest offset already in the raw table (from the offsets view)."""
        result = self._client.query(
            f"SELECT kafka_partition, max(max_offset) FROM {LOADED_OFFSETS} "
            "WHERE kafka_topic = {topic:String} GROUP BY kafka_partition",
            parameters={"topic": topic},
        )
        return {int(p): int(o) for p, o in result.result_rows}
