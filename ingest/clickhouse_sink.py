"""Where the loader writes: the raw table, with a dedup token, and what it has already loaded."""

from __future__ import annotations

import time

from ingest.loader_batch import Batch
from ingest.loader_rows import INSERT_FORMAT, INSERT_SETTINGS
from runtime.clickhouse import ClickHouseClient

RAW_TABLE = "o11y.api_metrics"


class InsertFailed(Exception):
    """ClickHouse did not take the batch; retry the same batch later."""


class ClickHouseSink:
    def __init__(self, client: ClickHouseClient) -> None:
        self._client = client

    def insert(self, batch: Batch) -> float:
        """Insert the batch's rows (parsed by ClickHouse itself); return the seconds it took."""
        started = time.monotonic()
        for token, payload in batch.blocks():
            try:
                self._client.raw_insert(
                    RAW_TABLE,
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
        return time.monotonic() - started

    def loaded_offsets(self, topic: str) -> dict[int, int]:
        """partition -> highest offset already in the raw table (from the offsets view)."""
        result = self._client.query(
            "SELECT kafka_partition, max(max_offset) FROM o11y.loaded_offsets "
            "WHERE kafka_topic = {topic:String} GROUP BY kafka_partition",
            parameters={"topic": topic},
        )
        return {int(p): int(o) for p, o in result.result_rows}
